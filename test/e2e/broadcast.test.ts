/**
 * Broadcaster end to end: real EventBridge SDK client → local EventBridge endpoint → the
 * broadcaster handler → management API → real `ws` clients.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from '../../bin/local/defaults.js';
import { ConnectionAttr, Env, EVENT_LOG_PREFIX, EventLogAttr, eventIdMarkerKey } from '../../lambdas/contract/index.js';
import {
  authedClient,
  Client,
  entry,
  LIVE_ENVELOPE_KEYS,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  tableClient,
  token,
} from './harness.js';

const STAGE = 'bcast';

describe('broadcaster', () => {
  let rt: Runtime;
  let db: DynamoDBDocumentClient;
  const tables = localTableNames(STAGE);
  const open: Client[] = [];
  const track = (c: Client) => {
    open.push(c);
    return c;
  };
  let tenantSeq = 0;
  /** A tenant of this test alone, so tests do not see each other's events. */
  const freshTenant = () => `tenant-${++tenantSeq}-${randomUUID().slice(0, 8)}`;

  const emit = async (type: string, detail: Record<string, unknown>) => {
    const out = await putEvents(rt, [entry(type, detail)]);
    expect(out.FailedEntryCount).toBe(0);
    await settled(rt);
  };

  beforeAll(async () => {
    // A long sweep interval: expiry must be handled by the broadcaster itself here.
    rt = await startRuntime({ STAGE, SWEEP_INTERVAL_SECONDS: '3600' });
    db = tableClient(rt);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    db?.destroy();
    await rt?.stop();
  });

  it("delivers a tenant's event to all its authenticated clients, and to no one else", async () => {
    const a = freshTenant();
    const b = freshTenant();
    const a1 = track(await authedClient(rt, { tenant: a, user: 'u1' }));
    const a2 = track(await authedClient(rt, { tenant: a, user: 'u2' }));
    const b1 = track(await authedClient(rt, { tenant: b, user: 'u1' }));
    const pending = track(await Client.connect(rt.wsUrl));

    await emit('goal.created', { tenantId: a, goalId: 'g1', title: 'Ship it' });

    for (const c of [a1, a2]) {
      const [event] = c.events();
      expect(c.events()).toHaveLength(1);
      expect(event).toMatchObject({
        type: 'goal.created',
        tenantId: a,
        data: { tenantId: a, goalId: 'g1', title: 'Ship it' },
      });
      expect(event!.eventId).toMatch(/^evt_/);
      expect(Date.parse(String(event!.timestamp))).not.toBeNaN();
      expect(Object.keys(event!).sort()).toEqual(LIVE_ENVELOPE_KEYS);
      expect(event).toMatchObject({ source: 'test.e2e', priority: 'normal' });
    }
    expect(a1.events()[0]!.eventId).toBe(a2.events()[0]!.eventId);
    expect(b1.events()).toHaveLength(0);
    expect(pending.frames).toHaveLength(0);
  });

  it('filters by subscriptions, exact and wildcard', async () => {
    const t = freshTenant();
    const all = track(await authedClient(rt, { tenant: t }));
    const goals = track(await authedClient(rt, { tenant: t }));
    await goals.request({ action: 'subscribe', eventTypes: ['goal.*'] }, ['subscribe.success']);
    const actionCreated = track(await authedClient(rt, { tenant: t }));
    await actionCreated.request({ action: 'subscribe', eventTypes: ['action.created'] }, ['subscribe.success']);

    await emit('goal.completed', { tenantId: t, goalId: 'g1' });
    await emit('action.created', { tenantId: t, actionId: 'a1' });
    await emit('action.updated', { tenantId: t, actionId: 'a1' });

    expect(all.events().map((e) => e.type)).toEqual(['goal.completed', 'action.created', 'action.updated']);
    expect(goals.events().map((e) => e.type)).toEqual(['goal.completed']);
    expect(actionCreated.events().map((e) => e.type)).toEqual(['action.created']);
  });

  it('targets an audience by userIds and roles, and strips it from data', async () => {
    const t = freshTenant();
    const alice = track(await authedClient(rt, { tenant: t, user: 'alice', roles: ['member'] }));
    const bob = track(await authedClient(rt, { tenant: t, user: 'bob', roles: ['admin'] }));
    const carol = track(await authedClient(rt, { tenant: t, user: 'carol', roles: ['member'] }));

    await emit('issue.created', { tenantId: t, issueId: 'i1', audience: { userIds: ['alice'] } });
    await emit('issue.updated', { tenantId: t, issueId: 'i1', audience: { roles: ['admin'] } });
    await emit('issue.resolved', { tenantId: t, issueId: 'i1', audience: { userIds: ['carol'], roles: ['admin'] } });

    expect(alice.events().map((e) => e.type)).toEqual(['issue.created']);
    expect(bob.events().map((e) => e.type)).toEqual(['issue.updated', 'issue.resolved']);
    expect(carol.events().map((e) => e.type)).toEqual(['issue.resolved']);
    expect(alice.events()[0]!.data).toEqual({ tenantId: t, issueId: 'i1' });
  });

  it('drops events without a usable tenantId and keeps delivering later ones', async () => {
    const t = freshTenant();
    const c = track(await authedClient(rt, { tenant: t }));
    const out = await putEvents(rt, [
      entry('goal.created', { goalId: 'no-tenant' }),
      entry('goal.created', { tenantId: 42, goalId: 'numeric' }),
      entry('goal.created', { tenantId: `${t}#x`, goalId: 'hash' }),
      entry('GoalCreated', { tenantId: t, goalId: 'not-dot-notation' }),
      entry('goal.created', { tenantId: t, goalId: 'ok' }),
    ]);
    expect(out.FailedEntryCount).toBe(0);
    await settled(rt);
    expect(c.events().map((e) => e.data.goalId)).toEqual(['ok']);
  });

  it('removes a record whose client vanished without $disconnect (410) and still delivers to the others', async () => {
    const t = freshTenant();
    const live = track(await authedClient(rt, { tenant: t }));
    const ghost = `ghost${randomUUID().slice(0, 8)}=`;
    await db.send(
      new PutCommand({
        TableName: tables.connections,
        Item: {
          [ConnectionAttr.connectionId]: ghost,
          [ConnectionAttr.tenantId]: t,
          [ConnectionAttr.userId]: 'gone',
          [ConnectionAttr.connectedAt]: 1,
          [ConnectionAttr.ttl]: 9_999_999_999,
        },
      }),
    );
    await emit('goal.created', { tenantId: t, goalId: 'g1' });
    expect(live.events()).toHaveLength(1);
    const left = await db.send(
      new GetCommand({ TableName: tables.connections, Key: { [ConnectionAttr.connectionId]: ghost } }),
    );
    expect(left.Item).toBeUndefined();
  });

  it('tells a connection whose token expired, closes it, and does not send it the event', async () => {
    const t = freshTenant();
    const fresh = track(await authedClient(rt, { tenant: t, ttl: 3600 }));
    const expiring = track(await authedClient(rt, { tenant: t, ttl: 1 }));
    await sleep(2_100);
    await emit('goal.created', { tenantId: t, goalId: 'g1' });
    await expiring.waitClosed();
    expect(expiring.frames.map((f) => f.type)).toEqual(['auth.success', 'auth.expired']);
    expect(fresh.events()).toHaveLength(1);
  });

  it('resume replays exactly the missed events, in order, with the same filtering', async () => {
    const t = freshTenant();
    const first = track(await authedClient(rt, { tenant: t, user: 'u1' }));
    await emit('goal.created', { tenantId: t, goalId: 'g0' });
    const lastSeen = first.events()[0]!.eventId!;
    first.close();
    await first.waitClosed();

    await emit('goal.created', { tenantId: t, goalId: 'g1' });
    await emit('goal.updated', { tenantId: t, goalId: 'g1' });
    await emit('action.created', { tenantId: t, actionId: 'a1', audience: { userIds: ['someone-else'] } });
    await emit('goal.completed', { tenantId: t, goalId: 'g1' });
    await emit('goal.created', { tenantId: freshTenant(), goalId: 'other-tenant' });

    const again = track(await authedClient(rt, { tenant: t, user: 'u1' }));
    const done = await again.request({ action: 'resume', lastEventId: lastSeen }, ['resume.success', 'resume.error']);
    expect(done.type).toBe('resume.success');
    expect(again.events().map((e) => `${e.type}:${String(e.data.goalId)}`)).toEqual([
      'goal.created:g1',
      'goal.updated:g1',
      'goal.completed:g1',
    ]);
    expect(done.data.replayed).toBe(3);
    // The resume point is the last logged event, whether or not this client was in its audience.
    expect(done.data.lastEventId).toBe(again.events().at(-1)!.eventId);
    expect(again.events().every((e) => e.replay === true)).toBe(true);
    // Resuming from the newest event sends nothing new: at most the events of the overlap window
    // before it again (README, "Delivery guarantees"), which the client drops by eventId, and
    // never the cursor event itself.
    const before = again.events().length;
    const seen = new Set([...first.events(), ...again.events()].map((e) => e.eventId));
    const none = await again.request({ action: 'resume', lastEventId: String(done.data.lastEventId) }, [
      'resume.success',
    ]);
    const resent = again.events().slice(before);
    expect(none.data.replayed).toBe(resent.length);
    expect(resent.every((e) => seen.has(e.eventId) && e.replay === true)).toBe(true);
    expect(resent.map((e) => e.eventId)).not.toContain(done.data.lastEventId);
    expect(none.data).toMatchObject({ more: false, lastEventId: resent.at(-1)?.eventId ?? done.data.lastEventId });
  });

  it('gives a resume point in auth.success, so a client that received nothing can catch up', async () => {
    const t = freshTenant();
    await emit('goal.created', { tenantId: t, goalId: 'before' });
    const first = track(await Client.connect(rt.wsUrl));
    const auth = await first.request({ action: 'auth', token: await token({ tenant: t }) }, ['auth.success']);
    const resumePoint = auth.data.lastEventId;
    expect(resumePoint).toMatch(/^evt_/);
    first.close();
    await first.waitClosed();

    await emit('goal.updated', { tenantId: t, goalId: 'missed' });
    const again = track(await authedClient(rt, { tenant: t }));
    const done = await again.request({ action: 'resume', lastEventId: String(resumePoint) }, [
      'resume.success',
      'resume.error',
    ]);
    expect(done).toMatchObject({ type: 'resume.success', data: { replayed: 1 } });
    expect(again.events().map((e) => e.data.goalId)).toEqual(['missed']);

    const empty = track(await Client.connect(rt.wsUrl));
    const fresh = await empty.request({ action: 'auth', token: await token({ tenant: freshTenant() }) }, [
      'auth.success',
    ]);
    expect(fresh.data.lastEventId).toBeNull();
  });

  it('answers resume with an unknown or foreign id with resume.error gap', async () => {
    const t = freshTenant();
    const other = freshTenant();
    const foreign = track(await authedClient(rt, { tenant: other }));
    await emit('goal.created', { tenantId: other, goalId: 'g1' });
    const foreignId = foreign.events()[0]!.eventId!;

    const c = track(await authedClient(rt, { tenant: t }));
    for (const id of ['evt_does-not-exist', foreignId]) {
      const reply = await c.request({ action: 'resume', lastEventId: id }, ['resume.success', 'resume.error']);
      expect(reply).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    }
    expect(c.events()).toHaveLength(0);
    const pending = track(await Client.connect(rt.wsUrl));
    expect((await pending.request({ action: 'resume', lastEventId: foreignId }, ['error'])).data.code).toBe(
      'not_authenticated',
    );
  });

  it('logs a retried EventBridge event again at its own start, under the same eventId and first position', async () => {
    const t = freshTenant();
    const c = track(await authedClient(rt, { tenant: t }));
    // Invoke the same broadcaster module Lambda runs, twice with one EventBridge event: a retry.
    process.env[Env.connectionsTable] = tables.connections;
    process.env[Env.eventLogTable] = tables.events;
    process.env[Env.managementEndpoint] = rt.managementUrl.replace(/\/@connections\/?$/, '');
    process.env[Env.dynamodbEndpoint] = rt.dynamodbEndpoint;
    process.env.AWS_REGION = LOCAL_REGION;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const { handler } = await import('../../lambdas/handlers/broadcaster.js');
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'goal.created',
      source: 'test.e2e',
      account: '000000000000',
      time: new Date().toISOString(),
      region: LOCAL_REGION,
      resources: [],
      detail: { tenantId: t, goalId: 'g1' },
    };
    const first = await handler(event);
    await sleep(5); // a retry starts later: its copy gets its own position
    const second = await handler(event);
    expect(first).toMatchObject({ status: 'delivered', duplicate: false });
    expect(second).toMatchObject({ status: 'delivered', duplicate: true });

    await c.waitFor(() => c.events().length === 2);
    expect(new Set(c.events().map((e) => e.eventId))).toEqual(new Set([`evt_${event.id}`]));
    const logged = await db.send(
      new QueryCommand({
        TableName: tables.events,
        KeyConditionExpression: '#t = :t AND begins_with(#sk, :p)',
        ExpressionAttributeNames: { '#t': EventLogAttr.tenantId, '#sk': EventLogAttr.sk },
        ExpressionAttributeValues: { ':t': t, ':p': EVENT_LOG_PREFIX.event },
      }),
    );
    // One copy per attempt, in attempt order; the retry's points at the first, and the id marker
    // keeps the first position (where a resume from this event starts).
    expect(logged.Items).toHaveLength(2);
    const [firstCopy, retryCopy] = logged.Items!;
    expect(logged.Items!.map((i) => i[EventLogAttr.eventId])).toEqual([`evt_${event.id}`, `evt_${event.id}`]);
    expect(firstCopy![EventLogAttr.first]).toBeUndefined();
    expect(retryCopy![EventLogAttr.first]).toBe(firstCopy![EventLogAttr.sk]);
    const marker = await db.send(
      new GetCommand({
        TableName: tables.events,
        Key: { [EventLogAttr.tenantId]: t, [EventLogAttr.sk]: eventIdMarkerKey(`evt_${event.id}`) },
      }),
    );
    expect(marker.Item?.[EventLogAttr.seq]).toBe(firstCopy![EventLogAttr.sk]);
  });
});
