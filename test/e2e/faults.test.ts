/**
 * Fault injection end to end (LOCAL_FAULTS=1): the promises of the fan-out and of the event
 * pipeline under a misbehaving management API (410, 429, 500, latency) and an unavailable
 * DynamoDB, with real `ws` clients, the real EventBridge SDK client, and the runtime's
 * `/_local/faults`, `/_local/invocations` and `/_local/dlq` endpoints.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localTableNames } from '../../bin/local/defaults.js';
import type { FaultPlanJsonInput } from '../../bin/local/faults.js';
import { ConnectionAttr, EventLogAttr, eventIdMarkerKey } from '../../lambdas/contract/index.js';
import type { FanoutStats } from '../../lambdas/core/fanout.js';
import {
  authedClient,
  type Client,
  entry,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  tableClient,
} from './harness.js';

const STAGE = 'faults';

interface Conn {
  client: Client;
  /** The connection id from auth.success. */
  id: string;
  /** Arrival time (ms) of each domain event, by eventId. */
  arrivals: Map<string, number>;
}

interface Invocation {
  eventId: string;
  detailType: string;
  tenantId: string;
  attempts: number;
  result?: { status: string; eventId: string; stats: FanoutStats };
  error?: string;
}
interface DeadLetter {
  event: { id: string; 'detail-type': string; source: string; detail: Record<string, unknown> };
  error: string;
  attempts: number;
  failedAt: string;
}

describe('fault injection (LOCAL_FAULTS=1)', () => {
  let rt: Runtime;
  /** A second runtime, started without LOCAL_FAULTS. */
  let plain: Runtime;
  let db: DynamoDBDocumentClient;
  const tables = localTableNames(STAGE);
  const open: Client[] = [];
  /** Every event put in this file (EventBridge ids), to account for each at the end. */
  const putIds: string[] = [];
  const freshTenant = () => `tenant-${randomUUID().slice(0, 8)}`;

  const faultsUrl = () => `${rt.managementUrl}/_local/faults`;
  const setFaults = async (plan: FaultPlanJsonInput) => {
    const res = await fetch(faultsUrl(), { method: 'POST', body: JSON.stringify(plan) });
    expect(res.status).toBe(200);
    return (await res.json()) as FaultPlanJsonInput;
  };
  const getFaults = async () => (await (await fetch(faultsUrl())).json()) as FaultPlanJsonInput;
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const invocations = () => getJson<Invocation[]>(`${rt.eventsUrl}/_local/invocations`);
  const deadLetters = () => getJson<DeadLetter[]>(`${rt.eventsUrl}/_local/dlq`);
  const invocationOf = async (id: string) => {
    const found = (await invocations()).filter((i) => i.eventId === id);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  /** `n` authenticated clients of a tenant, recording when each domain event arrives. */
  const connectMany = async (tenant: string, n: number): Promise<Conn[]> =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const client = await authedClient(rt, { tenant, user: `u${i}` });
        open.push(client);
        const arrivals = new Map<string, number>();
        client.ws.on('message', (data) => {
          const at = Date.now();
          try {
            const eventId = (JSON.parse(data.toString()) as { eventId?: unknown }).eventId;
            if (typeof eventId === 'string' && !arrivals.has(eventId)) arrivals.set(eventId, at);
          } catch {
            // not JSON: not a domain event
          }
        });
        const auth = client.frames.find((f) => f.type === 'auth.success');
        return { client, id: String(auth?.data.connectionId), arrivals };
      }),
    );

  /** Puts one event, waits until the local EventBridge is idle (retries included); its EventBridge id. */
  const emit = async (tenantId: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const out = await putEvents(rt, [entry('goal.created', { tenantId, goalId: randomUUID(), ...extra })]);
    expect(out.FailedEntryCount).toBe(0);
    const id = out.Entries?.[0]?.EventId;
    expect(id).toBeTypeOf('string');
    putIds.push(id!);
    await settled(rt);
    return id!;
  };

  const received = (c: Conn, id: string) => c.client.events().filter((f) => f.eventId === `evt_${id}`);
  /** Every client got the event exactly once. */
  const expectDeliveredOnce = async (conns: Conn[], id: string) => {
    for (const c of conns) await c.client.waitFor((f) => f.eventId === `evt_${id}`, 5_000, `evt_${id} on ${c.id}`);
    for (const c of conns) expect(received(c, id)).toHaveLength(1);
  };
  const connectionRecord = async (id: string) =>
    (
      await db.send(
        new GetCommand({
          TableName: tables.connections,
          Key: { [ConnectionAttr.connectionId]: id },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const loggedMarker = async (tenantId: string, id: string) =>
    (
      await db.send(
        new GetCommand({
          TableName: tables.events,
          Key: { [EventLogAttr.tenantId]: tenantId, [EventLogAttr.sk]: eventIdMarkerKey(`evt_${id}`) },
          ConsistentRead: true,
        }),
      )
    ).Item;
  /** The fault proxy the runtime announced on start-up. */
  const proxyStats = async () => {
    const url = /fault proxy (http:\/\/\S+)/.exec(rt.output())?.[1];
    expect(url).toBeDefined();
    return getJson<{
      requests: number;
      injected: number;
      operations: Record<string, { requests: number; injected: number }>;
    }>(`${url}/_local/stats`);
  };

  beforeAll(async () => {
    // Both runtimes at once; LOCAL_FAULTS='' keeps a LOCAL_FAULTS=1 from the shell out of `plain`.
    [rt, plain] = await Promise.all([
      startRuntime({ STAGE, LOCAL_FAULTS: '1', SWEEP_INTERVAL_SECONDS: '3600' }),
      startRuntime({ STAGE: 'nofaults', LOCAL_FAULTS: '', SWEEP_INTERVAL_SECONDS: '3600' }),
    ]);
    // Straight to DynamoDB (dynalite): never behind the fault proxy.
    db = tableClient(rt);
  });
  afterEach(async () => {
    const res = await fetch(faultsUrl(), { method: 'DELETE' });
    expect(res.status).toBe(200);
    await res.text();
  });
  afterAll(async () => {
    for (const c of open) c.close();
    db?.destroy();
    await Promise.all([rt?.stop(), plain?.stop()]);
  });

  it('410 for some live connections: the others all receive, the gone records are removed and counted', async () => {
    const tenant = freshTenant();
    const conns = await connectMany(tenant, 8);
    const gone = conns.slice(0, 3);
    const healthy = conns.slice(3);
    for (const c of gone) expect(await connectionRecord(c.id)).toMatchObject({ tenantId: tenant });
    await setFaults({ goneIds: gone.map((c) => c.id) });

    const id = await emit(tenant);

    await expectDeliveredOnce(healthy, id);
    for (const c of gone) {
      expect(received(c, id)).toHaveLength(0);
      expect(await connectionRecord(c.id)).toBeUndefined();
    }
    for (const c of healthy) expect(await connectionRecord(c.id)).toBeDefined();
    const { result } = await invocationOf(id);
    expect(result?.stats).toMatchObject({ recipients: 8, delivered: 5, gone: 3, failed: 0 });
  });

  it('a burst of 429s: every client receives the event exactly once, after retries', async () => {
    const tenant = freshTenant();
    const conns = await connectMany(tenant, 30);
    await setFaults({ throttleNext: 20 });

    const id = await emit(tenant);

    await expectDeliveredOnce(conns, id);
    const { result, attempts } = await invocationOf(id);
    expect(attempts).toBe(1); // retried inside the fan-out, not by EventBridge
    expect(result?.stats).toMatchObject({ recipients: 30, delivered: 30, failed: 0, gone: 0 });
    expect(result!.stats.retries).toBeGreaterThanOrEqual(1);
    // Every 429 answered one post, and none failed: each was retried.
    expect(result!.stats.retries).toBe(20);
    expect((await getFaults()).throttleNext).toBe(0);
  });

  it('a burst of 500s is retried and delivered to all', async () => {
    const tenant = freshTenant();
    const conns = await connectMany(tenant, 12);
    await setFaults({ errorNext: 10 });

    const id = await emit(tenant);

    await expectDeliveredOnce(conns, id);
    const { result } = await invocationOf(id);
    expect(result?.stats).toMatchObject({ recipients: 12, delivered: 12, failed: 0, retries: 10 });
    expect((await getFaults()).errorNext).toBe(0);
  });

  it('a connection answering 500 forever is counted failed (and kept); all others receive', async () => {
    const tenant = freshTenant();
    const conns = await connectMany(tenant, 6);
    const [broken, ...others] = conns;
    await setFaults({ errorIds: [broken!.id] });

    const id = await emit(tenant);

    await expectDeliveredOnce(others, id);
    expect(received(broken!, id)).toHaveLength(0);
    const { result } = await invocationOf(id);
    // Five attempts for the broken one: four retries.
    expect(result?.stats).toMatchObject({ recipients: 6, delivered: 5, failed: 1, gone: 0, retries: 4 });
    // A failing connection is not a gone one: its record stays.
    expect(await connectionRecord(broken!.id)).toBeDefined();
  });

  it('a delivery that fails for good is recovered: live, or the server closes the connection and resume returns it', async () => {
    // Prepare: the client has E0; then every management call on its connection fails.
    const tenant = freshTenant();
    const [c] = await connectMany(tenant, 1);
    const e0 = await emit(tenant);
    await c!.client.waitFor((f) => f.eventId === `evt_${e0}`);
    await setFaults({ errorIds: [c!.id] });

    // Act: E1 cannot be delivered (nor can the connection be closed); faults cleared; E2.
    const e1 = await emit(tenant);
    expect((await invocationOf(e1)).result?.stats).toMatchObject({ failed: 1, broken: 1 });
    await fetch(faultsUrl(), { method: 'DELETE' }).then((r) => r.text());
    const e2 = await emit(tenant);

    // Assess: E1 arrived live, or the server closed the connection (E2's fan-out retried the
    // close) and a resume from E0 — the last event received — returns E1.
    if (received(c!, e1).length === 0) {
      expect(await c!.client.waitClosed(5_000)).toBeGreaterThanOrEqual(1000);
      expect(received(c!, e2)).toHaveLength(0); // never E2 on the connection that missed E1
      expect((await invocationOf(e2)).result?.stats).toMatchObject({ closed: 1, delivered: 0 });
      const again = await authedClient(rt, { tenant, user: 'u0' });
      open.push(again);
      let cursor = `evt_${e0}`;
      for (let page = 0; page < 10; page++) {
        const reply = await again.request({ action: 'resume', lastEventId: cursor }, [
          'resume.success',
          'resume.error',
        ]);
        expect(reply.type).toBe('resume.success');
        if (!reply.data.more) break;
        cursor = String(reply.data.lastEventId);
      }
      const ids = new Set(again.events().map((f) => f.eventId));
      expect(ids.has(`evt_${e1}`)).toBe(true);
      expect(ids.has(`evt_${e2}`)).toBe(true);
    }
  });

  it('2 s latency on two connections does not hold the others back', async () => {
    const tenant = freshTenant();
    const conns = await connectMany(tenant, 20);
    const slow = conns.slice(0, 2);
    const fast = conns.slice(2);
    await setFaults({ latencyMs: Object.fromEntries(slow.map((c) => [c.id, 2000])) });

    const putAt = Date.now();
    const id = await emit(tenant);

    await expectDeliveredOnce(conns, id);
    const at = (c: Conn) => c.arrivals.get(`evt_${id}`)!;
    const firstSlow = Math.min(...slow.map(at));
    for (const c of fast) {
      expect(at(c)).toBeLessThan(firstSlow);
      expect(at(c) - putAt).toBeLessThan(1500); // generous: not held back by the 2 s ones
    }
    for (const c of slow) expect(at(c) - putAt).toBeGreaterThanOrEqual(1900);
    expect((await invocationOf(id)).result?.stats).toMatchObject({ delivered: 20, failed: 0, retries: 0 });
  });

  describe('DynamoDB unavailable during fan-out', () => {
    const variants: Array<[string, (t: typeof tables) => FaultPlanJsonInput, { logged: boolean }]> = [
      ['every operation', () => ({ dynamodb: { unavailable: true } }), { logged: false }],
      [
        'Query on the connections table only',
        (t) => ({ dynamodb: { unavailable: true, operations: ['Query'], tables: [t.connections] } }),
        { logged: true },
      ],
    ];

    it.each(variants)(
      '%s: retried, then dead-lettered with its detail and error; later events flow again',
      async (_name, plan, expected) => {
        const tenant = freshTenant();
        const conns = await connectMany(tenant, 3);
        const statsBefore = await proxyStats();
        const dlqBefore = (await deadLetters()).length;
        await setFaults(plan(tables));

        const goalId = `lost-${randomUUID().slice(0, 8)}`;
        const failedId = await emit(tenant, { goalId });

        // Not delivered, and not lost: dead-lettered with the original event and the error.
        for (const c of conns) expect(received(c, failedId)).toHaveLength(0);
        const dead = (await deadLetters()).slice(dlqBefore);
        expect(dead).toHaveLength(1);
        const [letter] = dead;
        expect(letter!.event).toMatchObject({
          id: failedId,
          'detail-type': 'goal.created',
          source: 'test.e2e',
          detail: { tenantId: tenant, goalId },
        });
        expect(letter!.error).toMatch(/^InternalServerError: DynamoDB is unavailable \(injected fault\)/);
        expect(letter!.attempts).toBeGreaterThanOrEqual(2); // EventBridge retried
        expect(Date.parse(letter!.failedAt)).not.toBeNaN();
        const failed = await invocationOf(failedId);
        expect(failed).toMatchObject({ attempts: letter!.attempts, error: letter!.error });
        expect(failed.result).toBeUndefined();

        // Only the selected requests were failed: with Query alone, the event log append went
        // through and the recipients query failed; with everything down, the append failed first.
        const stats = await proxyStats();
        const injected = (op: string) =>
          (stats.operations[op]?.injected ?? 0) - (statsBefore.operations[op]?.injected ?? 0);
        if (expected.logged) {
          expect(injected('Query')).toBeGreaterThan(0);
          expect(injected('PutItem')).toBe(0);
          expect(await loggedMarker(tenant, failedId)).toBeDefined();
        } else {
          expect(injected('PutItem')).toBeGreaterThan(0);
          expect(injected('Query')).toBe(0); // never reached
          expect(await loggedMarker(tenant, failedId)).toBeUndefined();
        }

        // Cleared: the next event is delivered normally; the runtime is still serving.
        await fetch(faultsUrl(), { method: 'DELETE' }).then((r) => r.text());
        const nextId = await emit(tenant);
        await expectDeliveredOnce(conns, nextId);
        expect((await invocationOf(nextId)).result?.stats).toMatchObject({ recipients: 3, delivered: 3, failed: 0 });
        expect(() => process.kill(rt.pid, 0)).not.toThrow();
        expect((await conns[0]!.client.request({ action: 'ping' }, ['pong'])).type).toBe('pong');

        // Never silently lost: each event put here is delivered to every client, or dead-lettered.
        const dlqIds = new Set((await deadLetters()).map((d) => d.event.id));
        for (const id of [failedId, nextId]) {
          const everyone = conns.every((c) => received(c, id).length === 1);
          expect(
            everyone !== dlqIds.has(id),
            `event ${id}: delivered=${everyone}, dead-lettered=${dlqIds.has(id)}`,
          ).toBe(true);
        }
      },
    );
  });

  it('accounts for every event put in this file: processed, or dead-lettered with its error', async () => {
    expect(putIds.length).toBeGreaterThanOrEqual(9);
    const [all, dlq] = await Promise.all([invocations(), deadLetters()]);
    const dead = new Map(dlq.map((d) => [d.event.id, d]));
    for (const id of putIds) {
      const records = all.filter((i) => i.eventId === id);
      expect(records, `invocation of ${id}`).toHaveLength(1);
      const [record] = records;
      if (record!.error !== undefined) {
        expect(dead.get(id)?.error).toBe(record!.error);
      } else {
        expect(record!.result?.status).toBe('delivered');
        expect(dead.has(id)).toBe(false);
      }
    }
    expect([...dead.keys()].filter((id) => putIds.includes(id))).toHaveLength(2);
  });

  it('is off by default: no /_local/faults, no DynamoDB proxy, events flow', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await fetch(`${plain.managementUrl}/_local/faults`, {
        method,
        ...(method === 'POST' ? { body: '{"dynamodb":{"unavailable":true}}' } : {}),
      });
      expect(res.status).toBe(404);
      await res.text();
    }
    // The faulted runtime announced its proxy; the plain one has none (its handlers use dynalite directly).
    expect(rt.output()).toMatch(/handlers reach DynamoDB through the fault proxy/);
    expect(plain.output()).not.toMatch(/fault proxy|fault injection|_local\/faults/i);

    const tenant = freshTenant();
    const client = await authedClient(plain, { tenant });
    open.push(client);
    const out = await putEvents(plain, [entry('goal.created', { tenantId: tenant, goalId: 'g1' })]);
    await settled(plain);
    await client.waitFor((f) => f.eventId === `evt_${out.Entries![0]!.EventId}`);
  });
});
