/**
 * The bench's latency rounds: `events` events, one at a time, to a fleet of one tenant; per event
 * the PutEvents send time, the broadcaster's step marks and every client's receipt (see
 * latency-breakdown.ts), and per round the CPU each party used per delivery (thread-cpu.ts).
 * With a baseline runtime (another checkout, or other settings) the rounds alternate between the
 * two, so both see the same machine.
 */
import { type Fleet, openFleet } from './bench-fleet.js';
import { entry, putEvents, type Runtime, settled } from './harness.js';
import { type BreakdownRow, breakdown, type EventSample, fetchTimings, wallNow } from './latency-breakdown.js';
import { percentile } from './stats.js';
import { processCpu, type RuntimeCpu, runtimeCpu, type ThreadTime, threadDelta, threadTimes } from './thread-cpu.js';

/** How long one event may take to reach every client before the round fails. */
const EVENT_WAIT_MS = 60_000;

export interface LatencyTarget {
  label: string;
  rt: Runtime;
  dynamoPid: number;
  fleet: Fleet;
  tenant: string;
}

export interface CpuPerDelivery {
  runtime: RuntimeCpu;
  dynamo: ThreadTime;
  /** This process: the receiving clients and the PutEvents calls. */
  clientsCpuNs: number;
  deliveries: number;
}

export interface LatencyRound {
  rows: BreakdownRow[];
  perDelivery: number[];
  cpu: CpuPerDelivery;
}

export async function openLatencyTarget(
  label: string,
  rt: Runtime,
  dynamoPid: number,
  clients: number,
): Promise<LatencyTarget> {
  const tenant = 'bench-latency';
  return { label, rt, dynamoPid, tenant, fleet: await openFleet(rt, clients, tenant) };
}

/**
 * One round of `events` events on one target, one at a time. Each is put when every client has the
 * previous one and, unless `backToBack`, once the bus is idle too: the local bus delivers a
 * tenant's events one after the other, so an event put while the broadcaster still settles the
 * previous one's last posts waits for it (on AWS, EventBridge would invoke another environment).
 */
export async function latencyRound(
  target: LatencyTarget,
  round: number,
  events: number,
  backToBack = false,
): Promise<LatencyRound> {
  const { rt, fleet } = target;
  const clients = fleet.sockets.length;
  const byGoal = new Map<string, EventSample>();
  let received = 0;
  let target_ = 0;
  let wake: (() => void) | undefined;
  fleet.onFrame = (text, at) => {
    const goal = /"goalId":"(lat-[^"]+)"/.exec(text)?.[1];
    const sample = goal && byGoal.get(goal);
    if (!sample) return;
    sample.received.push(performance.timeOrigin + at);
    if (++received >= target_) wake?.();
  };
  const idOf = new Map<EventSample, string>();
  const runtimeBefore = threadTimes(rt.pid);
  const dynamoBefore = threadTimes(target.dynamoPid);
  const clientsBefore = process.cpuUsage();
  for (let i = 0; i < events; i++) {
    const goalId = `lat-${target.label}-${round}-${i}`.replace(/[^\w-]/g, '');
    target_ = (i + 1) * clients;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      wake = resolve;
      timer = setTimeout(
        () => reject(new Error(`${target.label}: event ${i} reached ${received - i * clients} of ${clients} clients`)),
        EVENT_WAIT_MS,
      );
    }).finally(() => clearTimeout(timer));
    const sample: EventSample = { sentAt: wallNow(), received: [] };
    byGoal.set(goalId, sample);
    const out = await putEvents(rt, [entry('goal.created', { tenantId: target.tenant, goalId })]);
    idOf.set(sample, out.Entries![0]!.EventId!);
    await done;
    if (!backToBack) await settled(rt);
  }
  const clientsCpu = process.cpuUsage(clientsBefore);
  const runtime = runtimeCpu(rt.pid, threadDelta(runtimeBefore, threadTimes(rt.pid)));
  const dynamo = processCpu(threadDelta(dynamoBefore, threadTimes(target.dynamoPid)));
  delete fleet.onFrame;
  const timings = await fetchTimings(rt.eventsUrl);
  for (const [sample, id] of idOf) {
    const t = timings.get(id);
    if (t?.timings) sample.timings = t.timings;
    if (t?.acceptedAt !== undefined) sample.acceptedAt = t.acceptedAt;
    if (t?.invokedAt !== undefined) sample.invokedAt = t.invokedAt;
  }
  return {
    ...breakdown([...byGoal.values()]),
    cpu: { runtime, dynamo, clientsCpuNs: (clientsCpu.user + clientsCpu.system) * 1000, deliveries: received },
  };
}

const median = (xs: number[]) => percentile(xs, 0.5);
const f1 = (n: number) =>
  Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const r50 = (r: BreakdownRow) => r.p50;
const r95 = (r: BreakdownRow) => r.p95;
const r99 = (r: BreakdownRow) => r.p99;
const c50 = (r: BreakdownRow) => r.cumP50;
const c95 = (r: BreakdownRow) => r.cumP95;
const c99 = (r: BreakdownRow) => r.cumP99;

/** The breakdown table: per step, the median over rounds of each round's p50/p95/p99, per target. */
export function formatBreakdown(runs: Array<{ label: string; rounds: LatencyRound[] }>): string {
  const multi = runs.length > 1;
  const header = ['step'];
  for (const { label } of runs) {
    const p = multi ? `${label}: ` : '';
    header.push(`${p}step p50`, 'p95', 'p99', `${p}since PutEvents p50`, 'p95', 'p99');
  }
  const steps = runs[0]!.rounds[0]!.rows.map((r) => r.step);
  const rows = steps.map((step, i) => {
    const cells = [step];
    for (const { rounds } of runs) {
      const of = (pick: (r: BreakdownRow) => number) => median(rounds.map((run) => pick(run.rows[i]!)));
      cells.push(...[r50, r95, r99, c50, c95, c99].map((pick) => f1(of(pick))));
    }
    return cells;
  });
  const delivery = ['per delivery (PutEvents → frame)'];
  for (const { rounds } of runs) {
    const at = (q: number) => f1(median(rounds.map((r) => percentile(r.perDelivery, q))));
    delivery.push('', '', '', at(0.5), at(0.95), at(0.99));
  }
  rows.push(delivery);
  return table(header, rows);
}

/** Each round's per-delivery p50/p95/p99, per target. */
export function formatRounds(runs: Array<{ label: string; rounds: LatencyRound[] }>): string {
  const lines: string[] = [];
  for (const { label, rounds } of runs) {
    for (const [i, r] of rounds.entries()) {
      lines.push(
        `  ${label} round ${i + 1}: ${r.perDelivery.length} deliveries, p50 ${f1(percentile(r.perDelivery, 0.5))} ms, p95 ${f1(percentile(r.perDelivery, 0.95))} ms, p99 ${f1(percentile(r.perDelivery, 0.99))} ms`,
      );
    }
  }
  return lines.join('\n');
}

/** CPU per delivery by party (µs; median over rounds), and the run-queue wait of the two runtime threads. */
export function formatCpu(runs: Array<{ label: string; rounds: LatencyRound[] }>): string {
  const per = (rounds: LatencyRound[], pick: (c: CpuPerDelivery) => number) =>
    f1(median(rounds.map((r) => pick(r.cpu) / 1000 / Math.max(1, r.cpu.deliveries))));
  const parties: Array<[string, (c: CpuPerDelivery) => number]> = [
    ['broadcaster worker thread', (c) => c.runtime.worker.cpuNs],
    ['runtime main thread (gateway, management API, EventBridge)', (c) => c.runtime.main.cpuNs],
    ['runtime, other threads (GC helpers, libuv, loader)', (c) => c.runtime.rest.cpuNs],
    ['DynamoDB (dynalite process)', (c) => c.dynamo.cpuNs],
    ['clients (bench process: 100 ws clients, PutEvents)', (c) => c.clientsCpuNs],
    [
      'total',
      (c) => c.runtime.worker.cpuNs + c.runtime.main.cpuNs + c.runtime.rest.cpuNs + c.dynamo.cpuNs + c.clientsCpuNs,
    ],
    ['broadcaster worker: waiting for a CPU (run queue)', (c) => c.runtime.worker.waitNs],
    ['runtime main thread: waiting for a CPU (run queue)', (c) => c.runtime.main.waitNs],
  ];
  const header = ['µs per delivery', ...runs.map((r) => r.label)];
  return table(
    header,
    parties.map(([name, pick]) => [name, ...runs.map((r) => per(r.rounds, pick))]),
  );
}
