/**
 * The monthly bill, from measured operation counts: `npm run cost` measures what one connection
 * session, one ping, one event and one delivery cost on the local runtime (messages, Lambda
 * invocations and milliseconds, DynamoDB request units, EventBridge events), then this module
 * scales those unit costs to a workload and prices them. Pure: no I/O.
 */
import { PRICES, type Price, priced } from './prices.js';

/** What one operation costs, in billable units, as measured. */
export interface UnitCost {
  /** WebSocket messages, both directions, in 32 KB units. */
  wsMessages: number;
  /** Lambda invocations and billed milliseconds, by function. */
  lambda: Record<string, { invocations: number; ms: number }>;
  /** DynamoDB request units, by table or `table/index`. */
  dynamo: Record<string, { read: number; write: number }>;
  eventBridgeEvents: number;
  httpRequests: number;
}

export const zeroCost = (): UnitCost => ({
  wsMessages: 0,
  lambda: {},
  dynamo: {},
  eventBridgeEvents: 0,
  httpRequests: 0,
});

/** The measured unit costs of the system's operations. */
export interface Profile {
  /** One connection's life: connect, auth, subscribe, resume, disconnect (no pings, no events). */
  session: UnitCost;
  /** One client ping and its pong. */
  ping: UnitCost;
  /** One event, apart from its deliveries: PutEvents, broadcaster start, log append, recipient read. */
  event: UnitCost;
  /** One more recipient of an event. */
  delivery: UnitCost;
  /** One `GET /events` poll, if the HTTP API exists. */
  poll?: UnitCost;
}

export interface Workload {
  /** Connections open at once while users are online (one per user with a shared connection). */
  connections: number;
  connectedHoursPerDay: number;
  tenants: number;
  eventsPerDay: number;
  /** Share of events sent to an `audience` (some users) instead of the whole tenant. */
  audienceShare: number;
  /** Recipients of an audience event. */
  recipients: number;
  /** Unexpected drops per connection-hour, each one a reconnect with resume (2-hour rotations are added). */
  dropsPerHour: number;
  /** Clients that poll `GET /events` instead of holding a socket, and their interval. */
  pollingClients: number;
  pollIntervalSeconds: number;
  pingIntervalMinutes: number;
  daysPerMonth: number;
}

export const DEFAULT_WORKLOAD: Workload = {
  connections: 1000,
  connectedHoursPerDay: 8,
  tenants: 10,
  eventsPerDay: 20_000,
  audienceShare: 0.2,
  recipients: 50,
  dropsPerHour: 0.1,
  pollingClients: 0,
  pollIntervalSeconds: 5,
  pingIntervalMinutes: 8,
  daysPerMonth: 30,
};

/** Monthly operation counts that follow from a workload. */
export interface MonthlyCounts {
  sessions: number;
  pings: number;
  events: number;
  deliveries: number;
  polls: number;
  connectionMinutes: number;
}

export function monthlyCounts(w: Workload, maxConnectionHours = 2): MonthlyCounts {
  const connectionHours = w.connections * w.connectedHoursPerDay * w.daysPerMonth;
  // A session lasts until a drop or the platform's 2-hour limit, whichever comes first.
  const sessions = connectionHours * (1 / maxConnectionHours + w.dropsPerHour);
  const perTenant = w.connections / Math.max(1, w.tenants);
  const recipientsPerEvent = (1 - w.audienceShare) * perTenant + w.audienceShare * Math.min(w.recipients, perTenant);
  const events = w.eventsPerDay * w.daysPerMonth;
  return {
    sessions,
    pings: (connectionHours * 60) / w.pingIntervalMinutes,
    events,
    deliveries: events * recipientsPerEvent,
    polls: (w.pollingClients * w.connectedHoursPerDay * 3600 * w.daysPerMonth) / w.pollIntervalSeconds,
    connectionMinutes: connectionHours * 60,
  };
}

export interface Line {
  component: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface Bill {
  lines: Line[];
  totalUsd: number;
}

function scaled(total: UnitCost, unit: UnitCost, times: number): void {
  total.wsMessages += unit.wsMessages * times;
  total.eventBridgeEvents += unit.eventBridgeEvents * times;
  total.httpRequests += unit.httpRequests * times;
  for (const [fn, l] of Object.entries(unit.lambda)) {
    const t = (total.lambda[fn] ??= { invocations: 0, ms: 0 });
    t.invocations += l.invocations * times;
    t.ms += l.ms * times;
  }
  for (const [table, d] of Object.entries(unit.dynamo)) {
    const t = (total.dynamo[table] ??= { read: 0, write: 0 });
    t.read += d.read * times;
    t.write += d.write * times;
  }
}

/** The month's billable units: the profile's unit costs times the workload's counts. */
export function monthlyUsage(profile: Profile, counts: MonthlyCounts): UnitCost {
  const total = zeroCost();
  scaled(total, profile.session, counts.sessions);
  scaled(total, profile.ping, counts.pings);
  scaled(total, profile.event, counts.events);
  scaled(total, profile.delivery, counts.deliveries);
  if (profile.poll) scaled(total, profile.poll, counts.polls);
  return total;
}

const line = (component: string, price: Price, quantity: number): Line => ({
  component,
  quantity,
  unit: price.unit,
  usd: priced(price, quantity),
});

/** Prices a month of usage; `memoryMb` gives each function's memory setting. */
export function priceUsage(usage: UnitCost, connectionMinutes: number, memoryMb: Record<string, number>): Bill {
  const lines: Line[] = [
    line('API Gateway WebSocket: messages', PRICES.wsMessages, usage.wsMessages),
    line('API Gateway WebSocket: connection-minutes', PRICES.wsConnectionMinutes, connectionMinutes),
  ];
  if (usage.httpRequests > 0)
    lines.push(line('API Gateway HTTP API: requests', PRICES.httpRequests, usage.httpRequests));
  for (const [fn, l] of Object.entries(usage.lambda).sort(([a], [b]) => a.localeCompare(b))) {
    const mb = memoryMb[fn];
    if (mb === undefined) throw new Error(`no memory setting for function "${fn}"`);
    lines.push(line(`Lambda ${fn}: requests`, PRICES.lambdaRequests, l.invocations));
    lines.push(line(`Lambda ${fn}: compute`, PRICES.lambdaGbSecondsArm, (l.ms / 1000) * (mb / 1024)));
  }
  for (const [table, d] of Object.entries(usage.dynamo).sort(([a], [b]) => a.localeCompare(b))) {
    if (d.write > 0) lines.push(line(`DynamoDB ${table}: writes`, PRICES.dynamoWriteUnits, d.write));
    if (d.read > 0) lines.push(line(`DynamoDB ${table}: reads`, PRICES.dynamoReadUnits, d.read));
  }
  lines.push(line('EventBridge: events', PRICES.eventBridgeEvents, usage.eventBridgeEvents));
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0) };
}

/** This system's bill for a workload. */
export function ourBill(profile: Profile, w: Workload, memoryMb: Record<string, number>): Bill {
  const counts = monthlyCounts(w);
  return priceUsage(monthlyUsage(profile, counts), counts.connectionMinutes, memoryMb);
}

/**
 * AppSync Events for the same workload: one operation per connect, per subscribe, per publish
 * and per message delivered (each in 5 KB units; the envelopes here are below 5 KB), and its
 * connection-minutes. Its keep-alive is the service's own and unbilled; events are published
 * over HTTP. Authorization with Cognito/OIDC has no per-request cost.
 */
export function appSyncEventsBill(w: Workload): Bill {
  const counts = monthlyCounts(w);
  const operations = counts.sessions * 2 + counts.events + counts.deliveries;
  const lines = [
    line('AppSync Events: operations', PRICES.appSyncEventsOperations, operations),
    line('AppSync Events: connection-minutes', PRICES.appSyncEventsConnectionMinutes, counts.connectionMinutes),
  ];
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0) };
}

/**
 * The same stack without its optimisations, the way the AWS samples build it: every ping is a
 * Lambda invocation (not a mock integration), and every event scans the whole connections table
 * instead of querying one tenant's or one user's index (`connectionItemUnits` read units per
 * connection record scanned, eventually consistent).
 */
export function unoptimisedBill(
  profile: Profile,
  w: Workload,
  memoryMb: Record<string, number>,
  options: { pingFunction: string; pingMs: number; connectionsTable: string; connectionItemBytes: number },
): Bill {
  const counts = monthlyCounts(w);
  const usage = monthlyUsage(
    {
      ...profile,
      ping: {
        ...profile.ping,
        lambda: { ...profile.ping.lambda, [options.pingFunction]: { invocations: 1, ms: options.pingMs } },
      },
      event: {
        ...profile.event,
        dynamo: {
          ...Object.fromEntries(Object.entries(profile.event.dynamo).filter(([name]) => !name.includes('/'))),
          [options.connectionsTable]: {
            read: Math.ceil((w.connections * options.connectionItemBytes) / 4096) / 2,
            write: profile.event.dynamo[options.connectionsTable]?.write ?? 0,
          },
        },
      },
    },
    counts,
  );
  return priceUsage(usage, counts.connectionMinutes, memoryMb);
}

/** Which single workload lever moves our bill the most when doubled (and by how much). */
export function biggestLever(
  profile: Profile,
  w: Workload,
  memoryMb: Record<string, number>,
): { lever: keyof Workload; deltaUsd: number }[] {
  const base = ourBill(profile, w, memoryMb).totalUsd;
  const levers: (keyof Workload)[] = [
    'connections',
    'connectedHoursPerDay',
    'eventsPerDay',
    'audienceShare',
    'recipients',
    'tenants',
    'dropsPerHour',
  ];
  return levers
    .map((lever) => {
      const doubled = { ...w, [lever]: lever === 'audienceShare' ? Math.min(1, w[lever] * 2) : w[lever] * 2 };
      return { lever, deltaUsd: ourBill(profile, doubled, memoryMb).totalUsd - base };
    })
    .sort((a, b) => Math.abs(b.deltaUsd) - Math.abs(a.deltaUsd));
}
