/**
 * `npm run cost`: the monthly AWS bill for a workload, from operation counts measured on the
 * local runtime.
 *
 * 1. Measure. A small representative workload runs on the local runtime (loopback only, bounded):
 *    connection sessions (connect, auth, subscribe, resume, disconnect), pings, and tenant-wide
 *    events to two tenant sizes. The runtime counts WebSocket messages (32 KB units), Lambda
 *    invocations and milliseconds by function, and EventBridge events; a metering proxy in front
 *    of DynamoDB counts read and write request units by table and index.
 * 2. Derive unit costs: per session, per ping, per event, and per extra recipient (a linear fit
 *    over the two tenant sizes).
 * 3. Scale them to the workload on the command line and price them with the dated table in
 *    `bin/cost/prices.ts`. Beside our bill: the same workload on AppSync Events, and on this stack
 *    without its optimisations.
 *
 *   npm run cost
 *   npm run cost -- --connections 1000 --connected-hours-per-day 8 --events-per-day 20000 \
 *                   --audience-share 0.2 --recipients 50 --tenants 10
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, Handler, Route, ServerMessageType } from '../lambdas/contract/index.js';
import { DEFAULT_MEMORY_MB, FUNCTION_MEMORY_MB as DEPLOYED_MEMORY_MB } from '../lib/constructs/function-bundle.js';
import { type DynamoMeter, startDynamoMeter, type Usage } from './cost/dynamo-meter.js';
import {
  appSyncEventsBill,
  type Bill,
  biggestLever,
  DEFAULT_WORKLOAD,
  monthlyCounts,
  ourBill,
  type Profile,
  type UnitCost,
  unoptimisedBill,
  type Workload,
  zeroCost,
} from './cost/model.js';
import { PRICES_AS_OF, PRICES_REGION } from './cost/prices.js';
import { localTableNames } from './local/defaults.js';
import type { UsageSnapshot } from './local/usage.js';
import { USAGE_PATH } from './local/usage.js';
import {
  authedClient,
  entry,
  putEvents,
  type Runtime,
  settled,
  startDynamoProcess,
  startRuntime,
} from './tools/harness.js';
import type { Client } from './tools/ws-client.js';

/** The function a Lambda-backed `ping` route would have (the stack serves it with a MOCK). */
const UNOPTIMISED_PING_FUNCTION = 'ping';

/**
 * Memory settings of the deployed functions (MB), from the stack's own constants, plus the `ping`
 * function the unoptimised comparison prices (it is no longer deployed: `ping` is a MOCK route).
 */
export const FUNCTION_MEMORY_MB: Record<string, number> = {
  ...DEPLOYED_MEMORY_MB,
  [UNOPTIMISED_PING_FUNCTION]: DEFAULT_MEMORY_MB,
};

const STAGE = 'cost';
const SESSIONS = 20;
const PINGS_PER_SESSION = 5;
const EVENTS = 20;
const SMALL_TENANT = 5;
const LARGE_TENANT = 25;

interface Measured {
  usage: UsageSnapshot;
  dynamo: Usage;
}

async function measure(rt: Runtime, meter: DynamoMeter, work: () => Promise<void>): Promise<Measured> {
  await settled(rt);
  await fetch(`${rt.managementUrl}${USAGE_PATH}`, { method: 'DELETE' }).then((r) => r.text());
  meter.reset();
  await work();
  await settled(rt);
  const usage = (await (await fetch(`${rt.managementUrl}${USAGE_PATH}`)).json()) as UsageSnapshot;
  return { usage, dynamo: meter.usage() };
}

/** `tenant-realtime-cost-auth` → `auth`; table names → `connections` / `events` (+ `/index`). */
function toUnitCost(m: Measured, per: number): UnitCost {
  const tables = localTableNames(STAGE);
  const tableLabel = (name: string) => name.replace(tables.connections, 'connections').replace(tables.events, 'events');
  const cost = zeroCost();
  cost.wsMessages = (m.usage.wsMessagesIn + m.usage.wsMessagesOut) / per;
  cost.eventBridgeEvents = m.usage.eventBridgeEvents / per;
  for (const [fn, l] of Object.entries(m.usage.lambda)) {
    cost.lambda[fn.slice(fn.lastIndexOf('-') + 1)] = { invocations: l.invocations / per, ms: l.ms / per };
  }
  for (const [name, u] of Object.entries(m.dynamo))
    cost.dynamo[tableLabel(name)] = { read: u.read / per, write: u.write / per };
  return cost;
}

/** `a − b`, component by component (for the per-recipient slope). */
function minus(a: UnitCost, b: UnitCost, divisor: number): UnitCost {
  const out = zeroCost();
  out.wsMessages = (a.wsMessages - b.wsMessages) / divisor;
  out.eventBridgeEvents = (a.eventBridgeEvents - b.eventBridgeEvents) / divisor;
  for (const fn of new Set([...Object.keys(a.lambda), ...Object.keys(b.lambda)])) {
    const x = a.lambda[fn] ?? { invocations: 0, ms: 0 };
    const y = b.lambda[fn] ?? { invocations: 0, ms: 0 };
    out.lambda[fn] = {
      invocations: (x.invocations - y.invocations) / divisor,
      ms: Math.max(0, (x.ms - y.ms) / divisor),
    };
  }
  for (const t of new Set([...Object.keys(a.dynamo), ...Object.keys(b.dynamo)])) {
    const x = a.dynamo[t] ?? { read: 0, write: 0 };
    const y = b.dynamo[t] ?? { read: 0, write: 0 };
    out.dynamo[t] = {
      read: Math.max(0, (x.read - y.read) / divisor),
      write: Math.max(0, (x.write - y.write) / divisor),
    };
  }
  return out;
}

/** `cost × n`, component by component. */
function times(cost: UnitCost, n: number): UnitCost {
  return {
    wsMessages: cost.wsMessages * n,
    eventBridgeEvents: cost.eventBridgeEvents * n,
    httpRequests: cost.httpRequests * n,
    lambda: Object.fromEntries(
      Object.entries(cost.lambda).map(([k, v]) => [k, { invocations: v.invocations * n, ms: v.ms * n }]),
    ),
    dynamo: Object.fromEntries(
      Object.entries(cost.dynamo).map(([k, v]) => [k, { read: v.read * n, write: v.write * n }]),
    ),
  };
}

async function tenantFleet(rt: Runtime, tenant: string, n: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => authedClient(rt, { tenant, user: `u${i}`, ttl: 3600 })));
}

async function emitAndReceive(rt: Runtime, fleet: Client[], tenant: string, count: number): Promise<void> {
  const before = fleet.map((c) => c.events().length);
  for (let i = 0; i < count; i++) {
    await putEvents(rt, [entry('goal.updated', { tenantId: tenant, goalId: `g${i}`, title: 'a typical event' })]);
  }
  await Promise.all(
    fleet.map((c, i) => c.waitFor(() => c.events().length >= (before[i] ?? 0) + count, 15_000, 'events')),
  );
}

export async function measureProfile(): Promise<{ profile: Profile; pingMs: number; connectionItemBytes: number }> {
  const dynamo = await startDynamoProcess();
  const tables = localTableNames(STAGE);
  const meter = await startDynamoMeter({
    upstream: dynamo.endpoint,
    tables: { [tables.connections]: CONNECTIONS_TABLE, [tables.events]: EVENT_LOG_TABLE },
  });
  const rt = await startRuntime(
    { STAGE, DYNAMODB_ENDPOINT: meter.endpoint, SWEEP_INTERVAL_SECONDS: '0', POWERTOOLS_LOG_LEVEL: 'WARN' },
    { quiet: true },
  );
  try {
    // Sessions: connect, auth, subscribe, resume from the auth reply's point, disconnect.
    let sessions: Client[] = [];
    const open = await measure(rt, meter, async () => {
      sessions = await tenantFleet(rt, 'cost-sessions', SESSIONS);
      for (const c of sessions) {
        await c.request({ action: Route.subscribe, eventTypes: ['goal.*'] }, [ServerMessageType.subscribeSuccess]);
        await c.request({ action: Route.resume, lastEventId: 'evt_none' }, [
          ServerMessageType.resumeError,
          ServerMessageType.resumeSuccess,
        ]);
      }
    });
    const pings = await measure(rt, meter, async () => {
      for (const c of sessions)
        for (let i = 0; i < PINGS_PER_SESSION; i++) await c.request({ action: Route.ping }, [ServerMessageType.pong]);
    });
    const close = await measure(rt, meter, async () => {
      await Promise.all(sessions.map((c) => c.closeAndWait()));
      // `$disconnect` runs after the socket closes: wait (bounded) until every one has been invoked.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = (await (await fetch(`${rt.managementUrl}${USAGE_PATH}`)).json()) as UsageSnapshot;
        const done = Object.entries(now.lambda).find(([fn]) => fn.endsWith(`-${Handler.disconnect}`))?.[1];
        if ((done?.invocations ?? 0) >= SESSIONS) break;
        if (Date.now() > deadline)
          throw new Error(`only ${done?.invocations ?? 0} of ${SESSIONS} $disconnect calls ran`);
        await sleep(50);
      }
    });

    // Events to two tenant sizes: cost(n) = event + n × delivery.
    const small = await tenantFleet(rt, 'cost-small', SMALL_TENANT);
    const large = await tenantFleet(rt, 'cost-large', LARGE_TENANT);
    const toSmall = toUnitCost(await measure(rt, meter, () => emitAndReceive(rt, small, 'cost-small', EVENTS)), EVENTS);
    const toLarge = toUnitCost(await measure(rt, meter, () => emitAndReceive(rt, large, 'cost-large', EVENTS)), EVENTS);
    await Promise.all([...small, ...large].map((c) => c.closeAndWait()));

    const delivery = minus(toLarge, toSmall, LARGE_TENANT - SMALL_TENANT);
    // The part of an event that does not depend on its recipients: cost(small) − small × delivery.
    const event = minus(toSmall, times(delivery, SMALL_TENANT), 1);
    const session = toUnitCost(
      { usage: mergeUsage(open.usage, close.usage), dynamo: mergeDynamo(open.dynamo, close.dynamo) },
      SESSIONS,
    );
    const ping = toUnitCost(pings, SESSIONS * PINGS_PER_SESSION);
    const pingFn = ping.lambda[UNOPTIMISED_PING_FUNCTION];
    return {
      profile: { session, ping, event, delivery },
      pingMs: pingFn ? pingFn.ms : 1,
      connectionItemBytes: 300,
    };
  } finally {
    await rt.stop();
    await meter.close();
    await dynamo.stop();
  }
}

function mergeUsage(a: UsageSnapshot, b: UsageSnapshot): UsageSnapshot {
  const lambda = structuredClone(a.lambda);
  for (const [fn, l] of Object.entries(b.lambda)) {
    const t = (lambda[fn] ??= { invocations: 0, ms: 0 });
    t.invocations += l.invocations;
    t.ms += l.ms;
  }
  return {
    wsMessagesIn: a.wsMessagesIn + b.wsMessagesIn,
    wsMessagesOut: a.wsMessagesOut + b.wsMessagesOut,
    eventBridgeEvents: a.eventBridgeEvents + b.eventBridgeEvents,
    lambda,
  };
}

function mergeDynamo(a: Usage, b: Usage): Usage {
  const out = structuredClone(a);
  for (const [t, u] of Object.entries(b)) {
    const x = (out[t] ??= { read: 0, write: 0 });
    x.read += u.read;
    x.write += u.write;
  }
  return out;
}

const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;
const qty = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);

function table(title: string, bill: Bill): string[] {
  const rows = bill.lines.filter((l) => l.usd >= 0.005 || l.quantity > 0);
  const width = Math.max(...rows.map((l) => l.component.length), 10);
  return [
    `\n${title}`,
    `| ${'component'.padEnd(width)} | ${'quantity / month'.padStart(16)} | ${'USD / month'.padStart(11)} |`,
    `|${'-'.repeat(width + 2)}|${'-'.repeat(18)}|${'-'.repeat(13)}|`,
    ...rows.map(
      (l) => `| ${l.component.padEnd(width)} | ${qty(l.quantity).padStart(16)} | ${usd(l.usd).padStart(11)} |`,
    ),
    `| ${'total'.padEnd(width)} | ${''.padStart(16)} | ${usd(bill.totalUsd).padStart(11)} |`,
  ];
}

export function workloadFromArgs(args: string[]): Workload {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      connections: { type: 'string' },
      'connected-hours-per-day': { type: 'string' },
      tenants: { type: 'string' },
      'events-per-day': { type: 'string' },
      'audience-share': { type: 'string' },
      recipients: { type: 'string' },
      'drops-per-hour': { type: 'string' },
      'polling-clients': { type: 'string' },
    },
  });
  const num = (name: keyof typeof values, fallback: number, min: number, max: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be a number in ${min}..${max}, got "${raw}"`);
    return n;
  };
  const w = DEFAULT_WORKLOAD;
  return {
    ...w,
    connections: num('connections', w.connections, 1, 10_000_000),
    connectedHoursPerDay: num('connected-hours-per-day', w.connectedHoursPerDay, 0, 24),
    tenants: num('tenants', w.tenants, 1, 10_000_000),
    eventsPerDay: num('events-per-day', w.eventsPerDay, 0, 1e10),
    audienceShare: num('audience-share', w.audienceShare, 0, 1),
    recipients: num('recipients', w.recipients, 0, 10_000_000),
    dropsPerHour: num('drops-per-hour', w.dropsPerHour, 0, 60),
    pollingClients: num('polling-clients', w.pollingClients, 0, 10_000_000),
  };
}

async function main(): Promise<void> {
  let workload: Workload;
  try {
    workload = workloadFromArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`npm run cost: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  console.log('Measuring unit costs on the local runtime (loopback, about 20 s)…');
  const { profile, pingMs, connectionItemBytes } = await measureProfile();
  const counts = monthlyCounts(workload);
  const ours = ourBill(profile, workload, FUNCTION_MEMORY_MB);
  const lines = [
    `\nWorkload: ${workload.connections} connections × ${workload.connectedHoursPerDay} h/day, ${workload.tenants} tenants, ` +
      `${workload.eventsPerDay} events/day (${workload.audienceShare * 100}% to an audience of ${workload.recipients}), ` +
      `${workload.dropsPerHour} drops per connection-hour, ${workload.daysPerMonth} days.`,
    `Per month: ${qty(counts.sessions)} sessions, ${qty(counts.pings)} pings, ${qty(counts.events)} events, ` +
      `${qty(counts.deliveries)} deliveries, ${qty(counts.connectionMinutes)} connection-minutes.`,
    `Measured per operation: session ${profile.session.wsMessages.toFixed(1)} messages, ping ${profile.ping.wsMessages.toFixed(1)}, ` +
      `delivery ${profile.delivery.wsMessages.toFixed(2)}; broadcaster ${(profile.event.lambda[Handler.broadcaster]?.ms ?? 0).toFixed(1)} ms per event ` +
      `+ ${(profile.delivery.lambda[Handler.broadcaster]?.ms ?? 0).toFixed(3)} ms per recipient (local wall clock).`,
    `Prices: ${PRICES_REGION}, as of ${PRICES_AS_OF} (bin/cost/prices.ts).`,
    ...table('This stack', ours),
    ...table('AppSync Events, same workload', appSyncEventsBill(workload)),
    ...table(
      'This stack without its optimisations (ping through a Lambda, a table scan per event)',
      unoptimisedBill(profile, workload, FUNCTION_MEMORY_MB, {
        pingFunction: UNOPTIMISED_PING_FUNCTION,
        pingMs,
        connectionsTable: 'connections',
        connectionItemBytes,
      }),
    ),
  ];
  const levers = biggestLever(profile, workload, FUNCTION_MEMORY_MB);
  lines.push(
    "\nWhat doubling each lever adds to this stack's bill:",
    ...levers.map((l) => `  ${l.lever.padEnd(22)} ${l.deltaUsd >= 0 ? '+' : '−'}${usd(Math.abs(l.deltaUsd))}`),
  );
  console.log(lines.join('\n'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
