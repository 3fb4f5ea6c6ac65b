/**
 * Where the CPU of a fan-out goes: the local runtime under `node --cpu-prof` (its main thread and
 * the broadcaster's worker thread each write a profile), driven by `events` events, one at a
 * time, to a `clients`-connection tenant whose clients live in this process (not profiled).
 * Also prints each runtime thread's CPU per delivery (`--interval 0`: no profiler, only that).
 *
 *   npx tsx bin/tools/profile-fanout.ts --events 200 --clients 100 --dir /tmp/prof
 *   npx tsx bin/tools/cpu-profile-summary.ts /tmp/prof/*.cpuprofile --deliveries 20000
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { Route, ServerMessageType } from '../../lambdas/contract/index.js';
import { entry, putEvents, startDynamoProcess, startRuntime, token } from './harness.js';
import { threadDelta, threadTimes } from './thread-cpu.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200' },
    clients: { type: 'string', default: '100' },
    dir: { type: 'string', default: '/tmp/fanout-profile' },
    interval: { type: 'string', default: '250' },
    /** Extra environment for the runtime, `NAME=value,NAME=value`. */
    env: { type: 'string', default: '' },
    /** Another checkout (with node_modules) to run the runtime from. */
    root: { type: 'string', default: '' },
  },
});

async function main() {
  mkdirSync(args.dir, { recursive: true });
  const dynamo = await startDynamoProcess();
  const extra = Object.fromEntries(
    args.env
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
  const rt = await startRuntime(
    {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SWEEP_INTERVAL_SECONDS: '3600',
      AUTH_TIMEOUT_SECONDS: '3600',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ...extra,
    },
    {
      quiet: true,
      ...(args.root ? { root: resolve(args.root) } : {}),
      nodeArgs:
        args.interval === '0'
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${args.dir}`, `--cpu-prof-interval=${args.interval}`],
    },
  ).catch(async (err: unknown) => {
    await dynamo.stop();
    throw err;
  });
  const n = Number(args.clients);
  const jwt = await token({ tenant: 'prof', user: 'bench', ttl: 3600 });
  let received = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(rt.wsUrl);
          ws.once('error', reject);
          ws.once('open', () => ws.send(JSON.stringify({ action: Route.auth, token: jwt })));
          ws.once('message', (data) => {
            if (!data.toString().includes(ServerMessageType.authSuccess)) return reject(new Error(data.toString()));
            ws.on('message', () => received++);
            resolve(ws);
          });
        }),
    ),
  );
  const events = Number(args.events);
  const before = threadTimes(rt.pid);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    const target = (i + 1) * n;
    await putEvents(rt, [entry('goal.created', { tenantId: 'prof', goalId: `p${i}` })]);
    while (received < target) await new Promise((r) => setTimeout(r, 1));
  }
  const ms = performance.now() - t0;
  console.log(
    `${events} events × ${n} connections in ${ms.toFixed(0)} ms (${((ms / events / n) * 1000).toFixed(0)} µs per delivery, wall)`,
  );
  const delta = threadDelta(before, threadTimes(rt.pid));
  for (const [tid, t] of [...delta].sort((a, b) => b[1].cpuNs - a[1].cpuNs)) {
    if (t.cpuNs < 1e6) continue;
    const per = (ns: number) => (ns / 1000 / (events * n)).toFixed(1);
    console.log(
      `  thread ${tid}${tid === rt.pid ? ' (main)' : ''}: ${per(t.cpuNs)} µs CPU per delivery, ${per(t.waitNs)} µs waiting`,
    );
  }
  for (const ws of sockets) ws.terminate();
  await rt.stop();
  await dynamo.stop();
  console.log(`profiles in ${args.dir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
