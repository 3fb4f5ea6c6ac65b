/**
 * `npm run bench`: fan-out throughput and event latency on the local runtime. Not a test: it
 * prints a table. Everything runs on loopback; the runtime is a child process (each end of
 * 10,000 sockets needs its own descriptors), the clients live in this process.
 *
 *   npm run bench                      # N = 1,000 and 10,000; 200 latency events
 *   npm run bench -- --sizes 1000 --rounds 5 --latency-events 500
 *   npm run bench -- --cold-only --cold-runs 21   # the cold-start table alone
 */
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import WebSocket from 'ws';
import { DEFAULT_STAGE, Route, SETTINGS, ServerMessageType } from '../lambdas/contract/index.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local/defaults.js';
import { formatColdStart, measureColdStart } from './tools/cold-start.js';
import { MB_PER_VCPU, projectAws, runCpuProbe, summarize } from './tools/cpu-per-delivery.js';
import { entry, putEvents, type Runtime, startDynamoProcess, startRuntime, token } from './tools/harness.js';
import { type BreakdownRow, breakdown, type EventSample, fetchTimings, wallNow } from './tools/latency-breakdown.js';
import { measurePingRoundTrip } from './tools/ping-rtt.js';
import { percentile } from './tools/stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    rounds: { type: 'string', default: '3' },
    'latency-events': { type: 'string', default: '200' },
    'latency-clients': { type: 'string', default: '100' },
    'latency-rounds': { type: 'string', default: '3' },
    /** The fan-out size whose fleet the CPU-per-delivery probe uses ('' or 0: skip). */
    'cpu-size': { type: 'string', default: '10000' },
    'cpu-rounds': { type: 'string', default: '3' },
    /** Per-call PostToConnection latency on AWS assumed by the projection. */
    'aws-call-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: String(SETTINGS.fanoutConcurrency.default) },
    'cold-runs': { type: 'string', default: '9' },
    /** Print the cold-start table and stop (no runtime, no fan-out). */
    'cold-only': { type: 'boolean', default: false },
  },
});
const sizes = args.sizes.split(',').filter(Boolean).map(Number);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);

/** A bare client: counts frames per eventId, records arrival times. */
interface Fleet {
  ids: string[];
  sockets: WebSocket[];
  /** Resolves when every socket has received a frame containing `marker`. */
  waitAll(marker: string): Promise<number>;
  /** Per-frame arrival callback (latency runs). */
  onFrame?: (text: string, at: number) => void;
  close(): void;
}

async function openFleet(rt: Runtime, n: number, tenant: string): Promise<Fleet> {
  const jwt = await token({ tenant, user: 'bench', ttl: 3 * 3600 });
  const ids: string[] = [];
  const sockets: WebSocket[] = [];
  const waiting = new Map<string, { left: number; resolve: (t: number) => void }>();
  const fleet: Fleet = {
    ids,
    sockets,
    waitAll: (marker) =>
      new Promise((resolve, reject) => {
        // Bounded: a missing delivery is reported, never waited for forever.
        const timer = setTimeout(() => {
          const w = waiting.get(marker);
          waiting.delete(marker);
          reject(
            new Error(
              `${marker}: ${w ? sockets.length - w.left : '?'} of ${sockets.length} clients received it within ${WAIT_MS / 1000} s`,
            ),
          );
        }, WAIT_MS);
        waiting.set(marker, {
          left: sockets.length,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      }),
    close: () => {
      for (const s of sockets) s.terminate();
    },
  };
  const markerOf = (text: string) => /"(?:eventId|bench)":"([^"]+)"/.exec(text)?.[1];
  const openOne = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(rt.wsUrl);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ action: Route.auth, token: jwt })));
      ws.once('message', (data) => {
        const reply = JSON.parse(data.toString()) as { type: string; data: { connectionId: string } };
        if (reply.type !== ServerMessageType.authSuccess) {
          ws.terminate();
          return reject(new Error(`auth failed: ${data.toString()}`));
        }
        ids.push(reply.data.connectionId);
        sockets.push(ws);
        ws.on('message', (frame) => {
          const at = performance.now();
          const text = frame.toString();
          fleet.onFrame?.(text, at);
          const marker = markerOf(text);
          const w = marker && waiting.get(marker);
          if (w && --w.left === 0) {
            waiting.delete(marker);
            w.resolve(at);
          }
        });
        resolve();
      });
    });
  // A loaded machine can fail an auth with internal_error (a DynamoDB timeout): retry it twice.
  const openRetrying = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openOne();
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  };
  for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: Math.min(250, n - i) }, openRetrying));
  return fleet;
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** How long one fan-out may take before the bench reports it incomplete. */
const WAIT_MS = 180_000;

const median = (xs: number[]) => percentile(xs, 0.5);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main() {
  // First, while nothing else of ours runs: every bundle, built as the stack builds it.
  console.log(`Cold start: module init of each Lambda bundle, median of ${args['cold-runs']} fresh node processes`);
  console.log(formatColdStart(await measureColdStart(Number(args['cold-runs']))));
  if (args['cold-only']) return;
  // DynamoDB in its own process, as on AWS.
  const dynamo = await startDynamoProcess();
  const rt = await startRuntime(
    {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      FANOUT_CONCURRENCY: String(concurrency),
      SWEEP_INTERVAL_SECONDS: '3600',
      AUTH_TIMEOUT_SECONDS: '3600',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    { quiet: true },
  );
  const management = new ApiGatewayManagementApiClient({
    endpoint: rt.managementUrl.replace(/\/@connections\/?$/, ''),
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 1000 }) }),
  });
  const rows: string[][] = [];
  const cpuSize = Number(args['cpu-size'] || 0);
  let cpu: ReturnType<typeof summarize> | undefined;
  try {
    const ping = await measurePingRoundTrip(rt);
    console.log(
      `\nPing (MOCK route, no Lambda): ${ping.pings} round trips on one connection, p50 ${fmt(ping.p50Ms, 2)} ms, p99 ${fmt(ping.p99Ms, 2)} ms`,
    );
    console.log(
      `tenant-realtime bench: node ${process.version}, fan-out concurrency ${concurrency}, ${rounds} rounds each (median); runtime, dynalite and clients in separate processes`,
    );
    for (const n of sizes) {
      const opened = performance.now();
      const fleet = await openFleet(rt, n, `bench-${n}`);
      console.log(
        `  ${fmt(n)} connections opened and authenticated in ${fmt((performance.now() - opened) / 1000, 1)} s`,
      );
      const broadcasterMs: number[] = [];
      const bareMs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Alternate the order so neither side always runs on a warmer process.
        for (const side of round % 2 === 0 ? (['broadcaster', 'bare'] as const) : (['bare', 'broadcaster'] as const)) {
          if (side === 'broadcaster') {
            const t0 = performance.now();
            const out = await putEvents(rt, [entry('goal.created', { tenantId: `bench-${n}`, goalId: `g${round}` })]);
            const eventId = `evt_${out.Entries![0]!.EventId!}`;
            broadcasterMs.push((await fleet.waitAll(eventId)) - t0);
          } else {
            const marker = `bare-${n}-${round}`;
            const payload = JSON.stringify({ type: 'bench', bench: marker });
            const t0 = performance.now();
            const done = fleet.waitAll(marker);
            await pool(fleet.ids, concurrency, (id) =>
              management.send(new PostToConnectionCommand({ ConnectionId: id, Data: payload })),
            );
            bareMs.push((await done) - t0);
          }
        }
      }
      if (n === cpuSize) {
        cpu = summarize(
          await runCpuProbe(
            rt,
            { tenantId: `bench-${n}`, connectionIds: fleet.ids, rounds: Number(args['cpu-rounds']) },
            { concurrency, stage: DEFAULT_STAGE },
          ),
        );
      }
      const b = median(broadcasterMs);
      const bare = median(bareMs);
      rows.push([fmt(n), fmt(b), fmt((n / b) * 1000), fmt(bare), fmt((n / bare) * 1000), fmt(bare / b, 2)]);
      fleet.close();
    }

    // Latency: PutEvents sent → frame received, per delivery, with the broadcaster's step marks.
    const latencyClients = Number(args['latency-clients']);
    const latencyEvents = Number(args['latency-events']);
    const latencyRounds = Number(args['latency-rounds']);
    const fleet = await openFleet(rt, latencyClients, 'bench-latency');
    const latencyRuns: Array<ReturnType<typeof breakdown>> = [];
    for (let round = 0; round < latencyRounds; round++) {
      const byGoal = new Map<string, EventSample>();
      let received = 0;
      fleet.onFrame = (text, at) => {
        const goal = /"goalId":"(lat-\d+-\d+)"/.exec(text)?.[1];
        const sample = goal && byGoal.get(goal);
        if (sample) {
          sample.received.push(performance.timeOrigin + at);
          received++;
        }
      };
      const idOf = new Map<EventSample, string>();
      for (let i = 0; i < latencyEvents; i++) {
        const goalId = `lat-${round}-${i}`;
        const target = (i + 1) * latencyClients;
        const done = new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (received < target) return;
            clearInterval(check);
            resolve();
          }, 1);
        });
        const sample: EventSample = { sentAt: wallNow(), received: [] };
        byGoal.set(goalId, sample);
        const out = await putEvents(rt, [entry('goal.created', { tenantId: 'bench-latency', goalId })]);
        idOf.set(sample, out.Entries![0]!.EventId!);
        await done;
      }
      const timings = await fetchTimings(rt.eventsUrl);
      for (const [sample, id] of idOf) {
        const t = timings.get(id);
        if (t) sample.timings = t;
      }
      latencyRuns.push(breakdown([...byGoal.values()]));
    }
    fleet.close();

    console.log('\nFan-out: one event to N connections of one tenant, PutEvents → last client has it');
    console.log('(bare = the same PostToConnection calls at the same concurrency, sent straight from this process)');
    const header = ['N', 'broadcaster ms', 'deliveries/s', 'bare ms', 'bare deliveries/s', 'broadcaster/bare'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
    if (cpu) {
      const callMs = Number(args['aws-call-ms']);
      const aws = projectAws(cpu.ours, { targetRps: 10_000, connections: 10_000, callLatencyMs: callMs, concurrency });
      console.log(
        `\nCPU per delivery (${fmt(cpuSize)} connections, process CPU of a process doing only this, median of ${cpu.rounds} rounds)`,
      );
      console.log(
        `broadcaster ${fmt(cpu.ours, 1)} µs   bare PostToConnectionCommand loop ${fmt(cpu.bare, 1)} µs   ratio ${fmt(cpu.ratio, 2)}`,
      );
      console.log(
        `on paper: ${fmt(aws.perVcpu)} deliveries/s per vCPU; 10,000 PostToConnection/s needs ${fmt(aws.vcpusNeeded, 2)} vCPU = ${fmt(aws.memoryMb)} MB (${MB_PER_VCPU} MB = 1 vCPU);`,
      );
      console.log(
        `10,000 connections at ${callMs} ms per call, concurrency ${concurrency}: ${fmt(aws.fanoutSeconds, 1)} s latency-bound (${fmt(aws.latencyBoundRps)} calls/s; CPU-bound at 1 vCPU: ${fmt(10_000 / aws.perVcpu, 1)} s)`,
      );
    }
    console.log(
      `\nLatency: ${latencyEvents} events to a ${latencyClients}-connection tenant, ${latencyRounds} rounds, PutEvents → frame received`,
    );
    console.log(
      "(step = from the previous mark; since PutEvents = cumulative; median over rounds of each round's p50/p99)",
    );
    const bHeader = ['step', 'p50 ms', 'p99 ms', 'since PutEvents p50', 'p99'];
    const bRows = latencyRuns[0]!.rows.map((row, i) => {
      const of = (pick: (r: BreakdownRow) => number) => median(latencyRuns.map((run) => pick(run.rows[i]!)));
      const f = (n: number) => (Number.isNaN(n) ? '–' : fmt(n, 1));
      return [row.step, f(of((r) => r.p50)), f(of((r) => r.p99)), f(of((r) => r.cumP50)), f(of((r) => r.cumP99))];
    });
    const bWidths = bHeader.map((h, i) => Math.max(h.length, ...bRows.map((r) => r[i]!.length)));
    const bLine = (cells: string[]) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(bWidths[i]!) : c.padStart(bWidths[i]!))).join(' | ')} |`;
    console.log(bLine(bHeader));
    console.log(`|${bWidths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of bRows) console.log(bLine(r));
    const perRound = latencyRuns.map((run) => ({
      p50: percentile(run.perDelivery, 0.5),
      p99: percentile(run.perDelivery, 0.99),
      n: run.perDelivery.length,
    }));
    for (const [i, r] of perRound.entries())
      console.log(`  round ${i + 1}: ${fmt(r.n)} deliveries, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms`);
    console.log(
      `per delivery (median of rounds): p50 ${fmt(median(perRound.map((r) => r.p50)), 1)} ms   p99 ${fmt(median(perRound.map((r) => r.p99)), 1)} ms`,
    );
  } finally {
    management.destroy();
    await rt.stop();
    await dynamo.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
