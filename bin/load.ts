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
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { EVENT_ID_PREFIX, Route, ServerMessageType } from '../lambdas/contract/index.js';
import { entry, putEvents, type Runtime, settled, startDynamoProcess, startRuntime, token } from './tools/harness.js';
import {
  account,
  type FrameTally,
  noteError,
  type RunMeasurements,
  recordFrame,
  report,
  type SentEvent,
  type UserRecord,
} from './tools/load-report.js';
import { mulberry32 } from './tools/prng.js';

/** The run's settings, from the command line. */
interface LoadConfig {
  connections: number;
  tenants: number;
  /** Events per second. */
  rate: number;
  durationSeconds: number;
  /** Clients dropped per second during the run (each comes back after `awayMinMs`..`awayMaxMs`). */
  churn: number;
  awayMinMs: number;
  awayMaxMs: number;
  /** Each event is addressed to this many random users of its tenant (`audience.userIds`)… */
  audienceSize: number;
  /** …except every Kth event, which goes to the whole tenant (0: never). */
  broadcastEvery: number;
  /** Hard bound on the whole run, set-up included. */
  maxMs: number;
  seed: string;
}

function parseConfig(): LoadConfig {
  const { values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: '5000' },
      tenants: { type: 'string', default: '10' },
      rate: { type: 'string', default: '50' },
      duration: { type: 'string', default: '60' },
      churn: { type: 'string', default: '10' },
      'away-min': { type: 'string', default: '300' },
      'away-max': { type: 'string', default: '3000' },
      'audience-size': { type: 'string', default: '5' },
      'broadcast-every': { type: 'string', default: '100' },
      'max-seconds': { type: 'string', default: '120' },
      seed: { type: 'string', default: '42' },
    },
  });
  const int = (name: keyof typeof args, min: number, max: number): number => {
    const raw = String(args[name]);
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      console.error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      process.exit(2);
    }
    return value;
  };
  const connections = int('connections', 1, 15_000);
  const tenants = int('tenants', 1, connections);
  const rate = int('rate', 1, 10_000);
  const durationSeconds = int('duration', 1, 3600);
  const churn = int('churn', 0, 1000);
  const awayMinMs = int('away-min', 0, 60_000);
  const awayMaxMs = Math.max(awayMinMs, int('away-max', 0, 60_000));
  const audienceSize = int('audience-size', 0, 1000);
  const broadcastEvery = int('broadcast-every', 0, 1_000_000);
  const maxMs = int('max-seconds', 10, 3600) * 1000;
  return {
    connections,
    tenants,
    rate,
    durationSeconds,
    churn,
    awayMinMs,
    awayMaxMs,
    audienceSize,
    broadcastEvery,
    maxMs,
    seed: args.seed,
  };
}

/** One simulated user: one connection at a time, across reconnects. */
interface Sim extends UserRecord {
  ws?: WebSocket;
  away: boolean;
}

/** Everything a run changes as it goes, in one place. */
interface LoadRun {
  readonly config: LoadConfig;
  readonly startedAt: number;
  readonly deadline: number;
  readonly random: () => number;
  readonly sims: Sim[];
  readonly tokens: Map<string, string>;
  /** Events put, by eventId. */
  readonly sent: Map<string, SentEvent>;
  readonly tally: FrameTally;
  /** The runtime's RSS samples, MB. */
  readonly rssMb: number[];
}

function newRun(config: LoadConfig): LoadRun {
  const startedAt = Date.now();
  return {
    config,
    startedAt,
    deadline: startedAt + config.maxMs,
    random: mulberry32(Number(config.seed)),
    sims: [],
    tokens: new Map(),
    sent: new Map(),
    tally: { latencies: [], foreign: 0, errors: [] },
    rssMb: [],
  };
}

const pick = <T>(run: LoadRun, xs: readonly T[]): T => xs[Math.floor(run.random() * xs.length)]!;
const pastDeadline = (run: LoadRun) => Date.now() > run.deadline;
const untilDeadline = (run: LoadRun) => Math.max(0, run.deadline - Date.now());

interface Memory {
  heapUsed: number;
  rss: number;
  collected: boolean;
}
/** The runtime's memory after a full GC (the live heap), from its control endpoint. */
async function liveMemory(rt: Runtime): Promise<Memory> {
  return (await (await fetch(`${rt.eventsUrl}/_local/memory?gc=1`)).json()) as Memory;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Connects and authenticates; on a reconnect, resumes from the last known event. */
function connect(run: LoadRun, rt: Runtime, sim: Sim, resume: boolean): Promise<void> {
  const errors = run.tally.errors;
  const jwt = run.tokens.get(sim.userId)!;
  return new Promise((resolve) => {
    const ws = new WebSocket(rt.wsUrl);
    sim.ws = ws;
    let authed = false;
    ws.on('error', (err) => {
      noteError(errors, `${sim.userId}: socket error ${err.message}`);
      if (!authed) resolve();
    });
    ws.on('open', () => ws.send(JSON.stringify({ action: Route.auth, token: jwt })));
    ws.on('message', (data) => {
      const text = data.toString();
      if (!authed) {
        const reply = JSON.parse(text) as { type: string; data: { lastEventId?: string | null } };
        if (reply.type !== ServerMessageType.authSuccess) {
          noteError(errors, `${sim.userId}: ${text.slice(0, 160)}`);
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
      const more = recordFrame(run.tally, sim, text, Date.now());
      if (more) ws.send(JSON.stringify({ action: Route.resume, lastEventId: more }));
    });
  });
}

/** Puts one event for `tenant` (to `userIds`, or the whole tenant) and records it as sent. */
async function put(run: LoadRun, rt: Runtime, tenant: string, userIds: string[] | undefined, seq: number) {
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
  if (!result?.EventId)
    return noteError(run.tally.errors, `PutEvents entry failed: ${result?.ErrorCode} ${result?.ErrorMessage}`);
  run.sent.set(`${EVENT_ID_PREFIX}${result.EventId}`, {
    tenant,
    sentAt,
    ...(userIds ? { userIds: new Set(userIds) } : {}),
  });
}

async function main(run: LoadRun) {
  const { config: c, sims } = run;
  console.log(
    `tenant-realtime load: ${c.connections.toLocaleString('en-US')} connections, ${c.tenants} tenants, ${c.rate} events/s for ${c.durationSeconds} s, ` +
      `${c.churn} drops/s (back after ${c.awayMinMs}-${c.awayMaxMs} ms), audience ${c.audienceSize} users (every ${c.broadcastEvery || '∞'}th event: whole tenant), ` +
      `bound ${c.maxMs / 1000} s, seed ${c.seed}`,
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
  let sampler: NodeJS.Timeout | undefined;
  try {
    const tenants = Array.from({ length: c.tenants }, (_, i) => `load-t${i}`);
    const usersOf = new Map<string, string[]>(tenants.map((t) => [t, []]));
    for (let i = 0; i < c.connections; i++) {
      const tenant = tenants[i % c.tenants]!;
      const userId = `u${i}`;
      usersOf.get(tenant)!.push(userId);
      run.tokens.set(userId, await token({ tenant, user: userId, ttl: 3 * 3600 }));
      sims.push({ tenant, userId, received: new Map(), resuming: false, away: false, reconnects: 0, replayed: 0 });
    }

    // A tenant with history: each gets one event first, so every client has a resume point.
    for (const tenant of tenants) await put(run, rt, tenant, undefined, -1);
    await settled(rt);

    const opening = Date.now();
    for (let i = 0; i < c.connections && !pastDeadline(run); i += 250) {
      await Promise.all(sims.slice(i, i + 250).map((sim) => connect(run, rt, sim, false)));
    }
    const connected = sims.filter((s) => s.firstAuthAt !== undefined).length;
    console.log(
      `  ${connected.toLocaleString('en-US')} connections authenticated in ${((Date.now() - opening) / 1000).toFixed(1)} s`,
    );
    const heapStart = await liveMemory(rt);
    run.rssMb.push(rssMb(rt.pid));
    sampler = setInterval(() => run.rssMb.push(rssMb(rt.pid)), 1000);

    // Churn: drop random connected clients; each comes back, re-authenticates and resumes.
    const returning: Promise<void>[] = [];
    const churn = setInterval(() => {
      for (let k = 0; k < c.churn; k++) {
        const sim = pick(run, sims);
        if (sim.away || !sim.ws || sim.resuming) continue;
        sim.away = true;
        sim.reconnects++;
        if (run.random() < 0.5) sim.ws.terminate();
        else sim.ws.close();
        const awayMs = c.awayMinMs + run.random() * (c.awayMaxMs - c.awayMinMs);
        returning.push(sleep(awayMs).then(() => connect(run, rt, sim, true)));
      }
    }, 1000);

    // The producer: `rate` events per second, paced in 100 ms ticks, for `durationSeconds`.
    const runStart = Date.now();
    let seq = 0;
    let behind = 0;
    const puts: Promise<void>[] = [];
    for (let tick = 0; tick < c.durationSeconds * 10 && !pastDeadline(run); tick++) {
      const due = Math.floor(((tick + 1) * c.rate) / 10) - Math.floor((tick * c.rate) / 10);
      for (let k = 0; k < due; k++) {
        const tenant = pick(run, tenants);
        const whole = c.audienceSize === 0 || (c.broadcastEvery > 0 && seq % c.broadcastEvery === 0);
        const users = usersOf.get(tenant)!;
        const audience = whole
          ? undefined
          : Array.from({ length: Math.min(c.audienceSize, users.length) }, () => pick(run, users));
        puts.push(put(run, rt, tenant, audience, seq++));
      }
      const wait = runStart + (tick + 1) * 100 - Date.now();
      if (wait > 0) await sleep(wait);
      else behind++;
    }
    clearInterval(churn);
    await Promise.all(puts);
    const producedIn = (Date.now() - runStart) / 1000;
    console.log(
      `  ${seq.toLocaleString('en-US')} events put in ${producedIn.toFixed(1)} s (${(seq / producedIn).toFixed(1)}/s; producer late on ${behind} of ${c.durationSeconds * 10} ticks)`,
    );

    // Drain: every client back and resumed, every event delivered.
    await Promise.race([Promise.all(returning), sleep(untilDeadline(run))]);
    await Promise.race([settled(rt), sleep(untilDeadline(run))]);
    for (let i = 0; i < 100 && sims.some((s) => s.resuming || s.away) && !pastDeadline(run); i++) await sleep(50);
    await sleep(Math.min(1000, untilDeadline(run)));
    clearInterval(sampler);
    run.rssMb.push(rssMb(rt.pid));
    const heapEnd = await liveMemory(rt);

    const accounting = account(sims, run.sent);
    const dlq = (await (await fetch(`${rt.eventsUrl}/_local/dlq`)).json()) as unknown[];
    const measured: RunMeasurements = {
      accounting,
      tally: run.tally,
      producedInSeconds: producedIn,
      heapUsed: { start: heapStart.heapUsed, end: heapEnd.heapUsed },
      rssMb: run.rssMb,
      dynamoRssMb: rssMb(dynamo.pid),
      deadLetters: dlq.length,
      wallSeconds: (Date.now() - run.startedAt) / 1000,
      hitTimeBound: pastDeadline(run),
    };
    const { lines, ok } = report(measured);
    for (const line of lines) console.log(line);
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (sampler) clearInterval(sampler);
    for (const sim of sims) sim.ws?.terminate();
    await rt.stop();
    await dynamo.stop();
  }
}

const config = parseConfig();
const watchdog = setTimeout(() => {
  console.error(`load: exceeded ${config.maxMs / 1000} s + 15 s grace; stopping`);
  process.exit(1);
}, config.maxMs + 15_000);
watchdog.unref();

main(newRun(config)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
