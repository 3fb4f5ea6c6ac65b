/**
 * The bookkeeping of `npm run load`, with no sockets or clocks of its own: what a frame means
 * for a simulated user (`recordFrame`), what each user should have received against what it did
 * (`account`), and the printed report with its verdict (`report`).
 */
import { ServerMessageType } from '../../lambdas/contract/index.js';
import { percentile } from './stats.js';

/** An event the producer put, by eventId. */
export interface SentEvent {
  tenant: string;
  /** undefined: the whole tenant. */
  userIds?: Set<string>;
  sentAt: number;
}

/** What the accounting knows of one simulated user, across its reconnects. */
export interface UserRecord {
  tenant: string;
  userId: string;
  /** When its first auth.success arrived: events put after this are expected. */
  firstAuthAt?: number;
  /** Last eventId received, or the lastEventId of auth.success: where `resume` starts. */
  resumePoint?: string | undefined;
  /** Frames per eventId (duplicates show as counts > 1). */
  received: Map<string, number>;
  /** Between reconnect's resume request and resume.success: frames may be replays. */
  resuming: boolean;
  reconnects: number;
  replayed: number;
}

/** What the frames of the whole run add up to besides each user's record. */
export interface FrameTally {
  /** Live delivery latencies, ms. */
  latencies: number[];
  /** Frames carrying another tenant's id. */
  foreign: number;
  /** Bounded: see `noteError`. */
  errors: string[];
}

export const MAX_ERRORS = 50;

/** Keeps the first `MAX_ERRORS` errors and one line saying more were left out. */
export function noteError(errors: string[], what: string): void {
  if (errors.length < MAX_ERRORS) errors.push(what);
  else if (errors.length === MAX_ERRORS) errors.push('… more errors omitted');
}

/**
 * Records one frame (after auth) that `user` received at `now`. Returns the `lastEventId` to send
 * the next `resume` from when a resume page answered `more: true`.
 */
export function recordFrame(tally: FrameTally, user: UserRecord, text: string, now: number): string | undefined {
  let frame: { type?: string; eventId?: string; tenantId?: string; replay?: true; data?: Record<string, unknown> };
  try {
    frame = JSON.parse(text) as typeof frame;
  } catch {
    noteError(tally.errors, `non-JSON frame: ${text.slice(0, 80)}`);
    return;
  }
  if (typeof frame.eventId === 'string') {
    if (frame.tenantId !== user.tenant) tally.foreign++;
    user.received.set(frame.eventId, (user.received.get(frame.eventId) ?? 0) + 1);
    // While a resume is paging, only its own frames move the resume point (a live frame may be
    // newer than events the replay has not reached yet).
    if (!user.resuming || frame.replay === true) user.resumePoint = frame.eventId;
    const sentAt = Number(frame.data?.sentAt);
    if (user.resuming) user.replayed++;
    else if (Number.isFinite(sentAt)) tally.latencies.push(now - sentAt);
    return;
  }
  switch (frame.type) {
    case ServerMessageType.resumeSuccess:
      // One page per resume: continue from its lastEventId while `more`.
      if (frame.data?.more === true && typeof frame.data.lastEventId === 'string') return frame.data.lastEventId;
      user.resuming = false;
      return;
    case ServerMessageType.resumeError:
    case ServerMessageType.authError:
    case ServerMessageType.authExpired:
    case ServerMessageType.error:
      noteError(tally.errors, `${user.userId}: ${text.slice(0, 160)}`);
      user.resuming = false;
      return;
  }
}

export interface Accounting {
  /** Deliveries due: each event, to each user of its audience authenticated before it was put. */
  expected: number;
  /** Of those, received (once or more). */
  receivedExpected: number;
  lost: number;
  /** Frames received in all, duplicates included. */
  frames: number;
  duplicates: number;
  /** The first few lost deliveries, `user missed eventId`. */
  lostSamples: string[];
  reconnects: number;
  replayed: number;
}

/** What each user should have received, against what it did. Users that never authenticated are skipped. */
export function account(
  users: readonly UserRecord[],
  sent: ReadonlyMap<string, SentEvent>,
  maxLostSamples = 5,
): Accounting {
  const totals: Accounting = {
    expected: 0,
    receivedExpected: 0,
    lost: 0,
    frames: 0,
    duplicates: 0,
    lostSamples: [],
    reconnects: 0,
    replayed: 0,
  };
  for (const user of users) {
    totals.reconnects += user.reconnects;
    totals.replayed += user.replayed;
    if (user.firstAuthAt === undefined) continue;
    for (const [eventId, event] of sent) {
      if (event.tenant !== user.tenant || event.sentAt < user.firstAuthAt) continue;
      if (event.userIds && !event.userIds.has(user.userId)) continue;
      totals.expected++;
      if (user.received.has(eventId)) totals.receivedExpected++;
      else {
        totals.lost++;
        if (totals.lostSamples.length < maxLostSamples) totals.lostSamples.push(`${user.userId} missed ${eventId}`);
      }
    }
    for (const count of user.received.values()) {
      totals.frames += count;
      totals.duplicates += count - 1;
    }
  }
  return totals;
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (NaN without samples). */
export function latencySummary(latencies: readonly number[]): Latency {
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) };
}

/** Everything measured in a run, for `report`. */
export interface RunMeasurements {
  accounting: Accounting;
  tally: FrameTally;
  /** How long the producer ran. */
  producedInSeconds: number;
  /** The runtime's live heap (bytes) after GC, at start and end. */
  heapUsed: { start: number; end: number };
  /** The runtime's RSS samples (MB), first at start, last at end. */
  rssMb: readonly number[];
  /** The dynalite process's RSS (MB) at the end. */
  dynamoRssMb: number;
  deadLetters: number;
  wallSeconds: number;
  /** The run hit its `--max-seconds` bound. */
  hitTimeBound: boolean;
}

const count = (n: number) => n.toLocaleString('en-US');
const mb = (bytes: number) => bytes / 1024 / 1024;

/** The report's lines and the verdict: 0 lost, 0 foreign, no errors, no dead letters, within the bound. */
export function report(m: RunMeasurements): { lines: string[]; ok: boolean } {
  const { accounting: a, tally } = m;
  const latency = latencySummary(tally.latencies);
  const rows: Array<[string, string]> = [
    ['frames expected', count(a.expected)],
    ['frames received (all, incl. duplicates)', count(a.frames)],
    ['expected frames received', count(a.receivedExpected)],
    ['lost', count(a.lost)],
    ['duplicated (at-least-once; clients drop by eventId)', count(a.duplicates)],
    ['frames from another tenant', count(tally.foreign)],
    ['reconnects with resume', count(a.reconnects)],
    ['frames received while resuming', count(a.replayed)],
    ['delivery rate (live + resume)', `${count(Math.round(a.frames / m.producedInSeconds))} frames/s`],
    [
      'latency p50 / p99 / max (live frames)',
      `${latency.p50.toFixed(0)} / ${latency.p99.toFixed(0)} / ${latency.max.toFixed(0)} ms`,
    ],
    [
      'runtime live heap after GC start → end',
      `${mb(m.heapUsed.start).toFixed(1)} → ${mb(m.heapUsed.end).toFixed(1)} MB`,
    ],
    [
      'runtime RSS start → end (peak)',
      `${m.rssMb[0]?.toFixed(0)} → ${m.rssMb.at(-1)?.toFixed(0)} MB (${Math.max(...m.rssMb).toFixed(0)} MB)`,
    ],
    ['DynamoDB (dynalite process) RSS at end', `${m.dynamoRssMb.toFixed(0)} MB (holds the event log)`],
    ['dead-lettered events', String(m.deadLetters)],
    ['errors', String(tally.errors.length)],
    ['wall time', `${m.wallSeconds.toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const ok = a.lost === 0 && tally.foreign === 0 && tally.errors.length === 0 && m.deadLetters === 0 && !m.hitTimeBound;
  const lines = [
    '',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    ...tally.errors.map((e) => `  error: ${e}`),
    ...a.lostSamples.map((s) => `  lost: ${s}`),
    ok ? '\nPASS: 0 lost, 0 foreign, no errors' : `\nFAIL${m.hitTimeBound ? ' (hit the time bound)' : ''}`,
  ];
  return { lines, ok };
}
