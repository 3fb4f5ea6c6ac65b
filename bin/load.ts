/**
 * `npm run load`: a bounded load test of the local runtime, on loopback only. Not part of
 * `npm test`.
 *
 * N connections across T tenants receive a sustained event rate for a fixed duration while
 * random clients drop and come back with `resume`. It reports frames expected, received, lost
 * and duplicated, latency percentiles, the runtime's memory at start and end, and every error.
 * The target: 0 lost (frames missed while away must come back through resume) and 0 frames
 * from another tenant. Exit code 1 when a target is missed.
 *
 *   npm run load
 *   npm run load -- --connections 1000 --rate 20 --duration 30
 *
 * The runtime runs as a child process (each end of 5,000 sockets needs its own descriptors);
 * the clients and the event producer live in this process, so latencies share one clock.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { EVENT_ID_PREFIX, Route, ServerMessageType } from '../lambdas/contract/index.js';
import { entry, putEvents, type Runtime, settled, startDynamoProcess, startRuntime, token } from './tools/harness.js';
import { mulberry32 } from './tools/prng.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    tenants: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '60' },
    /** Clients dropped per second during the run (each comes back after `away` ms). */
    churn: { type: 'string', default: '10' },
    'away-min': { type: 'string', default: '300' },
    'away-max': { type: 'string', default: '3000' },
    /** Each event is addressed to this many random users of its tenant (`audience.userIds`)… */
    'audience-size': { type: 'string', default: '5' },
    /** …except every Kth event, which goes to the whole tenant (0: never). */
    'broadcast-every': { type: 'string', default: '100' },
    /** Hard bound on the whole run, set-up included. */
    'max-seconds': { type: 'string', default: '120' },
    seed: { type: 'string', default: '42' },
  },
});

const N = int('connections', 1, 15_000);
const T = int('tenants', 1, N);
const RATE = int('rate', 1, 10_000);
const DURATION_S = int('duration', 1, 3600);
const CHURN = int('churn', 0, 1000);
const AWAY_MIN = int('away-min', 0, 60_000);
const AWAY_MAX = Math.max(AWAY_MIN, int('away-max', 0, 60_000));
const AUDIENCE = int('audience-size', 0, 1000);
const BROADCAST_EVERY = int('broadcast-every', 0, 1_000_000);
const MAX_MS = int('max-seconds', 10, 3600) * 1000;
const started = Date.now();
const deadline = started + MAX_MS;

function int(name: keyof typeof args, min: number, max: number): number {
  const raw = String(args[name]);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const random = mulberry32(Number(args.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pastDeadline = () => Date.now() > deadline;

interface SentEvent {
  tenant: string;
  /** undefined: the whole tenant. */
  userIds?: Set<string>;
  sentAt: number;
}

/** One simulated user: one connection at a time, across reconnects. */
interface Sim {
  tenant: string;
  userId: string;
  ws?: WebSocket;
  /** When its first auth.success arrived: events put after this are expected. */
  firstAuthAt?: number;
  /** Last eventId received, or the lastEventId of auth.success: where `resume` starts. */
  resumePoint?: string | undefined;
  /** Frames per eventId (duplicates show as counts > 1). */
  received: Map<string, number>;
  /** Between reconnect's resume request and resume.success: frames may be replays. */
  resuming: boolean;
  away: boolean;
  reconnects: number;
  replayed: number;
}

const errors: string[] = [];
const noteError = (what: string) => {
  if (errors.length < 50) errors.push(what);
  else if (errors.length === 50) errors.push('… more errors omitted');
};
const sent = new Map<string, SentEvent>();
const latencies: number[] = [];
let foreign = 0;

interface Memory {
  heapUsed: number;
  rss: number;
  collected: boolean;
}
/** The runtime's memory after a full GC (the live heap), from its control endpoint. */
async function liveMemory(rt: Runtime): Promise<Memory> {
  return (await (await fetch(`${rt.eventsUrl}/_local/memory?gc=1`)).json()) as Memory;
}
const mb = (bytes: number) => bytes / 1024 / 1024;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function onFrame(sim: Sim, text: string): void {
  let frame: { type?: string; eventId?: string; tenantId?: string; replay?: true; data?: Record<string, unknown> };
  try {
    frame = JSON.parse(text) as typeof frame;
  } catch {
    noteError(`non-JSON frame: ${text.slice(0, 80)}`);
    return;
  }
  if (typeof frame.eventId === 'string') {
    if (frame.tenantId !== sim.tenant) foreign++;
    sim.received.set(frame.eventId, (sim.received.get(frame.eventId) ?? 0) + 1);
    // While a resume is paging, only its own frames move the resume point (a live frame may be
    // newer than events the replay has not reached yet).
    if (!sim.resuming || frame.replay === true) sim.resumePoint = frame.eventId;
    const sentAt = Number(frame.data?.sentAt);
    if (sim.resuming) sim.replayed++;
    else if (Number.isFinite(sentAt)) latencies.push(Date.now() - sentAt);
    return;
  }
  switch (frame.type) {
    case ServerMessageType.resumeSuccess:
      // One page per resume: continue from its lastEventId while `more`.
      if (frame.data?.more === true && typeof frame.data.lastEventId === 'string') {
        sim.ws?.send(JSON.stringify({ action: Route.resume, lastEventId: frame.data.lastEventId }));
        return;
      }
      sim.resuming = false;
      return;
    case ServerMessageType.resumeError:
    case ServerMessageType.authError:
    case ServerMessageType.authExpired:
    case ServerMessageType.error:
      noteError(`${sim.userId}: ${text.slice(0, 160)}`);
      sim.resuming = false;
      return;
  }
}

/** Connects and authenticates; on a reconnect, resumes from the last known event. */
function connect(rt: Runtime, sim: Sim, jwt: string, resume: boolean): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(rt.wsUrl);
    sim.ws = ws;
    let authed = false;
    ws.on('error', (err) => {
      noteError(`${sim.userId}: socket error ${err.message}`);
      if (!authed) resolve();
    });
    ws.on('open', () => ws.send(JSON.stringify({ action: Route.auth, token: jwt })));
    ws.on('message', (data) => {
      const text = data.toString();
      if (!authed) {
        const reply = JSON.parse(text) as { type: string; data: { lastEventId?: string | null } };
        if (reply.type !== ServerMessageType.authSuccess) {
          noteError(`${sim.userId}: ${text.slice(0, 160)}`);
          return resolve();
        }
        authed = true;
        sim.firstAuthAt ??= Date.now();
        if (resume && sim.resumePoint) {
          sim.resuming = true;
          ws.send(JSON.stringify({ action: Route.resume, lastEventId: sim.resumePoint }));
        }
        sim.resumePoint ??= reply.data.lastEventId ?? undefined;
        sim.away = false;
        return resolve();
      }
      onFrame(sim, text);
    });
  });
}

async function main() {
  console.log(
    `tenant-realtime load: ${N.toLocaleString('en-US')} connections, ${T} tenants, ${RATE} events/s for ${DURATION_S} s, ` +
      `${CHURN} drops/s (back after ${AWAY_MIN}-${AWAY_MAX} ms), audience ${AUDIENCE} users (every ${BROADCAST_EVERY || '∞'}th event: whole tenant), ` +
      `bound ${MAX_MS / 1000} s, seed ${args.seed}`,
  );
  // DynamoDB in its own process, as on AWS: the runtime's heap then holds no table data.
  const dynamo = await startDynamoProcess();
  const rt = await startRuntime(
    {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SWEEP_INTERVAL_SECONDS: '3600',
      AUTH_TIMEOUT_SECONDS: '600',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    { quiet: true, exposeGc: true },
  );
  const sims: Sim[] = [];
  const tokens = new Map<string, string>();
  const memory: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const tenants = Array.from({ length: T }, (_, i) => `load-t${i}`);
    const usersOf = new Map<string, string[]>(tenants.map((t) => [t, []]));
    for (let i = 0; i < N; i++) {
      const tenant = tenants[i % T]!;
      const userId = `u${i}`;
      usersOf.get(tenant)!.push(userId);
      tokens.set(userId, await token({ tenant, user: userId, ttl: 3 * 3600 }));
      sims.push({ tenant, userId, received: new Map(), resuming: false, away: false, reconnects: 0, replayed: 0 });
    }

    // A tenant with history: each gets one event first, so every client has a resume point.
    const put = async (tenant: string, userIds: string[] | undefined, seq: number) => {
      const sentAt = Date.now();
      const detail = {
        tenantId: tenant,
        goalId: `g${seq}`,
        seq,
        sentAt,
        ...(userIds ? { audience: { userIds } } : {}),
      };
      const out = await putEvents(rt, [entry('goal.updated', detail, 'load.test')]);
      const result = out.Entries?.[0];
      if (!result?.EventId) return noteError(`PutEvents entry failed: ${result?.ErrorCode} ${result?.ErrorMessage}`);
      sent.set(`${EVENT_ID_PREFIX}${result.EventId}`, {
        tenant,
        sentAt,
        ...(userIds ? { userIds: new Set(userIds) } : {}),
      });
    };
    for (const tenant of tenants) await put(tenant, undefined, -1);
    await settled(rt);

    const opening = Date.now();
    for (let i = 0; i < N && !pastDeadline(); i += 250) {
      await Promise.all(sims.slice(i, i + 250).map((sim) => connect(rt, sim, tokens.get(sim.userId)!, false)));
    }
    const connected = sims.filter((s) => s.firstAuthAt !== undefined).length;
    console.log(
      `  ${connected.toLocaleString('en-US')} connections authenticated in ${((Date.now() - opening) / 1000).toFixed(1)} s`,
    );
    const heapStart = await liveMemory(rt);
    memory.push(rssMb(rt.pid));
    sampler = setInterval(() => memory.push(rssMb(rt.pid)), 1000);
    const memoryStart = memory[0]!;

    // Churn: drop random connected clients; each comes back, re-authenticates and resumes.
    const returning: Promise<void>[] = [];
    const churn = setInterval(() => {
      for (let k = 0; k < CHURN; k++) {
        const sim = pick(sims);
        if (sim.away || !sim.ws || sim.resuming) continue;
        sim.away = true;
        sim.reconnects++;
        if (random() < 0.5) sim.ws.terminate();
        else sim.ws.close();
        const awayMs = AWAY_MIN + random() * (AWAY_MAX - AWAY_MIN);
        returning.push(sleep(awayMs).then(() => connect(rt, sim, tokens.get(sim.userId)!, true)));
      }
    }, 1000);

    // The producer: RATE events per second, paced in 100 ms ticks, for DURATION_S seconds.
    const runStart = Date.now();
    let seq = 0;
    let behind = 0;
    const puts: Promise<void>[] = [];
    for (let tick = 0; tick < DURATION_S * 10 && !pastDeadline(); tick++) {
      const due = Math.floor(((tick + 1) * RATE) / 10) - Math.floor((tick * RATE) / 10);
      for (let k = 0; k < due; k++) {
        const tenant = pick(tenants);
        const whole = AUDIENCE === 0 || (BROADCAST_EVERY > 0 && seq % BROADCAST_EVERY === 0);
        const users = usersOf.get(tenant)!;
        const audience = whole
          ? undefined
          : Array.from({ length: Math.min(AUDIENCE, users.length) }, () => pick(users));
        puts.push(put(tenant, audience, seq++));
      }
      const wait = runStart + (tick + 1) * 100 - Date.now();
      if (wait > 0) await sleep(wait);
      else behind++;
    }
    clearInterval(churn);
    await Promise.all(puts);
    const producedIn = (Date.now() - runStart) / 1000;
    console.log(
      `  ${seq.toLocaleString('en-US')} events put in ${producedIn.toFixed(1)} s (${(seq / producedIn).toFixed(1)}/s; producer late on ${behind} of ${DURATION_S * 10} ticks)`,
    );

    // Drain: every client back and resumed, every event delivered.
    await Promise.race([Promise.all(returning), sleep(Math.max(0, deadline - Date.now()))]);
    await Promise.race([settled(rt), sleep(Math.max(0, deadline - Date.now()))]);
    for (let i = 0; i < 100 && sims.some((s) => s.resuming || s.away) && !pastDeadline(); i++) await sleep(50);
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    clearInterval(sampler);
    memory.push(rssMb(rt.pid));
    const memoryEnd = memory.at(-1)!;
    const heapEnd = await liveMemory(rt);

    // Account: what each user should have received, against what it did.
    let expected = 0;
    let receivedExpected = 0;
    let lost = 0;
    let duplicates = 0;
    let frames = 0;
    const lostSamples: string[] = [];
    for (const sim of sims) {
      if (sim.firstAuthAt === undefined) continue;
      for (const [eventId, event] of sent) {
        if (event.tenant !== sim.tenant || event.sentAt < sim.firstAuthAt) continue;
        if (event.userIds && !event.userIds.has(sim.userId)) continue;
        expected++;
        if (sim.received.has(eventId)) receivedExpected++;
        else {
          lost++;
          if (lostSamples.length < 5) lostSamples.push(`${sim.userId} missed ${eventId}`);
        }
      }
      for (const count of sim.received.values()) {
        frames += count;
        duplicates += count - 1;
      }
    }
    const dlq = (await (await fetch(`${rt.eventsUrl}/_local/dlq`)).json()) as unknown[];
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = (q: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
    const reconnects = sims.reduce((n, s) => n + s.reconnects, 0);
    const replayed = sims.reduce((n, s) => n + s.replayed, 0);
    const elapsed = (Date.now() - started) / 1000;

    const rows: Array<[string, string]> = [
      ['frames expected', expected.toLocaleString('en-US')],
      ['frames received (all, incl. duplicates)', frames.toLocaleString('en-US')],
      ['expected frames received', receivedExpected.toLocaleString('en-US')],
      ['lost', lost.toLocaleString('en-US')],
      ['duplicated (at-least-once; clients drop by eventId)', duplicates.toLocaleString('en-US')],
      ['frames from another tenant', foreign.toLocaleString('en-US')],
      ['reconnects with resume', reconnects.toLocaleString('en-US')],
      ['frames received while resuming', replayed.toLocaleString('en-US')],
      ['delivery rate (live + resume)', `${Math.round(frames / producedIn).toLocaleString('en-US')} frames/s`],
      [
        'latency p50 / p99 / max (live frames)',
        `${p(0.5).toFixed(0)} / ${p(0.99).toFixed(0)} / ${sorted.length ? sorted.at(-1)!.toFixed(0) : 'NaN'} ms`,
      ],
      [
        'runtime live heap after GC start → end',
        `${mb(heapStart.heapUsed).toFixed(1)} → ${mb(heapEnd.heapUsed).toFixed(1)} MB`,
      ],
      [
        'runtime RSS start → end (peak)',
        `${memoryStart.toFixed(0)} → ${memoryEnd.toFixed(0)} MB (${Math.max(...memory).toFixed(0)} MB)`,
      ],
      ['DynamoDB (dynalite process) RSS at end', `${rssMb(dynamo.pid).toFixed(0)} MB (holds the event log)`],
      ['dead-lettered events', String(dlq.length)],
      ['errors', String(errors.length)],
      ['wall time', `${elapsed.toFixed(1)} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    for (const e of errors) console.log(`  error: ${e}`);
    for (const s of lostSamples) console.log(`  lost: ${s}`);
    const ok = lost === 0 && foreign === 0 && errors.length === 0 && dlq.length === 0 && !pastDeadline();
    console.log(ok ? '\nPASS: 0 lost, 0 foreign, no errors' : `\nFAIL${pastDeadline() ? ' (hit the time bound)' : ''}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (sampler) clearInterval(sampler);
    for (const sim of sims) sim.ws?.terminate();
    await rt.stop();
    await dynamo.stop();
  }
}

const watchdog = setTimeout(() => {
  console.error(`load: exceeded ${MAX_MS / 1000} s + 15 s grace; stopping`);
  process.exit(1);
}, MAX_MS + 15_000);
watchdog.unref();

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
