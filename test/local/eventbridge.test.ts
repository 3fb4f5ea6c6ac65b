import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../bin/local/defaults.js';
import { compilePattern } from '../../bin/local/event-pattern.js';
import {
  type EventBridgeOptions,
  entrySize,
  type LocalEventBridge,
  type LocalEventBridgeEvent,
  startEventBridge,
} from '../../bin/local/eventbridge.js';
import {
  broadcastEventPattern,
  EventBridgeEventSchema,
  MAX_PUT_EVENTS_ENTRY_BYTES,
} from '../../lambdas/contract/index.js';
import { memoryLog } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  bus: LocalEventBridge;
  client: EventBridgeClient;
  delivered: LocalEventBridgeEvent[];
}

async function harness(options: Partial<EventBridgeOptions> = {}): Promise<Harness> {
  const delivered: LocalEventBridgeEvent[] = [];
  const bus = await startEventBridge({
    host: '127.0.0.1',
    port: 0,
    pattern: broadcastEventPattern(),
    target: async (event) => {
      delivered.push(event);
      return { delivered: 1 };
    },
    baseDelayMs: 5,
    log: memoryLog(),
    ...options,
  });
  const client = new EventBridgeClient({
    endpoint: bus.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  cleanups.push(async () => {
    client.destroy();
    await bus.close();
  });
  return { bus, client, delivered };
}

function entry(
  tenantId: string | undefined,
  extra: Record<string, unknown> = {},
  overrides: Partial<PutEventsRequestEntry> = {},
): PutEventsRequestEntry {
  const detail = tenantId === undefined ? extra : { tenantId, ...extra };
  return { Source: 'app.test', DetailType: 'goal.created', Detail: JSON.stringify(detail), ...overrides };
}

describe('local EventBridge: PutEvents', () => {
  it('accepts entries with the real client and delivers the EventBridge event', async () => {
    const h = await harness();
    const out = await h.client.send(
      new PutEventsCommand({
        Entries: [entry('t1', { goalId: 'g1' }, { EventBusName: 'any-bus', Resources: ['arn:x'] })],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    const eventId = out.Entries?.[0]?.EventId;
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
    await h.bus.idle();
    const [event] = h.delivered;
    expect(EventBridgeEventSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      version: '0',
      id: eventId,
      'detail-type': 'goal.created',
      source: 'app.test',
      account: '000000000000',
      region: 'local',
      resources: ['arn:x'],
      detail: { tenantId: 't1', goalId: 'g1' },
    });
    expect(event?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(h.bus.invocations()).toEqual([
      {
        eventId,
        detailType: 'goal.created',
        tenantId: 't1',
        acceptedAt: expect.any(Number),
        invokedAt: expect.any(Number),
        attempts: 1,
        result: { delivered: 1 },
      },
    ]);
  });

  it('keeps the entry Time, at seconds precision', async () => {
    const h = await harness();
    await h.client.send(
      new PutEventsCommand({ Entries: [entry('t1', {}, { Time: new Date('2026-01-02T03:04:05.678Z') })] }),
    );
    await h.bus.idle();
    expect(h.delivered[0]?.time).toBe('2026-01-02T03:04:05Z');
  });

  it('reports per-entry errors in request order with FailedEntryCount', async () => {
    const h = await harness();
    const out = await h.client.send(
      new PutEventsCommand({
        Entries: [
          entry('t1'),
          { DetailType: 'goal.created', Detail: '{"tenantId":"t1"}' },
          { Source: 'app.test', Detail: '{"tenantId":"t1"}' },
          { Source: 'app.test', DetailType: 'goal.created' },
          { Source: 'app.test', DetailType: 'goal.created', Detail: '{not json' },
          { Source: 'app.test', DetailType: 'goal.created', Detail: '[1,2]' },
          entry('t1', { big: 'x'.repeat(MAX_PUT_EVENTS_ENTRY_BYTES) }),
          entry('t2'),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(6);
    const codes = out.Entries?.map((e) => e.ErrorCode ?? 'ok');
    expect(codes).toEqual([
      'ok',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'ok',
    ]);
    expect(out.Entries?.[1]?.ErrorMessage).toMatch(/Source/);
    expect(out.Entries?.[6]?.ErrorMessage).toMatch(/too large/);
    await h.bus.idle();
    expect(h.delivered.map((e) => e.detail.tenantId)).toEqual(['t1', 't2']);
  });

  it('rejects more than 10 entries with ValidationException', async () => {
    const h = await harness();
    const err = await h.client
      .send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry('t1')) }))
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('ValidationException');
    await h.bus.idle();
    expect(h.delivered).toHaveLength(0);
  });

  it('answers UnknownOperationException for other operations', async () => {
    const h = await harness();
    const res = await fetch(h.bus.url, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'AWSEvents.ListRules', 'Content-Type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });

  it('does not deliver events the rule pattern does not match (no detail.tenantId)', async () => {
    const h = await harness();
    const out = await h.client.send(
      new PutEventsCommand({ Entries: [entry(undefined, { goalId: 'g1' }), entry('t1')] }),
    );
    expect(out.FailedEntryCount).toBe(0);
    await h.bus.idle();
    expect(h.delivered.map((e) => e.detail.tenantId)).toEqual(['t1']);
  });

  it('filters on source when the rule names sources', async () => {
    const h = await harness({ pattern: broadcastEventPattern(['app.allowed']) });
    await h.client.send(
      new PutEventsCommand({
        Entries: [entry('t1', {}, { Source: 'app.other' }), entry('t1', {}, { Source: 'app.allowed' })],
      }),
    );
    await h.bus.idle();
    expect(h.delivered.map((e) => e.source)).toEqual(['app.allowed']);
  });
});

describe('local EventBridge: delivery', () => {
  it('delivers in put order per tenant, tenants in parallel', async () => {
    const order: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const h = await harness({
      target: async (event) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Earlier events of a tenant take longer: without per-tenant serialisation they would finish last.
        await sleep(40 - Number(event.detail.seq) * 5);
        order.push(`${String(event.detail.tenantId)}:${String(event.detail.seq)}`);
        inFlight -= 1;
      },
    });
    for (let seq = 0; seq < 4; seq += 1) {
      await h.client.send(new PutEventsCommand({ Entries: [entry('a', { seq }), entry('b', { seq })] }));
    }
    await h.bus.idle();
    expect(order.filter((o) => o.startsWith('a:'))).toEqual(['a:0', 'a:1', 'a:2', 'a:3']);
    expect(order.filter((o) => o.startsWith('b:'))).toEqual(['b:0', 'b:1', 'b:2', 'b:3']);
    expect(maxInFlight).toBe(2);
  });

  it('retries a failing target with backoff, then dead-letters the event', async () => {
    const calls: number[] = [];
    const h = await harness({
      attempts: 3,
      baseDelayMs: 20,
      target: async () => {
        calls.push(Date.now());
        throw new Error('broadcaster down');
      },
    });
    const out = await h.client.send(new PutEventsCommand({ Entries: [entry('t1', { goalId: 'g1' })] }));
    await h.bus.idle();
    expect(calls).toHaveLength(3);
    expect((calls[1] ?? 0) - (calls[0] ?? 0)).toBeGreaterThanOrEqual(15);
    expect((calls[2] ?? 0) - (calls[1] ?? 0)).toBeGreaterThanOrEqual(35);

    const dlq = (await (await fetch(`${h.bus.url}/_local/dlq`)).json()) as Array<{
      event: LocalEventBridgeEvent;
      error: string;
      attempts: number;
      failedAt: string;
    }>;
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      error: 'Error: broadcaster down',
      attempts: 3,
      event: { id: out.Entries?.[0]?.EventId, detail: { tenantId: 't1' } },
    });
    const invocations = (await (await fetch(`${h.bus.url}/_local/invocations`)).json()) as unknown[];
    expect(invocations).toEqual([
      {
        eventId: out.Entries?.[0]?.EventId,
        detailType: 'goal.created',
        tenantId: 't1',
        acceptedAt: expect.any(Number),
        invokedAt: expect.any(Number),
        attempts: 3,
        error: 'Error: broadcaster down',
      },
    ]);
  });

  it('succeeds on a retry without dead-lettering', async () => {
    let calls = 0;
    const h = await harness({
      target: async () => {
        calls += 1;
        if (calls === 1) throw new Error('transient');
        return 'ok';
      },
    });
    await h.client.send(new PutEventsCommand({ Entries: [entry('t1')] }));
    await h.bus.idle();
    expect(h.bus.deadLetters()).toEqual([]);
    expect(h.bus.invocations()[0]).toMatchObject({ attempts: 2, result: 'ok' });
  });

  it('GET /_local/idle waits for pending deliveries', async () => {
    let done = false;
    const h = await harness({
      target: async () => {
        await sleep(100);
        done = true;
      },
    });
    await h.client.send(new PutEventsCommand({ Entries: [entry('t1')] }));
    expect(done).toBe(false); // PutEvents answers before delivery
    const res = await fetch(`${h.bus.url}/_local/idle`);
    expect(await res.json()).toEqual({ idle: true, pending: 0 });
    expect(done).toBe(true);
  });

  it('GET /_local/idle?gateway=1 also waits for the gateway; without it, it does not', async () => {
    let release: () => void = () => undefined;
    let gatewayBusy = new Promise<void>((r) => {
      release = r;
    });
    const h = await harness({ gatewayIdle: () => gatewayBusy });
    expect(await (await fetch(`${h.bus.url}/_local/idle`)).json()).toEqual({ idle: true, pending: 0 });
    const waiting = fetch(`${h.bus.url}/_local/idle?gateway=1&timeoutMs=50`);
    expect((await waiting).status).toBe(504);
    gatewayBusy = Promise.resolve();
    release();
    const res = await fetch(`${h.bus.url}/_local/idle?gateway=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ idle: true, pending: 0 });
  });
});

describe('event pattern matcher and entry size', () => {
  it('matches exists and exact values like EventBridge', () => {
    const matches = compilePattern({
      source: ['a', 'b'],
      detail: { tenantId: [{ exists: true }], kind: ['x', 1, null], gone: [{ exists: false }] },
    });
    const base = { source: 'a', detail: { tenantId: 't', kind: 'x' } };
    expect(matches(base)).toBe(true);
    expect(matches({ ...base, source: 'c' })).toBe(false);
    expect(matches({ ...base, detail: { kind: 'x' } })).toBe(false);
    expect(matches({ ...base, detail: { tenantId: { nested: 1 }, kind: 'x' } })).toBe(false);
    expect(matches({ ...base, detail: { tenantId: 't', kind: ['y', 1] } })).toBe(true);
    expect(matches({ ...base, detail: { tenantId: 't', kind: null } })).toBe(true);
    expect(matches({ ...base, detail: { tenantId: 't', kind: 'x', gone: 1 } })).toBe(false);
    expect(() => compilePattern({ detail: { x: [{ prefix: 'a' }] } })).toThrow(/unsupported/);
  });

  it('computes entry sizes like EventBridge', () => {
    expect(entrySize({ Source: 'ab', DetailType: 'cd', Detail: '{"é":1}', Resources: ['r1'] })).toBe(2 + 2 + 8 + 2);
    expect(entrySize({ Time: 1, Source: 'a' })).toBe(15);
  });
});
