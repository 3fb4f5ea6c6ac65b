/**
 * Subscriptions by source and priority (issue 14) end to end: the real local runtime, real
 * EventBridge PutEvents through the AWS SDK client (two sources, every priority), real WebSocket
 * clients and real HTTP. One filter gives the same events live, after `resume`, and from
 * `GET /events`; a bad priority is rejected and counted and reaches no one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventsResponse, HTTP_ROUTES, type Priority, REPLAY_FLAG } from '../../lambdas/contract/index.js';
import {
  authedClient,
  type Client,
  entry,
  type Frame,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  token,
} from './harness.js';
import { barrier, invocations } from './support/adversary.js';

const STAGE = 'filterse2e';
const BILLING = 'com.example.billing';
const CRM = 'com.example.crm';
const rank = { low: 0, normal: 1, high: 2, critical: 3 } as const;

interface Sent {
  eventId: string;
  type: string;
  source: string;
  /** As put on the bus; undefined: the detail names none. */
  priority: Priority | undefined;
}

describe('subscriptions by source and priority', () => {
  let rt: Runtime;
  const open: Client[] = [];
  let tenantSeq = 0;
  const freshTenant = () => `filters-${++tenantSeq}-${randomUUID().slice(0, 8)}`;

  const ws = async (tenant: string, user = 'u1') => {
    const c = await authedClient(rt, { tenant, user });
    open.push(c);
    return c;
  };
  /** Puts events on the bus (10 per PutEvents), waits until delivered, answers their eventIds. */
  const emit = async (
    tenant: string,
    events: Array<{ type?: string; source: string; priority?: unknown; n: number }>,
  ): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < events.length; i += 10) {
      const out = await putEvents(
        rt,
        events.slice(i, i + 10).map((e) =>
          entry(
            e.type ?? 'goal.created',
            {
              tenantId: tenant,
              goalId: `g${e.n}`,
              issueId: `i${e.n}`,
              n: e.n,
              ...(e.priority !== undefined ? { priority: e.priority } : {}),
            },
            e.source,
          ),
        ),
      );
      expect(out.FailedEntryCount).toBe(0);
      ids.push(...out.Entries!.map((x) => `evt_${x.EventId}`));
    }
    await settled(rt);
    return ids;
  };
  const subscribe = async (c: Client, fields: Record<string, unknown>) => {
    const reply = await c.request({ action: 'subscribe', ...fields }, ['subscribe.success', 'error']);
    expect(reply.type, JSON.stringify(reply.data)).toBe('subscribe.success');
    return reply;
  };
  /** Resumes from `from`, following `more`; answers the replayed envelopes' ids. */
  const resumeAll = async (c: Client, from: string): Promise<string[]> => {
    let cursor = from;
    for (let calls = 0; calls < 20; calls++) {
      const reply = await c.request({ action: 'resume', lastEventId: cursor }, ['resume.success', 'resume.error']);
      expect(reply.type, JSON.stringify(reply.data)).toBe('resume.success');
      cursor = String(reply.data.lastEventId);
      if (reply.data.more !== true) break;
    }
    await barrier(c);
    const replayed = c.events().filter((f: Frame) => f[REPLAY_FLAG] === true);
    return replayed.map((f) => String(f.eventId));
  };
  const poll = async (tenant: string, query: Record<string, string>): Promise<EventsResponse> => {
    const bearer = await token({ tenant, user: 'poller' });
    const res = await fetch(`${rt.httpUrl}${HTTP_ROUTES.events.path}?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    const body = (await res.json()) as EventsResponse;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  };

  beforeAll(async () => {
    rt = await startRuntime({ STAGE, SWEEP_INTERVAL_SECONDS: '3600' });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await rt?.stop();
  });

  it('filters live delivery, resume replay and GET /events identically, by source and priority', async () => {
    const tenant = freshTenant();
    // The anchor: the first event of the tenant, the cursor of every resume and poll below.
    const [anchor] = await emit(tenant, [{ source: BILLING, n: 0 }]);

    const cases: Array<{
      name: string;
      /** The filter: subscribe fields, and the same as GET /events parameters. */
      subscribe: Record<string, unknown>;
      query: Record<string, string>;
      /** Written out: which sent events pass. */
      passes: (e: Sent) => boolean;
    }> = [
      { name: 'none', subscribe: {}, query: {}, passes: () => true },
      {
        name: 'minPriority high',
        subscribe: { minPriority: 'high' },
        query: { minPriority: 'high' },
        passes: (e) => rank[e.priority ?? 'normal'] >= rank.high,
      },
      {
        name: 'billing only',
        subscribe: { sources: [BILLING] },
        query: { sources: BILLING },
        passes: (e) => e.source === BILLING,
      },
      {
        name: 'crm, normal and up, goal.* only',
        subscribe: { sources: [CRM], minPriority: 'normal', eventTypes: ['goal.*'] },
        query: { sources: CRM, minPriority: 'normal', types: 'goal.*' },
        passes: (e) => e.source === CRM && rank[e.priority ?? 'normal'] >= rank.normal && e.type === 'goal.created',
      },
      {
        name: 'both sources, critical only',
        subscribe: { sources: [BILLING, CRM], minPriority: 'critical' },
        query: { sources: `${BILLING},${CRM}`, minPriority: 'critical' },
        passes: (e) => e.priority === 'critical',
      },
    ];

    const live = await Promise.all(
      cases.map(async (c) => {
        const client = await ws(tenant, `live-${c.name}`);
        if (Object.keys(c.subscribe).length > 0) await subscribe(client, c.subscribe);
        return client;
      }),
    );

    // The mix: two sources × (no priority and the four) × two types.
    const specs = (['goal.created', 'issue.resolved'] as const).flatMap((type) =>
      [BILLING, CRM].flatMap((source) =>
        ([undefined, 'low', 'normal', 'high', 'critical'] as const).map((priority) => ({ type, source, priority })),
      ),
    );
    const ids = await emit(
      tenant,
      specs.map((s, i) => ({ ...s, n: i + 1 })),
    );
    const sent: Sent[] = specs.map((s, i) => ({ ...s, eventId: ids[i]! }));

    for (const [i, c] of cases.entries()) {
      const expected = sent.filter(c.passes).map((e) => e.eventId);
      const why = `filter ${c.name}`;

      // Live: what the subscribed socket received (the anchor came before it subscribed).
      await barrier(live[i]!);
      const liveIds = live[i]!.events()
        .map((f) => String(f.eventId))
        .filter((id) => id !== anchor);

      // Resume: a new socket with the same filter resumes from the anchor.
      const resumer = await ws(tenant, `resume-${c.name}`);
      if (Object.keys(c.subscribe).length > 0) await subscribe(resumer, c.subscribe);
      const replayed = await resumeAll(resumer, anchor!);

      // GET /events: the same filter as query parameters, after the anchor.
      const polled = (await poll(tenant, { ...c.query, after: anchor!, limit: '100' })).events.map((e) => e.eventId);

      expect(liveIds, why).toEqual(expected);
      expect(replayed, why).toEqual(expected);
      expect(polled, why).toEqual(expected);
      expect(expected.length, why).toBeGreaterThan(0);
    }

    // Every envelope carries its source and priority (the default when none was put), never in data.
    const all = live[0]!.events().filter((f) => f.eventId !== anchor);
    expect(all).toHaveLength(sent.length);
    for (const [i, f] of all.entries()) {
      expect(f, sent[i]!.eventId).toMatchObject({
        eventId: sent[i]!.eventId,
        source: sent[i]!.source,
        priority: sent[i]!.priority ?? 'normal',
      });
      expect(f.data).not.toHaveProperty('priority');
    }
  });

  it('subscribe and unsubscribe answer the whole filter: sources added and removed, the floor replaced', async () => {
    const tenant = freshTenant();
    const c = await ws(tenant);
    expect((await subscribe(c, {})).data).toEqual({ eventTypes: [], sources: [], minPriority: 'low' });
    expect((await subscribe(c, { sources: [BILLING, CRM], minPriority: 'high' })).data).toEqual({
      eventTypes: [],
      sources: [BILLING, CRM],
      minPriority: 'high',
    });
    const unsub = await c.request({ action: 'unsubscribe', sources: [BILLING], minPriority: 'critical' }, [
      'unsubscribe.success',
    ]);
    expect(unsub.data).toEqual({ eventTypes: [], sources: [CRM], minPriority: 'critical' });

    // The resulting set is capped: 19 more fit, one past 20 is refused, naming the field.
    const many = Array.from({ length: 19 }, (_, i) => `src.${i}`);
    expect(((await subscribe(c, { sources: many })).data.sources as string[]).length).toBe(20);
    const refused = await c.request({ action: 'subscribe', sources: ['one.more'] }, ['error']);
    expect(refused.data).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^sources: /) });
    const bad = await c.request({ action: 'subscribe', minPriority: 'urgent' }, ['error']);
    expect(bad.data).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^minPriority: /) });

    // The refused changes changed nothing: only crm events of critical priority arrive.
    await emit(tenant, [
      { source: CRM, priority: 'high', n: 1 },
      { source: CRM, priority: 'critical', n: 2 },
      { source: 'one.more', priority: 'critical', n: 3 },
    ]);
    await barrier(c);
    expect(c.events().map((e) => e.data.n)).toEqual([2]);
  });

  it('answers 400 naming the parameter for a bad sources or minPriority on GET /events', async () => {
    const bearer = await token({ tenant: freshTenant(), user: 'u' });
    for (const [query, parameter] of [
      [{ minPriority: 'urgent' }, 'minPriority'],
      [{ minPriority: 'HIGH' }, 'minPriority'],
      [{ sources: `${BILLING},,${CRM}` }, 'sources'],
      [{ sources: Array.from({ length: 21 }, (_, i) => `s${i}`).join(',') }, 'sources'],
    ] as const) {
      const res = await fetch(`${rt.httpUrl}/events?${new URLSearchParams(query)}`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      expect(res.status, JSON.stringify(query)).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({ code: 'bad_request', message: expect.stringMatching(new RegExp(`^${parameter}: `)) });
    }
  });

  it('rejects a bad priority on the bus (invalid_priority), counts it, and delivers, logs and serves nothing of it', async () => {
    const tenant = freshTenant();
    const c = await ws(tenant);
    const bad = ['urgent', '', 3, null, 'HIGH', 'Critical', ['high']];
    const badIds = await emit(
      tenant,
      bad.map((priority, i) => ({ source: BILLING, priority, n: i })),
    );
    const [good] = await emit(tenant, [{ source: BILLING, priority: 'low', n: 99 }]);

    const records = await invocations(rt);
    for (const [i, id] of badIds.entries()) {
      const record = records.filter((r) => `evt_${r.eventId}` === id);
      expect(record, JSON.stringify(bad[i])).toHaveLength(1);
      expect(record[0]!.attempts).toBe(1);
      expect(record[0]!.result).toMatchObject({
        status: 'rejected',
        reason: 'invalid_priority',
        message: expect.stringMatching(/^detail\.priority: must be one of "low", "normal", "high", "critical"/),
      });
    }
    // Counted and logged with its reason (metrics are disabled locally; the log line carries it).
    const rejectedLines = rt
      .output()
      .split('\n')
      .filter((l) => l.includes('"event rejected"') && l.includes('"reason":"invalid_priority"'));
    expect(rejectedLines.length).toBeGreaterThanOrEqual(bad.length);

    await barrier(c);
    expect(c.events().map((e) => e.eventId)).toEqual([good]);
    expect((await poll(tenant, { limit: '100' })).events.map((e) => e.eventId)).toEqual([good]);
  });

  it('done when: minPriority high receives a critical event and not a normal one, live, after resume and over GET /events', async () => {
    const tenant = freshTenant();
    const first = await ws(tenant, 'dash');
    await subscribe(first, { minPriority: 'high' });

    // Live.
    const [normal1, critical1] = await emit(tenant, [
      { source: BILLING, priority: 'normal', n: 1 },
      { source: BILLING, priority: 'critical', n: 2 },
    ]);
    await barrier(first);
    expect(first.events().map((e) => e.eventId)).toEqual([critical1]);
    first.close();
    await first.waitClosed();

    // Offline, then back: a new socket with the same floor resumes from the last event it had.
    const [normal2, critical2] = await emit(tenant, [
      { source: CRM, n: 3 }, // no priority: normal
      { source: CRM, priority: 'critical', n: 4 },
    ]);
    const second = await ws(tenant, 'dash');
    await subscribe(second, { minPriority: 'high' });
    const replayed = await resumeAll(second, critical1!);
    expect(replayed).toEqual([critical2]);
    expect(replayed).not.toContain(normal1);
    expect(replayed).not.toContain(normal2);

    // Over GET /events: the same floor, and without it (so the floor is what removed them).
    const polled = await poll(tenant, { minPriority: 'high', limit: '100' });
    expect(polled.events.map((e) => e.eventId)).toEqual([critical1, critical2]);
    expect(polled.events.map((e) => e.priority)).toEqual(['critical', 'critical']);
    const everything = await poll(tenant, { limit: '100' });
    expect(everything.events.map((e) => e.eventId)).toEqual([normal1, critical1, normal2, critical2]);
    expect(everything.events.map((e) => e.priority)).toEqual(['normal', 'critical', 'normal', 'critical']);
  });
});
