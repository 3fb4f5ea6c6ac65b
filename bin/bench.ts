/**
 * `npm run bench`: fan-out throughput and event latency on the local runtime. Not a test: it
 * prints a table. Everything runs on loopback; the runtime is a child process (each end of
 * 10,000 sockets needs its own descriptors), the clients live in this process.
 *
 *   npm run bench                      # N = 1,000 and 10,000; 200 latency events
 *   npm run bench -- --sizes 1000 --rounds 5 --latency-events 500
 *   npm run bench -- --cold-only --cold-runs 21   # the cold-start table alone
 *   npm run bench -- --sizes '' --cpu-size 0 --cold-runs 0 --baseline ../other-checkout
 *       # latency only, rounds alternating with a runtime started from another checkout
 *   npm run bench -- --sizes '' --cpu-size 0 --cold-runs 0 --baseline . --baseline-env FANOUT_CONCURRENCY=25
 *       # the same code side by side with other settings
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createManagementClient } from '../lambdas/adapters/management.js';
import { DEFAULT_STAGE, SETTINGS } from '../lambdas/contract/index.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local/defaults.js';
import { openFleet, pool } from './tools/bench-fleet.js';
import { formatColdStart, measureColdStart } from './tools/cold-start.js';
import { MB_PER_VCPU, projectAws, runCpuProbe, summarize } from './tools/cpu-per-delivery.js';
import {
  type DynamoProcess,
  entry,
  putEvents,
  type Runtime,
  settled,
  startDynamoProcess,
  startRuntime,
} from './tools/harness.js';
import {
  formatBreakdown,
  formatCpu,
  formatRounds,
  type LatencyRound,
  type LatencyTarget,
  latencyRound,
  openLatencyTarget,
} from './tools/latency-run.js';
import { measurePingRoundTrip } from './tools/ping-rtt.js';
import { percentile } from './tools/stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    rounds: { type: 'string', default: '3' },
    'latency-events': { type: 'string', default: '200' },
    'latency-clients': { type: 'string', default: '100' },
    'latency-rounds': { type: 'string', default: '3' },
    /** Events per runtime before the measured rounds (JIT warm-up: a warm function, as on AWS). */
    'latency-warmup': { type: 'string', default: '20' },
    /** Put each latency event as soon as every client has the previous one, not once the bus is idle. */
    'back-to-back': { type: 'boolean', default: false },
    /** The fan-out size whose fleet the CPU-per-delivery probe uses ('' or 0: skip). */
    'cpu-size': { type: 'string', default: '10000' },
    'cpu-rounds': { type: 'string', default: '3' },
    /** A checkout whose broadcaster the CPU probe also measures, alternating with this one's. */
    'cpu-baseline': { type: 'string', default: '' },
    /** Per-call PostToConnection latency on AWS assumed by the projection. */
    'aws-call-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: String(SETTINGS.fanoutConcurrency.default) },
    /** 0: skip the cold-start table. */
    'cold-runs': { type: 'string', default: '9' },
    /** Print the cold-start table and stop (no runtime, no fan-out). */
    'cold-only': { type: 'boolean', default: false },
    /** Extra environment of the runtime, `NAME=value,NAME=value`. */
    env: { type: 'string', default: '' },
    label: { type: 'string', default: 'this' },
    /** A checkout (with node_modules) whose runtime the latency rounds alternate with; '.' is this one. */
    baseline: { type: 'string', default: '' },
    'baseline-env': { type: 'string', default: '' },
    'baseline-label': { type: 'string', default: 'baseline' },
  },
});
const envList = (list: string): Record<string, string> =>
  Object.fromEntries(
    list
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const sizes = args.sizes.split(',').filter(Boolean).map(Number);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);

const median = (xs: number[]) => percentile(xs, 0.5);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A runtime for the bench, with DynamoDB in its own process (as on AWS). */
async function startBenchRuntime(
  env: Record<string, string>,
  root?: string,
): Promise<{ rt: Runtime; dynamo: DynamoProcess }> {
  const dynamo = await startDynamoProcess();
  try {
    const rt = await startRuntime(
      {
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        FANOUT_CONCURRENCY: String(concurrency),
        SWEEP_INTERVAL_SECONDS: '3600',
        AUTH_TIMEOUT_SECONDS: '3600',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        ...env,
      },
      { quiet: true, ...(root ? { root } : {}) },
    );
    return { rt, dynamo };
  } catch (err) {
    await dynamo.stop();
    throw err;
  }
}

/** The baseline runtime of the latency rounds (`--baseline`), stopped at the end. */
let baseline: { rt: Runtime; dynamo: DynamoProcess } | undefined;

/** The latency rounds (alternating with a baseline runtime if asked): the printed report. */
async function measureLatency(rt: Runtime, dynamoPid: number): Promise<string> {
  const latencyClients = Number(args['latency-clients']);
  const latencyEvents = Number(args['latency-events']);
  const latencyRounds = Number(args['latency-rounds']);
  const targets: LatencyTarget[] = [await openLatencyTarget(args.label, rt, dynamoPid, latencyClients)];
  if (args.baseline) {
    baseline = await startBenchRuntime(envList(args['baseline-env']), resolve(args.baseline));
    targets.push(await openLatencyTarget(args['baseline-label'], baseline.rt, baseline.dynamo.pid, latencyClients));
  }
  for (const t of targets) await latencyRound(t, -1, Number(args['latency-warmup']));
  const latencyRuns = targets.map((t) => ({ label: t.label, rounds: [] as LatencyRound[] }));
  for (let round = 0; round < latencyRounds; round++) {
    const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => i).reverse();
    for (const i of order)
      latencyRuns[i]!.rounds.push(await latencyRound(targets[i]!, round, latencyEvents, args['back-to-back']));
  }
  for (const t of targets) t.fleet.close();

  const lines: string[] = [];
  lines.push(
    `\nLatency: ${latencyEvents} events to a ${latencyClients}-connection tenant, ${latencyRounds} rounds after ${args['latency-warmup']} warm-up events, PutEvents → frame received; ${args['back-to-back'] ? 'each event put when every client has the previous one' : 'each event put once the previous one is settled (clients have it, bus idle)'}`,
  );
  if (targets.length > 1)
    lines.push(
      `${args.label}: this checkout${args.env ? ` with ${args.env}` : ''}; ${args['baseline-label']}: ${resolve(args.baseline)}${args['baseline-env'] ? ` with ${args['baseline-env']}` : ''}; rounds alternate`,
    );
  lines.push(
    "(step = from the previous mark; since PutEvents = cumulative; median over rounds of each round's p50/p95/p99)",
  );
  lines.push(formatBreakdown(latencyRuns));
  lines.push(formatRounds(latencyRuns));
  lines.push('\nCPU per delivery during the latency rounds, by thread and process (Linux schedstat; median of rounds)');
  lines.push(formatCpu(latencyRuns));
  return lines.join('\n');
}

async function main() {
  // First, while nothing else of ours runs: every bundle, built as the stack builds it.
  if (Number(args['cold-runs']) > 0) {
    console.log(`Cold start: module init of each Lambda bundle, median of ${args['cold-runs']} fresh node processes`);
    console.log(formatColdStart(await measureColdStart(Number(args['cold-runs']))));
  }
  if (args['cold-only']) return;
  const { rt, dynamo } = await startBenchRuntime(envList(args.env));
  // The bare loop's client: the broadcaster's own factory (same agent, socket cap and SDK tuning),
  // so the ratio is the cost of the broadcaster beyond its PostToConnection calls.
  const management = createManagementClient(SETTINGS.fanoutConcurrency.max, {
    endpoint: rt.managementUrl.replace(/\/@connections\/?$/, ''),
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const rows: string[][] = [];
  const cpuSize = Number(args['cpu-size'] || 0);
  let cpu: ReturnType<typeof summarize> | undefined;
  let cpuAgain: ReturnType<typeof summarize> | undefined;
  let cpuBaseline: Array<ReturnType<typeof summarize>> = [];
  try {
    const ping = await measurePingRoundTrip(rt);
    console.log(
      `\nPing (MOCK route, no Lambda): ${ping.pings} round trips on one connection, p50 ${fmt(ping.p50Ms, 2)} ms, p99 ${fmt(ping.p99Ms, 2)} ms`,
    );
    console.log(
      `tenant-realtime bench: node ${process.version}, fan-out concurrency ${concurrency}, ${rounds} rounds each after a warm-up round (median); runtime, dynalite and clients in separate processes`,
    );
    for (const n of sizes) {
      const opened = performance.now();
      const fleet = await openFleet(rt, n, `bench-${n}`);
      console.log(
        `  ${fmt(n)} connections opened and authenticated in ${fmt((performance.now() - opened) / 1000, 1)} s`,
      );
      const broadcasterMs: number[] = [];
      const bareMs: number[] = [];
      // Round -1 warms both sides up (sockets opened, code optimised) and is not counted.
      for (let round = -1; round < rounds; round++) {
        const record = (into: number[], ms: number) => round >= 0 && into.push(ms);
        // Alternate the order so neither side always runs on a warmer process.
        for (const side of round % 2 === 0 ? (['broadcaster', 'bare'] as const) : (['bare', 'broadcaster'] as const)) {
          if (side === 'broadcaster') {
            const t0 = performance.now();
            const out = await putEvents(rt, [entry('goal.created', { tenantId: `bench-${n}`, goalId: `g${round}` })]);
            const eventId = `evt_${out.Entries![0]!.EventId!}`;
            record(broadcasterMs, (await fleet.waitAll(eventId)) - t0);
          } else {
            const marker = `bare-${n}-${round}`;
            const payload = JSON.stringify({ type: 'bench', bench: marker });
            const t0 = performance.now();
            const done = fleet.waitAll(marker);
            await pool(fleet.ids, concurrency, (id) =>
              management.send(new PostToConnectionCommand({ ConnectionId: id, Data: payload })),
            );
            record(bareMs, (await done) - t0);
          }
        }
      }
      if (n === cpuSize) {
        const job = { tenantId: `bench-${n}`, connectionIds: fleet.ids, rounds: Number(args['cpu-rounds']) };
        const probe = (root?: string) =>
          runCpuProbe(rt, job, { concurrency, stage: DEFAULT_STAGE, ...(root ? { root } : {}) }).then(summarize);
        cpu = await probe();
        if (args['cpu-baseline']) {
          // Twice each, alternating: this, baseline, baseline, this.
          const root = resolve(args['cpu-baseline']);
          cpuBaseline = [await probe(root), await probe(root)];
          cpuAgain = await probe();
        }
      }
      const b = median(broadcasterMs);
      const bare = median(bareMs);
      rows.push([fmt(n), fmt(b), fmt((n / b) * 1000), fmt(bare), fmt((n / bare) * 1000), fmt(bare / b, 2)]);
      fleet.close();
      // Let the runtime run the fleet's $disconnects before the next measurement starts.
      await sleep(500);
      await settled(rt, { gateway: true });
    }

    // Latency: PutEvents sent → frame received, per delivery, with the broadcaster's step marks;
    // rounds alternate with the baseline runtime's, if there is one.
    const latencyReport = Number(args['latency-rounds']) > 0 ? await measureLatency(rt, dynamo.pid) : '';

    console.log('\nFan-out: one event to N connections of one tenant, PutEvents → last client has it');
    console.log(
      "(bare = the same PostToConnection calls at the same concurrency, sent straight from this process on a client from the broadcaster's factory)",
    );
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
      for (const [label, c] of [
        ...cpuBaseline.map((c) => [`baseline ${args['cpu-baseline']}`, c] as const),
        ...(cpuAgain ? [['this checkout again', cpuAgain] as const] : []),
      ])
        console.log(
          `  ${label}: broadcaster ${fmt(c.ours, 1)} µs   bare ${fmt(c.bare, 1)} µs   ratio ${fmt(c.ratio, 2)}`,
        );
      console.log(
        `on paper: ${fmt(aws.perVcpu)} deliveries/s per vCPU; 10,000 PostToConnection/s needs ${fmt(aws.vcpusNeeded, 2)} vCPU = ${fmt(aws.memoryMb)} MB (${MB_PER_VCPU} MB = 1 vCPU);`,
      );
      console.log(
        `10,000 connections at ${callMs} ms per call, concurrency ${concurrency}: ${fmt(aws.fanoutSeconds, 1)} s latency-bound (${fmt(aws.latencyBoundRps)} calls/s; CPU-bound at 1 vCPU: ${fmt(10_000 / aws.perVcpu, 1)} s)`,
      );
    }
    if (latencyReport) console.log(latencyReport);
  } finally {
    management.destroy();
    await rt.stop();
    await dynamo.stop();
    await baseline?.rt.stop();
    await baseline?.dynamo.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
