/**
 * `npm run bench`: fan-out throughput and event latency on the local runtime. Not a test: it
 * prints a table. Everything runs on loopback; the runtime is a child process (each end of
 * 10,000 sockets needs its own descriptors), the clients live in this process.
 *
 *   npm run bench                      # N = 1,000 and 10,000; 200 latency events
 *   npm run bench -- --sizes 1000 --rounds 5 --latency-events 500
 */
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import WebSocket from 'ws';
import { Route, SETTINGS, ServerMessageType } from '../lambdas/contract/index.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local/defaults.js';
import { formatColdStart, measureColdStart } from './tools/cold-start.js';
import { entry, putEvents, type Runtime, startDynamoProcess, startRuntime, token } from './tools/harness.js';
import { measurePingRoundTrip } from './tools/ping-rtt.js';
import { percentile } from './tools/stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    rounds: { type: 'string', default: '3' },
    'latency-events': { type: 'string', default: '200' },
    'latency-clients': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: String(SETTINGS.fanoutConcurrency.default) },
    'cold-runs': { type: 'string', default: '9' },
  },
});
const sizes = args.sizes.split(',').map(Number);
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
        if (reply.type !== ServerMessageType.authSuccess) return reject(new Error(`auth failed: ${data.toString()}`));
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
  for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: Math.min(250, n - i) }, openOne));
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
      const b = median(broadcasterMs);
      const bare = median(bareMs);
      rows.push([fmt(n), fmt(b), fmt((n / b) * 1000), fmt(bare), fmt((n / bare) * 1000), fmt(bare / b, 2)]);
      fleet.close();
    }

    // Latency: PutEvents sent → frame received, per delivery.
    const latencyClients = Number(args['latency-clients']);
    const latencyEvents = Number(args['latency-events']);
    const fleet = await openFleet(rt, latencyClients, 'bench-latency');
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    fleet.onFrame = (text, at) => {
      const goal = /"goalId":"(lat-\d+)"/.exec(text)?.[1];
      const t0 = goal && sentAt.get(goal);
      if (t0) latencies.push(at - t0);
    };
    for (let i = 0; i < latencyEvents; i++) {
      const goalId = `lat-${i}`;
      const done = new Promise<void>((resolve) => {
        const target = (i + 1) * latencyClients;
        const check = setInterval(() => {
          if (latencies.length < target) return;
          clearInterval(check);
          resolve();
        }, 1);
      });
      sentAt.set(goalId, performance.now());
      await putEvents(rt, [entry('goal.created', { tenantId: 'bench-latency', goalId })]);
      await done;
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
    console.log(
      `\nLatency: ${latencyEvents} events to a ${latencyClients}-connection tenant, PutEvents → frame received (${fmt(latencies.length)} deliveries)`,
    );
    console.log(
      `p50 ${fmt(percentile(latencies, 0.5), 1)} ms   p99 ${fmt(percentile(latencies, 0.99), 1)} ms   max ${fmt(Math.max(...latencies), 1)} ms`,
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
