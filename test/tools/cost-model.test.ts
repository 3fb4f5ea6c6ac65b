import { describe, expect, it } from 'vitest';
import {
  appSyncEventsBill,
  biggestLever,
  DEFAULT_WORKLOAD,
  monthlyCounts,
  monthlyUsage,
  ourBill,
  type Profile,
  priceUsage,
  unoptimisedBill,
  zeroCost,
} from '../../bin/cost/model.js';
import { PRICES, priced } from '../../bin/cost/prices.js';

const profile: Profile = {
  session: {
    ...zeroCost(),
    wsMessages: 6,
    lambda: { connect: { invocations: 1, ms: 20 }, auth: { invocations: 1, ms: 30 } },
    dynamo: { connections: { read: 0, write: 4 } },
  },
  ping: { ...zeroCost(), wsMessages: 2 },
  event: {
    ...zeroCost(),
    eventBridgeEvents: 1,
    lambda: { broadcaster: { invocations: 1, ms: 10 } },
    dynamo: { events: { read: 0, write: 2 }, 'connections/byTenant': { read: 0.5, write: 0 } },
  },
  delivery: { ...zeroCost(), wsMessages: 1, lambda: { broadcaster: { invocations: 0, ms: 0.1 } } },
};
const memory = { connect: 256, auth: 256, broadcaster: 1024, ping: 256 };

describe('monthlyCounts', () => {
  it('derives sessions, pings, deliveries and connection-minutes from the workload', () => {
    const c = monthlyCounts(DEFAULT_WORKLOAD);
    const connectionHours = 1000 * 8 * 30;
    expect(c.connectionMinutes).toBe(connectionHours * 60);
    expect(c.pings).toBe((connectionHours * 60) / 8);
    expect(c.sessions).toBeCloseTo(connectionHours * (0.5 + 0.1));
    // 100 connections per tenant: 80 % of events reach 100, 20 % reach 50.
    expect(c.deliveries).toBeCloseTo(20_000 * 30 * (0.8 * 100 + 0.2 * 50));
  });
  it('never counts more audience recipients than the tenant has', () => {
    const c = monthlyCounts({ ...DEFAULT_WORKLOAD, tenants: 100, audienceShare: 1, recipients: 50 });
    expect(c.deliveries).toBeCloseTo(20_000 * 30 * 10);
  });
});

describe('pricing', () => {
  it('prices every component from the dated table and adds them up', () => {
    const counts = monthlyCounts(DEFAULT_WORKLOAD);
    const usage = monthlyUsage(profile, counts);
    const bill = priceUsage(usage, counts.connectionMinutes, memory);
    const messages = bill.lines.find((l) => l.component === 'API Gateway WebSocket: messages');
    expect(messages?.quantity).toBeCloseTo(counts.sessions * 6 + counts.pings * 2 + counts.deliveries);
    expect(messages?.usd).toBeCloseTo(priced(PRICES.wsMessages, messages?.quantity ?? 0));
    const compute = bill.lines.find((l) => l.component === 'Lambda broadcaster: compute');
    expect(compute?.quantity).toBeCloseTo(((counts.events * 10 + counts.deliveries * 0.1) / 1000) * 1);
    expect(bill.totalUsd).toBeCloseTo(bill.lines.reduce((s, l) => s + l.usd, 0));
    expect(ourBill(profile, DEFAULT_WORKLOAD, memory).totalUsd).toBeCloseTo(bill.totalUsd);
  });
  it('fails loudly when a function has no memory setting', () => {
    expect(() => ourBill(profile, DEFAULT_WORKLOAD, { connect: 256 })).toThrow(/auth/);
  });
  it('prices AppSync Events by operations and its cheaper connection-minutes', () => {
    const counts = monthlyCounts(DEFAULT_WORKLOAD);
    const bill = appSyncEventsBill(DEFAULT_WORKLOAD);
    expect(bill.lines[0]?.quantity).toBeCloseTo(counts.sessions * 2 + counts.events + counts.deliveries);
    expect(bill.lines[1]?.usd).toBeCloseTo((counts.connectionMinutes / 1e6) * 0.08);
  });
  it('the unoptimised variant pays a Lambda per ping and a table scan per event', () => {
    const ours = ourBill(profile, DEFAULT_WORKLOAD, memory);
    const naive = unoptimisedBill(profile, DEFAULT_WORKLOAD, memory, {
      pingFunction: 'ping',
      pingMs: 5,
      connectionsTable: 'connections',
      connectionItemBytes: 300,
    });
    expect(naive.lines.some((l) => l.component === 'Lambda ping: requests')).toBe(true);
    expect(naive.lines.some((l) => l.component.includes('byTenant'))).toBe(false);
    expect(naive.totalUsd).toBeGreaterThan(ours.totalUsd);
  });
  it('names the lever that moves the bill most', () => {
    const levers = biggestLever(profile, DEFAULT_WORKLOAD, memory);
    expect(levers).toHaveLength(7);
    // Deliveries dominate this profile: doubling connections doubles both recipients and sessions.
    expect(levers[0]?.lever).toBe('connections');
    expect(levers[0]?.deltaUsd).toBeGreaterThan(0);
  });
});
