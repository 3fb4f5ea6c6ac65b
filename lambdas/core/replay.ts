/**
 * `resume`: replay, one page per call, the tenant's logged events a connection may have missed.
 *
 * Where it starts. Every broadcaster attempt logs its event at the attempt's start time before it
 * reads recipients, and closes a connection it fails to deliver to within the same attempt. So an
 * event a connection did not receive is logged no earlier than (the first position of the last
 * event it did receive) − (one attempt, at most the broadcaster's timeout) − clock skew. A resume
 * from `lastEventId` therefore replays from that event's first position minus
 * REPLAY_OVERLAP_SECONDS, not from just after it: it re-sends some events the client already has
 * (clients drop them by eventId), and never misses one that was retried or delivered out of order.
 *
 * What it sends. Copies the connection may receive (its filter, the event's audience: `delivers`),
 * unexpired, each event once: never the cursor event, never an event twice within what it sends,
 * and a retry's copy only when its first copy lies before the replay's start (else the first copy
 * was, or will be, the one sent). Frames carry `replay: true`.
 *
 * What it costs. One call reads at most REPLAY_SCAN_ITEMS_PER_CALL items in at most
 * REPLAY_QUERIES_PER_CALL queries and sends at most REPLAY_PAGE_EVENTS envelopes, in log order,
 * then answers `{replayed, lastEventId, more}`. The sequence's position and totals live on the
 * connection record (`replay`), so the caps hold across pages: more than MAX_REPLAY_EVENTS
 * envelopes for this connection, or more than MAX_REPLAY_SCANNED_ITEMS items read, is a `gap`
 * (refetch state). Each call first takes one of the connection's resume calls for the current
 * window (a conditional write), or answers `rate_limited`.
 */
import {
  type ConnectionRecord,
  type Envelope,
  eventLogFrom,
  eventLogTimeMs,
  MAX_EVENT_ID_BYTES,
  MAX_REPLAY_SCANNED_ITEMS,
  REPLAY_FLAG,
  REPLAY_OVERLAP_SECONDS,
  REPLAY_PAGE_EVENTS,
  REPLAY_QUERIES_PER_CALL,
  REPLAY_SCAN_ITEMS_PER_CALL,
  RESUME_RATE_LIMIT_CALLS,
  RESUME_RATE_LIMIT_WINDOW_SECONDS,
  type ReplayState,
  type ServerMessage,
  serverMessage,
} from '../contract/index.js';
import { closeWithRetry, DEFAULT_RETRY, defaultSleep, postWithRetry, type RetryPolicy } from './delivery.js';
import { connectionTarget, delivers, eventOf } from './matching.js';
import type { Clock, ConnectionStore, EventLog, LogItem, Sender } from './ports.js';
import { isExpired, notAuthenticated, seconds } from './session.js';

export interface ResumeDeps {
  store: ConnectionStore;
  log: EventLog;
  sender: Sender;
  clock: Clock;
  /** Most envelopes one resume sequence sends (MAX_REPLAY_EVENTS); beyond it, `gap`. */
  maxReplay: number;
  /** Envelopes per call (REPLAY_PAGE_EVENTS). */
  pageSize?: number;
  /** Log items read per call (REPLAY_SCAN_ITEMS_PER_CALL). */
  scanPerCall?: number;
  /** Log queries per call (REPLAY_QUERIES_PER_CALL). */
  queriesPerCall?: number;
  /** Log items read per sequence (MAX_REPLAY_SCANNED_ITEMS); beyond it, `gap`. */
  maxScanned?: number;
  /** How far before the cursor's first position the replay starts (REPLAY_OVERLAP_SECONDS). */
  overlapMs?: number;
  /** Resume calls per connection and window (RESUME_RATE_LIMIT_*). */
  rateLimit?: { calls: number; windowSeconds: number };
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onFailure?: ((connectionId: string, error: unknown) => void) | undefined;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/**
 * Replays one page, then replies `resume.success` (or `gap`, `rate_limited`, `not_authenticated`);
 * undefined when the connection is gone, closed or told `auth.expired` (nothing to reply to).
 */
export async function resume(
  deps: ResumeDeps,
  connectionId: string,
  lastEventId: string,
): Promise<ServerMessage | undefined> {
  const now = deps.clock();
  const nowSeconds = seconds(now);
  const retrying = {
    sender: deps.sender,
    retry: deps.retry ?? DEFAULT_RETRY,
    sleep: deps.sleep ?? defaultSleep,
    random: deps.random ?? Math.random,
    onFailure: deps.onFailure,
  };
  const record = await deps.store.get(connectionId);
  if (record?.tenantId === undefined) return notAuthenticated(deps.clock);
  if (record.brokenAt !== undefined) {
    // It missed an event and could not be closed then: close it now, so the client reconnects.
    await closeWithRetry(retrying, connectionId);
    return undefined;
  }
  if (isExpired(record, nowSeconds) && (await deps.store.deleteIfDue(connectionId, nowSeconds))) {
    // As the broadcaster does: tell, close, forget (unless a refresh won the conditional delete).
    if ((await postWithRetry(retrying, connectionId, JSON.stringify(serverMessage.authExpired(now)))) === 'sent')
      await closeWithRetry(retrying, connectionId);
    return undefined;
  }
  const rate = deps.rateLimit ?? { calls: RESUME_RATE_LIMIT_CALLS, windowSeconds: RESUME_RATE_LIMIT_WINDOW_SECONDS };
  if (!(await deps.store.takeResumeCall(connectionId, nowSeconds, rate))) {
    const windowEndMs = (nowSeconds - (nowSeconds % rate.windowSeconds) + rate.windowSeconds) * 1000;
    return serverMessage.resumeRateLimited(deps.clock(), Math.max(1, windowEndMs - now));
  }
  const gap = async (message: string) => {
    if (record.replay !== undefined) await deps.store.saveReplay(connectionId, undefined);
    return serverMessage.resumeError(deps.clock(), message);
  };

  let state: ReplayState;
  if (record.replay?.cursor === lastEventId) state = record.replay;
  else {
    // An id longer than any we issue is unknown by definition (and must not reach the key limit).
    const first =
      utf8Length(lastEventId) > MAX_EVENT_ID_BYTES
        ? undefined
        : await deps.log.position(record.tenantId, lastEventId, nowSeconds);
    if (first === undefined)
      return gap('unknown or expired lastEventId for this tenant: refetch state, then resume from a newer event');
    const overlapMs = deps.overlapMs ?? REPLAY_OVERLAP_SECONDS * 1000;
    state = {
      cursor: lastEventId,
      origin: lastEventId,
      from: eventLogFrom(eventLogTimeMs(first) - overlapMs),
      sent: 0,
      scanned: 0,
    };
  }

  const maxReplay = deps.maxReplay;
  const maxScanned = deps.maxScanned ?? MAX_REPLAY_SCANNED_ITEMS;
  const page = await readPage(deps, record as ConnectionRecord & { tenantId: string }, state, nowSeconds, {
    // One more than the sequence may still send: finding it proves the cap is exceeded.
    want: Math.min(deps.pageSize ?? REPLAY_PAGE_EVENTS, Math.max(0, maxReplay - state.sent) + 1),
    scanPerCall: deps.scanPerCall ?? REPLAY_SCAN_ITEMS_PER_CALL,
    queriesPerCall: deps.queriesPerCall ?? REPLAY_QUERIES_PER_CALL,
    maxScanned,
  });
  if (state.sent + page.envelopes.length > maxReplay)
    return gap(`more than ${maxReplay} events were missed: refetch state`);
  if (!page.done && state.scanned + page.scanned >= maxScanned)
    return gap(`more than ${maxScanned} logged events to look through: refetch state`);

  for (const envelope of page.envelopes) {
    const outcome = await postWithRetry(retrying, connectionId, JSON.stringify({ ...envelope, [REPLAY_FLAG]: true }));
    if (outcome === 'gone') return undefined;
    if (outcome === 'failed') {
      // It cannot receive the replay: close it (so the client reconnects and resumes again), or
      // leave it marked for the sweeper.
      if (!(await closeWithRetry(retrying, connectionId))) await deps.store.markBroken(connectionId, nowSeconds);
      return undefined;
    }
  }

  const next: ReplayState = {
    ...state,
    cursor: page.envelopes.at(-1)?.eventId ?? lastEventId,
    ...(page.after !== undefined ? { after: page.after } : {}),
    sent: state.sent + page.envelopes.length,
    scanned: state.scanned + page.scanned,
  };
  if (!page.done) await deps.store.saveReplay(connectionId, next);
  else if (record.replay !== undefined) await deps.store.saveReplay(connectionId, undefined);
  return serverMessage.resumeSuccess(deps.clock(), {
    replayed: page.envelopes.length,
    lastEventId: next.cursor,
    more: !page.done,
  });
}

interface Page {
  envelopes: Envelope[];
  /** Position of the last log item read (the next page reads after it). */
  after: string | undefined;
  /** Log items read. */
  scanned: number;
  /** The end of the log was reached: nothing more to send now. */
  done: boolean;
}

/** Reads log items in order until `want` envelopes are kept or a per-call or sequence budget ends. */
async function readPage(
  deps: ResumeDeps,
  record: ConnectionRecord & { tenantId: string },
  state: ReplayState,
  nowSeconds: number,
  budget: { want: number; scanPerCall: number; queriesPerCall: number; maxScanned: number },
): Promise<Page> {
  const envelopes: Envelope[] = [];
  const sent = new Set([state.origin, state.cursor]);
  let after = state.after;
  let scanned = 0;
  const target = connectionTarget(record);
  const scanLeft = () => Math.min(budget.scanPerCall - scanned, budget.maxScanned - state.scanned - scanned);

  const keep = (item: LogItem): boolean => {
    if (item.ttl <= nowSeconds) return false;
    const { eventId } = item.envelope;
    if (sent.has(eventId)) return false;
    const first = item.first;
    if (first && first.position !== item.position && first.position >= state.from && first.ttl > nowSeconds)
      return false; // the first copy is inside this replay: it is the one sent
    return delivers(target, eventOf(item.envelope, item.audience));
  };

  for (
    let queries = 0;
    envelopes.length < budget.want && queries < budget.queriesPerCall && scanLeft() > 0;
    queries++
  ) {
    const { items, done } = await deps.log.read(record.tenantId, { from: state.from, after }, scanLeft());
    let consumed = 0;
    for (const item of items) {
      consumed++;
      scanned++;
      after = item.position;
      if (!keep(item)) continue;
      sent.add(item.envelope.eventId);
      envelopes.push(item.envelope);
      if (envelopes.length >= budget.want) break;
    }
    if (done && consumed === items.length) return { envelopes, after, scanned, done: true };
  }
  return { envelopes, after, scanned, done: false };
}
