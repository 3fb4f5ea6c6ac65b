/**
 * One subscription filter, three delivery paths (issue 14): live fan-out, resume replay and
 * `GET /events` agree event for event on a mix of two sources, every priority (and none), two
 * types, an audience, and logged events from before sources and priorities were recorded. The
 * expected sets are written out per filter, not computed with the matching function under test.
 */
import { describe, expect, it } from 'vitest';
import { HTTP_ROUTES, type Priority, REPLAY_FLAG, REPLAY_OVERLAP_SECONDS } from '../../lambdas/contract/index.js';
import { broadcast } from '../../lambdas/core/broadcast.js';
import { handleHttpRequest } from '../../lambdas/core/http-api.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import { resume } from '../../lambdas/core/replay.js';
import {
  envelope,
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  identity,
  MapVerifier,
  recordingSleep,
  ScriptedSender,
  seedAuthenticated,
} from './fakes.js';

const TENANT = 'acme';
const SOURCES = ['com.example.billing', 'com.example.crm'] as const;
const [BILLING, CRM] = SOURCES;

interface Spec {
  id: string;
  type: 'goal.created' | 'issue.resolved';
  /** Absent: an event from before sources were recorded (logged directly, never broadcast now). */
  source?: string;
  /** Absent: the event names none (`normal`), or an old logged event without the field. */
  priority?: Priority;
  /** Only for `someone-else`. */
  private?: true;
}

/** 2 types × 2 sources × 5 priorities (none and the four), plus a private one: broadcast now. */
const LIVE: Spec[] = (['goal.created', 'issue.resolved'] as const).flatMap((type) =>
  SOURCES.flatMap((source) =>
    ([undefined, 'low', 'normal', 'high', 'critical'] as const).map(
      (priority): Spec => ({
        id: `${type === 'goal.created' ? 'g' : 'i'}-${source === BILLING ? 'bill' : 'crm'}-${priority ?? 'none'}`,
        type,
        source,
        ...(priority ? { priority } : {}),
      }),
    ),
  ),
);
LIVE.push({
  id: 'g-bill-critical-private',
  type: 'goal.created',
  source: BILLING,
  priority: 'critical',
  private: true,
});
/** Logged before this change: no source, no priority in the envelope. */
const OLD: Spec[] = [
  { id: 'old-goal', type: 'goal.created' },
  { id: 'old-issue', type: 'issue.resolved' },
];

interface Case {
  name: string;
  filter: { subscriptions?: string[]; sources?: string[]; minPriority?: Priority };
  /** The same filter as `GET /events` parameters. */
  query: Record<string, string>;
  /** Written out: which of LIVE and OLD this filter passes. */
  expected: (e: Spec) => boolean;
}

const rank = { low: 0, normal: 1, high: 2, critical: 3 } as const;
const priorityOf = (e: Spec) => rank[e.priority ?? 'normal'];

const CASES: Case[] = [
  { name: 'no filter', filter: {}, query: {}, expected: (e) => !e.private },
  {
    name: 'minPriority high',
    filter: { minPriority: 'high' },
    query: { minPriority: 'high' },
    expected: (e) => !e.private && priorityOf(e) >= 2,
  },
  {
    name: 'minPriority normal (events without priority, old ones too, count as normal)',
    filter: { minPriority: 'normal' },
    query: { minPriority: 'normal' },
    expected: (e) => !e.private && priorityOf(e) >= 1,
  },
  {
    name: 'minPriority low (everything)',
    filter: { minPriority: 'low' },
    query: { minPriority: 'low' },
    expected: (e) => !e.private,
  },
  {
    name: 'the billing source (old events have none: they do not pass)',
    filter: { sources: [BILLING] },
    query: { sources: BILLING },
    expected: (e) => !e.private && e.source === BILLING,
  },
  {
    name: 'both sources, minPriority normal, goal.* only',
    filter: { subscriptions: ['goal.*'], sources: [BILLING, CRM], minPriority: 'normal' },
    query: { types: 'goal.*', sources: `${BILLING},${CRM}`, minPriority: 'normal' },
    expected: (e) => !e.private && e.source !== undefined && priorityOf(e) >= 1 && e.type === 'goal.created',
  },
  {
    name: 'crm, critical only',
    filter: { sources: [CRM], minPriority: 'critical' },
    query: { sources: CRM, minPriority: 'critical' },
    expected: (e) => !e.private && e.source === CRM && e.priority === 'critical',
  },
  {
    name: 'an empty source set (any source), issue.resolved',
    filter: { subscriptions: ['issue.resolved'], sources: [] },
    query: { types: 'issue.resolved', sources: '' },
    expected: (e) => !e.private && e.type === 'issue.resolved',
  },
];

function eventBridgeEvent(spec: Spec, time: string) {
  return {
    version: '0',
    id: spec.id,
    'detail-type': spec.type,
    source: spec.source,
    account: '111122223333',
    time,
    region: 'eu-west-1',
    resources: [],
    detail: {
      tenantId: TENANT,
      goalId: 'g1',
      issueId: 'i1',
      ...(spec.priority ? { priority: spec.priority } : {}),
      ...(spec.private ? { audience: { userIds: ['someone-else'] } } : {}),
    },
  };
}

describe.each(CASES)('filter: $name', ({ filter, query, expected }) => {
  async function world() {
    const clock = new FakeClock();
    const store = new InMemoryConnectionStore();
    const log = new InMemoryEventLog();
    const sender = new ScriptedSender(clock.now);
    const who = { tenantId: TENANT, userId: 'ada', roles: ['member'], expiresAt: clock.seconds + 7200 };
    const deps = {
      store,
      log,
      sender,
      clock: clock.now,
      concurrency: 4,
      retentionSeconds: 86_400,
      sleep: recordingSleep().sleep,
    };
    // The anchor: the cursor of the resume and of the poll, older than the overlap before the rest.
    const anchor = await broadcast(deps, eventBridgeEvent({ id: 'anchor', type: 'goal.created', source: BILLING }, ''));
    if (anchor.status !== 'delivered') throw new Error('anchor rejected');
    clock.advance(2 * REPLAY_OVERLAP_SECONDS * 1000);

    await seedAuthenticated(store, 'live', { ...who, ...filter }, clock.seconds);
    for (const [i, spec] of [...OLD, ...LIVE].entries()) {
      clock.advance(10);
      if (spec.source === undefined) {
        // An envelope logged before this change: exactly the five seed fields.
        const old = envelope(i, { type: spec.type, eventId: `evt_${spec.id}`, tenantId: TENANT });
        await appendEvent(
          log,
          { envelope: { ...old, data: { tenantId: TENANT } } },
          clock.nowMs,
          clock.seconds + 86_400,
        );
        continue;
      }
      const result = await broadcast(deps, eventBridgeEvent(spec, new Date(clock.nowMs).toISOString()));
      expect(result.status, spec.id).toBe('delivered');
    }
    return { clock, store, log, sender, deps, who, anchorId: anchor.eventId };
  }

  const idsOf = (specs: Spec[]) => specs.filter(expected).map((e) => `evt_${e.id}`);

  it('live fan-out, resume replay and GET /events deliver the same events, the expected ones', async () => {
    const { store, log, sender, clock, who, anchorId } = await world();

    // Live: what the connection with this filter received as the events were broadcast.
    const live = sender.received('live').map((f) => String(f.eventId));

    // Resume: a connection with the same filter that connected afterwards resumes from the anchor.
    await seedAuthenticated(store, 'resumer', { ...who, ...filter }, clock.seconds);
    let cursor = anchorId;
    for (let calls = 0; calls < 10; calls++) {
      const reply = await resume({ store, log, sender, clock: clock.now, maxReplay: 1000 }, 'resumer', cursor);
      expect(reply?.type).toBe('resume.success');
      const data = reply?.data as { lastEventId: string; more: boolean };
      cursor = data.lastEventId;
      if (!data.more) break;
    }
    const replayedFrames = sender.received('resumer');
    expect(replayedFrames.every((f) => f[REPLAY_FLAG] === true)).toBe(true);
    const replayed = replayedFrames.map((f) => String(f.eventId));

    // GET /events: the same filter as query parameters, after the anchor.
    const reply = await handleHttpRequest(
      {
        verifier: new MapVerifier({ ada: identity(who) }),
        log,
        store,
        clock: clock.now,
        settings: { stage: 'test', version: '1.0.0', statusRole: 'ops', eventRetentionHours: 24 },
      },
      {
        routeKey: HTTP_ROUTES.events.routeKey,
        headers: { authorization: 'Bearer ada' },
        query: { ...query, after: anchorId, limit: '100' },
      },
    );
    expect(reply.statusCode, JSON.stringify(reply.body)).toBe(200);
    const polled = (reply.body as { events: Array<{ eventId: string }> }).events.map((e) => e.eventId);

    expect(live).toEqual(idsOf(LIVE));
    expect(replayed).toEqual(idsOf([...OLD, ...LIVE]));
    expect(polled).toEqual(replayed);
    // Neither everything nor nothing for a real filter (else the comparison proves little).
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.length).toBeLessThan(OLD.length + LIVE.length);
  });

  it('the envelope on every path carries source and priority (normal by default), never in data', async () => {
    const { sender } = await world();
    for (const frame of sender.received('live')) {
      const spec = LIVE.find((e) => `evt_${e.id}` === frame.eventId)!;
      expect(frame).toMatchObject({ source: spec.source, priority: spec.priority ?? 'normal' });
      expect(frame.data).not.toHaveProperty('priority');
    }
  });
});
