/**
 * The HTTP API end to end: the real local runtime, real HTTP (fetch) with real tokens, real
 * WebSocket clients and the real EventBridge SDK client. Every route and error code, tenant
 * isolation, filtering compared with live delivery, paging, gaps, cursor continuity between the
 * WebSocket and polling, CORS, and log hygiene.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTableNames } from '../../bin/local/defaults.js';
import { type Envelope, type EventsResponse, HTTP_ROUTES, REPLAY_FLAG } from '../../lambdas/contract/index.js';
import {
  authedClient,
  Client,
  entry,
  type Frame,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  type TokenOptions,
  token,
} from './harness.js';

const STAGE = 'httpe2e';
const ORIGIN = 'https://app.example.com';
const STATUS_ROLE = 'ops';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('HTTP API', () => {
  let rt: Runtime;
  const open: Client[] = [];
  /** Every token sent, to check none reaches a log line. */
  const sent: string[] = [];
  let tenantSeq = 0;
  const freshTenant = () => `http-${++tenantSeq}-${randomUUID().slice(0, 8)}`;

  const bearer = async (opts: TokenOptions) => {
    const t = await token(opts);
    sent.push(t);
    return t;
  };
  const call = async (
    path: string,
    options: { token?: string; method?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await fetch(`${rt.httpUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
  const poll = async (query: string, tok: string): Promise<EventsResponse> => {
    const answer = await call(`${HTTP_ROUTES.events.path}?${query}`, { token: tok });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as unknown as EventsResponse;
  };
  const ws = async (opts: TokenOptions) => {
    const c = await authedClient(rt, opts, { origin: ORIGIN });
    open.push(c);
    return c;
  };
  const emit = async (tenant: string, events: Array<{ type: string; detail?: Record<string, unknown> }>) => {
    for (let i = 0; i < events.length; i += 10) {
      const out = await putEvents(
        rt,
        events.slice(i, i + 10).map((e) => entry(e.type, { tenantId: tenant, ...e.detail })),
      );
      expect(out.FailedEntryCount).toBe(0);
    }
    await settled(rt);
  };
  /** Waits until every frame the broadcaster sent has reached the client (a ping round trip). */
  const drained = async (c: Client) => {
    await c.request({ action: 'ping' }, ['pong']);
  };
  const envelopes = (c: Client): Envelope[] =>
    c.events().map((f: Frame) => {
      const { [REPLAY_FLAG]: _replay, ...envelope } = f;
      return envelope as unknown as Envelope;
    });

  beforeAll(async () => {
    rt = await startRuntime({
      STAGE,
      ALLOWED_ORIGINS: ORIGIN,
      STATUS_ROLE,
      LOCAL_FAULTS: '1',
      SWEEP_INTERVAL_SECONDS: '3600',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await rt?.stop();
  });

  describe('GET /health', () => {
    it('answers stage and version to anyone, without a token', async () => {
      const answer = await call('/health');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok', stage: STAGE, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      expect(answer.headers.get('content-type')).toBe('application/json');
    });

    it('runs the deep check for the status role (STATUS_ROLE) only', async () => {
      const tenant = freshTenant();
      const ops = await call('/health?deep=1', { token: await bearer({ tenant, user: 'o', roles: [STATUS_ROLE] }) });
      expect(ops.status).toBe(200);
      expect(ops.body).toMatchObject({ status: 'ok', checks: { dynamodb: { status: 'ok' } } });
      const admin = await call('/health?deep=1', { token: await bearer({ tenant, user: 'a', roles: ['admin'] }) });
      expect(admin.status).toBe(403);
      expect(admin.body).toEqual({ code: 'forbidden', message: expect.any(String) });
      const anonymous = await call('/health?deep=1');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      const bad = await call('/health?deep=yes');
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ code: 'bad_request', message: expect.stringMatching(/^deep: /) });
    });

    it('reports DynamoDB unavailable as 503 "unavailable"; other routes then fail with 500 "internal_error"', async () => {
      const tenant = freshTenant();
      const ops = await bearer({ tenant, user: 'o', roles: [STATUS_ROLE] });
      const faults = `${rt.managementUrl}/_local/faults`;
      const set = await fetch(faults, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dynamodb: { unavailable: true, tables: [localTableNames(STAGE).events] } }),
      });
      expect(set.status).toBe(200);
      try {
        const deep = await call('/health?deep=1', { token: ops });
        expect(deep.status).toBe(503);
        expect(deep.body).toMatchObject({
          code: 'unavailable',
          status: 'error',
          checks: { dynamodb: { status: 'error' } },
        });
        const events = await call('/events', { token: ops });
        expect(events.status).toBe(500);
        expect(events.body).toEqual({ code: 'internal_error', message: expect.any(String) });
        // Health without deep makes no database call: still ok.
        expect((await call('/health')).status).toBe(200);
      } finally {
        expect((await fetch(faults, { method: 'DELETE' })).status).toBe(200);
      }
      expect((await call('/health?deep=1', { token: ops })).status).toBe(200);
    });
  });

  describe('authentication', () => {
    it('answers 401 with "WWW-Authenticate: Bearer" and invalid_token without a token', async () => {
      for (const route of ['/events', '/presence', '/status']) {
        const answer = await call(route);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer');
        expect(answer.body).toEqual({ code: 'invalid_token', message: expect.any(String) });
      }
      const basic = await call('/events', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(basic.status).toBe(401);
      expect(basic.headers.get('www-authenticate')).toBe('Bearer');
    });

    it.each([
      ['malformed', async () => 'not-a-jwt', 'invalid_token'],
      [
        'signed with another key',
        () => token({ secret: 'another-secret-that-is-long-enough-to-use!!' }),
        'invalid_token',
      ],
      ['expired', () => token({ ttl: -120 }), 'token_expired'],
      ['without a tenant claim', () => token({ tenant: undefined, claims: { tenantId: undefined } }), 'invalid_claims'],
      ['without sub', () => token({ user: null }), 'invalid_claims'],
    ])('answers 401 error="invalid_token" and the auth.error code for a token %s', async (_name, make, code) => {
      const t = await make();
      sent.push(t);
      const answer = await call('/events', { token: t });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(answer.body).toEqual({ code, message: expect.any(String) });
    });

    it('accepts the token `npm run -s token` prints, as in the README', async () => {
      const { stdout } = await promisify(execFile)(
        'npm',
        ['run', '-s', 'token', '--', '--tenant', 't1', '--user', 'u1'],
        {
          cwd: ROOT,
        },
      );
      expect(stdout.trim().split('.')).toHaveLength(3);
      sent.push(stdout.trim());
      const answer = await call('/events', { token: stdout.trim() });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ events: expect.any(Array), more: false });
    });
  });

  describe('routes', () => {
    it('answers 404 {"message":"Not Found"} for an unknown route and for another method', async () => {
      const t = await bearer({ tenant: freshTenant(), roles: [STATUS_ROLE] });
      for (const [method, path] of [
        ['GET', '/nope'],
        ['GET', '/events/extra'],
        ['POST', '/events'],
        ['DELETE', '/status'],
        ['PUT', '/presence'],
      ] as const) {
        const answer = await call(path, { method, token: t });
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.body).toEqual({ message: 'Not Found' });
      }
    });

    it('GET /presence counts authenticated connections per user; GET /status adds the last event, for the status role', async () => {
      const tenant = freshTenant();
      await ws({ tenant, user: 'alice' });
      await ws({ tenant, user: 'alice' });
      await ws({ tenant, user: 'bob' });
      const pending = await Client.connect(rt.wsUrl, { origin: ORIGIN });
      open.push(pending);
      await emit(tenant, [{ type: 'goal.created', detail: { goalId: 'g1' } }]);

      const member = await bearer({ tenant, user: 'zoe' });
      const presence = await call('/presence', { token: member });
      expect(presence.status).toBe(200);
      expect(presence.body).toEqual({
        connections: 3,
        users: [
          { userId: 'alice', connections: 2 },
          { userId: 'bob', connections: 1 },
        ],
      });

      const forbidden = await call('/status', { token: member });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toEqual({ code: 'forbidden', message: expect.any(String) });
      const status = await call('/status', { token: await bearer({ tenant, user: 'olga', roles: [STATUS_ROLE] }) });
      const newest = await poll('limit=1', member);
      expect(status.status).toBe(200);
      expect(status.body).toEqual({
        tenantId: tenant,
        connections: 3,
        users: 2,
        lastEventId: newest.lastEventId,
        eventsRetainedHours: 24,
      });
      expect(newest.lastEventId).toMatch(/^evt_/);
    });

    it('answers 400 naming the parameter for a bad limit, bad types, or both after and since', async () => {
      const t = await bearer({ tenant: freshTenant() });
      for (const [query, parameter] of [
        ['limit=0', 'limit'],
        ['limit=101', 'limit'],
        ['limit=x', 'limit'],
        ['types=goal', 'types'],
        ['types=goal.*.x', 'types'],
        ['after=evt_1&since=0', 'after, since'],
        ['since=tomorrow', 'since'],
      ]) {
        const answer = await call(`/events?${query}`, { token: t });
        expect(answer.status, query).toBe(400);
        expect(answer.body).toEqual({
          code: 'bad_request',
          message: expect.stringMatching(new RegExp(`^${parameter}: `)),
        });
      }
    });
  });

  describe('GET /events', () => {
    it('pages in log order with `more`, from a cursor or a time, and answers the newest without either', async () => {
      const tenant = freshTenant();
      const t = await bearer({ tenant });
      const empty = await poll('', t);
      expect(empty).toEqual({ events: [], lastEventId: null, more: false });
      const since = Date.now() - 1000;
      await emit(
        tenant,
        Array.from({ length: 25 }, (_, i) => ({ type: 'goal.updated', detail: { goalId: `g${i}`, n: i } })),
      );

      const pages: EventsResponse[] = [await poll(`since=${since}&limit=10`, t)];
      while (pages.at(-1)!.more) pages.push(await poll(`after=${pages.at(-1)!.lastEventId}&limit=10`, t));
      expect(pages.map((p) => [p.events.length, p.more])).toEqual([
        [10, true],
        [10, true],
        [5, false],
      ]);
      const all = pages.flatMap((p) => p.events);
      expect(all.map((e) => e.data.n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(new Set(all.map((e) => e.eventId)).size).toBe(25);
      expect(pages.at(-1)!.lastEventId).toBe(all.at(-1)!.eventId);

      const newest = await poll('limit=3', t);
      expect(newest.events.map((e) => e.data.n)).toEqual([22, 23, 24]);
      expect(newest).toMatchObject({ lastEventId: all.at(-1)!.eventId, more: false });
      expect((await poll('', t)).events).toHaveLength(20);
      const iso = await poll(`since=${encodeURIComponent(new Date(since).toISOString())}&limit=100`, t);
      expect(iso.events.map((e) => e.eventId)).toEqual(all.map((e) => e.eventId));
      // Caught up: nothing after the last event.
      expect(await poll(`after=${all.at(-1)!.eventId}`, t)).toEqual({
        events: [],
        lastEventId: all.at(-1)!.eventId,
        more: false,
      });
    });

    it('answers 410 gap for an unknown or foreign cursor (the same answer) and for a time older than the retention', async () => {
      const a = freshTenant();
      const b = freshTenant();
      await emit(b, [{ type: 'goal.created', detail: { goalId: 'b1' } }]);
      const bToken = await bearer({ tenant: b });
      const foreignId = (await poll('', bToken)).lastEventId;
      expect(foreignId).toMatch(/^evt_/);

      const aToken = await bearer({ tenant: a });
      const foreign = await call(`/events?after=${foreignId}`, { token: aToken });
      const unknown = await call(`/events?after=evt_${randomUUID()}`, { token: aToken });
      expect(foreign.status).toBe(410);
      expect(unknown.status).toBe(410);
      expect(foreign.body).toEqual(unknown.body);
      expect(foreign.body).toEqual({ code: 'gap', message: expect.any(String) });
      const old = await call(`/events?since=${Date.now() - 25 * 3_600_000}`, { token: aToken });
      expect(old.status).toBe(410);
      expect(old.body).toMatchObject({ code: 'gap' });
    });

    it('filters by types and audience exactly like live delivery to a WebSocket client of the same user', async () => {
      const tenant = freshTenant();
      const who: Array<{ user: string; roles: string[]; types: string[] }> = [
        { user: 'alice', roles: [], types: ['goal.*'] },
        { user: 'bob', roles: ['admin'], types: [] },
        { user: 'carol', roles: ['ops', 'support'], types: ['issue.*', 'action.created'] },
        { user: 'dave', roles: [], types: [] },
      ];
      const clients = await Promise.all(
        who.map(async (w) => {
          const c = await ws({ tenant, user: w.user, roles: w.roles });
          if (w.types.length > 0)
            expect((await c.request({ action: 'subscribe', eventTypes: w.types }, ['subscribe.success'])).type).toBe(
              'subscribe.success',
            );
          return c;
        }),
      );
      const since = Date.now() - 1000;
      const types = [
        'goal.created',
        'goal.step.done',
        'issue.resolved',
        'action.created',
        'action.updated',
        'billing.paid',
      ];
      const audiences = [
        undefined,
        { userIds: ['alice'] },
        { roles: ['admin'] },
        { userIds: ['carol'], roles: ['admin'] },
        { roles: ['support'] },
        { userIds: ['nobody'] },
      ];
      const events = types.flatMap((type, i) =>
        audiences.map((audience, j) => ({
          type,
          detail: {
            goalId: `g${i}`,
            actionId: `a${i}`,
            issueId: `i${i}`,
            n: i * 10 + j,
            ...(audience ? { audience } : {}),
          },
        })),
      );
      await emit(tenant, events);
      for (const c of clients) await drained(c);

      for (const [i, w] of who.entries()) {
        const live = envelopes(clients[i]!);
        const t = await bearer({ tenant, user: w.user, roles: w.roles });
        const polled = await poll(`since=${since}&limit=100${w.types.length ? `&types=${w.types.join(',')}` : ''}`, t);
        expect(polled.events, w.user).toEqual(live);
        expect(live.length, w.user).toBeGreaterThan(0);
        expect(live.length, w.user).toBeLessThan(events.length);
      }
    });

    it('joins WebSocket, polling and WebSocket again into one exact sequence (cursor continuity)', async () => {
      const tenant = freshTenant();
      const t = await bearer({ tenant, user: 'u' });
      const first = await ws({ tenant, user: 'u' });
      const n = (k: number) => ({ type: 'goal.updated', detail: { goalId: 'g', n: k } });
      await emit(tenant, [n(1), n(2), n(3)]);
      await drained(first);
      const seen: Envelope[] = [...envelopes(first)];
      expect(seen).toHaveLength(3);
      first.close();
      await first.waitClosed();

      // Offline: the client polls from the last eventId it had.
      await emit(tenant, [n(4), n(5), n(6)]);
      const polled = await poll(`after=${seen.at(-1)!.eventId}`, t);
      expect(polled.more).toBe(false);
      seen.push(...polled.events);
      await emit(tenant, [n(7), n(8)]);

      // Back on the WebSocket: resume from the last polled eventId, then live again.
      const second = await ws({ tenant, user: 'u' });
      const done = await second.request({ action: 'resume', lastEventId: polled.lastEventId }, [
        'resume.success',
        'resume.error',
      ]);
      expect(done.type).toBe('resume.success');
      await emit(tenant, [n(9)]);
      await drained(second);
      // The resume replays an overlap before its cursor (issue 9's design): a client drops the
      // envelopes it already has by eventId, and then holds one exact sequence.
      const had = new Set(seen.map((e) => e.eventId));
      const fresh = envelopes(second).filter((e) => !had.has(e.eventId));
      expect(envelopes(second).length - fresh.length).toBeLessThanOrEqual(6);
      seen.push(...fresh);

      expect(seen.map((e) => e.data.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(9);
      // Polling the whole stretch again gives the same envelopes the WebSocket delivered.
      const again = await poll(`after=${seen[0]!.eventId}&limit=100`, t);
      expect(again.events).toEqual(seen.slice(1));
    });
  });

  describe('tenant isolation', () => {
    it('never shows tenant B anything of tenant A: events, presence or status', async () => {
      const a = freshTenant();
      const b = freshTenant();
      await ws({ tenant: a, user: 'alice' });
      await emit(a, [
        { type: 'goal.created', detail: { goalId: 'a1' } },
        { type: 'goal.created', detail: { goalId: 'a2', audience: { roles: [STATUS_ROLE] } } },
      ]);
      const bOps = await bearer({ tenant: b, user: 'mallory', roles: [STATUS_ROLE] });
      expect(await poll('limit=100', bOps)).toEqual({ events: [], lastEventId: null, more: false });
      expect((await call('/presence', { token: bOps })).body).toEqual({ connections: 0, users: [] });
      expect((await call('/status', { token: bOps })).body).toEqual({
        tenantId: b,
        connections: 0,
        users: 0,
        lastEventId: null,
        eventsRetainedHours: 24,
      });
      const aEvents = await poll('limit=100', await bearer({ tenant: a, user: 'x', roles: [STATUS_ROLE] }));
      expect(aEvents.events.map((e) => e.data.goalId)).toEqual(['a1', 'a2']);
      expect((await call(`/events?after=${aEvents.lastEventId}`, { token: bOps })).body).toMatchObject({ code: 'gap' });
      // A tenant id that only prefixes another is another tenant.
      expect((await poll('limit=100', await bearer({ tenant: a.slice(0, -1) }))).events).toEqual([]);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string, method = 'GET') =>
      fetch(`${rt.httpUrl}/events`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
      });

    it('answers the preflight of an allowed origin with the CORS headers, and of another without them', async () => {
      const allowed = await preflight(ORIGIN);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(allowed.headers.get('access-control-allow-methods')).toBe('GET,OPTIONS');
      expect(allowed.headers.get('access-control-allow-headers')).toBe('authorization');
      const other = await preflight('https://evil.example');
      expect(other.status).toBe(204);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(ORIGIN, 'POST')).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('sets access-control-allow-origin on answers to the allowed origin, errors included', async () => {
      const ok = await call('/health', { headers: { origin: ORIGIN } });
      expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      const unauthorized = await call('/events', { headers: { origin: ORIGIN } });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(
        (await call('/health', { headers: { origin: 'https://evil.example' } })).headers.get(
          'access-control-allow-origin',
        ),
      ).toBeNull();
    });
  });

  describe('log hygiene', () => {
    it('never prints a token, a token segment, or a query string', async () => {
      await call(`/events?after=evt_${'q'.repeat(20)}-canary`, { token: await bearer({ tenant: freshTenant() }) });
      const output = rt.output();
      expect(output).toContain('READY ');
      expect(output).toContain('http request');
      for (const t of sent) {
        expect(output).not.toContain(t);
        for (const segment of t.split('.')) if (segment.length >= 16) expect(output).not.toContain(segment);
      }
      expect(output).not.toContain('-canary');
    });
  });
});
