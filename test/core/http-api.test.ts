/**
 * The HTTP API's pure logic with in-memory fakes: bearer authentication, every route and error
 * code, the `GET /events` page function (cursor, gap, cap, paging, scan budget, dedupe, size
 * bound) and its filtering compared with what fan-out delivers for the same events.
 */
import { describe, expect, it } from 'vitest';
import {
  type Audience,
  type Envelope,
  HTTP_ROUTES,
  HttpRoute,
  MAX_FILTER_SOURCES,
  MAX_TOKEN_LENGTH,
  PRIORITIES,
} from '../../lambdas/contract/index.js';
import { AuthError } from '../../lambdas/core/errors.js';
import { fanOut } from '../../lambdas/core/fanout.js';
import {
  bearerToken,
  DEFAULT_POLL_LIMITS,
  type DeliveryFilter,
  type HttpApiDeps,
  type HttpReply,
  handleHttpRequest,
  type PollLimits,
  parseEventsQuery,
  parseSince,
  pollEvents,
  presence,
} from '../../lambdas/core/http-api.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import type { EventLog, EventLogScan, Identity } from '../../lambdas/core/ports.js';
import {
  envelope,
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  identity,
  MapVerifier,
  ScriptedSender,
  seedAuthenticated,
} from './fakes.js';

const ROUTE = Object.fromEntries(Object.entries(HTTP_ROUTES).map(([name, spec]) => [name, spec.routeKey])) as Record<
  keyof typeof HTTP_ROUTES,
  string
>;
const SETTINGS = { stage: 'test', version: '1.2.3', statusRole: 'ops', eventRetentionHours: 24 };

const MEMBER: Identity = identity({ tenantId: 't1', userId: 'alice', roles: ['member'] });
const OPS: Identity = identity({ tenantId: 't1', userId: 'olga', roles: ['ops'] });
const OTHER: Identity = identity({ tenantId: 't2', userId: 'bob', roles: ['ops'] });

/** A log that fails the test on any call: proves a route makes no database call. */
const untouchable: EventLogScan & Pick<EventLog, 'latest'> = {
  scanForward: () => Promise.reject(new Error('no database call expected')),
  scanBackward: () => Promise.reject(new Error('no database call expected')),
  latest: () => Promise.reject(new Error('no database call expected')),
};

function setup(overrides: Partial<HttpApiDeps> = {}) {
  const clock = new FakeClock();
  const log = new InMemoryEventLog();
  const store = new InMemoryConnectionStore();
  const verifier = new MapVerifier({
    member: MEMBER,
    ops: OPS,
    other: OTHER,
    'tok-expired-7f3a': new AuthError('token_expired', 'token has expired (exp)'),
    'tok-claims-51bc': new AuthError('invalid_claims', 'claim "sub" is missing'),
    jwksDown: new Error('JWKS endpoint unreachable'),
  });
  const deps: HttpApiDeps = { verifier, log, store, clock: clock.now, settings: SETTINGS, ...overrides };
  const call = (
    routeKey: string,
    options: { token?: string; authorization?: string; query?: Record<string, string> } = {},
  ) =>
    handleHttpRequest(deps, {
      routeKey,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
      query: options.query ?? {},
    });
  return { clock, log, store, verifier, deps, call };
}

/** Appends events to the log as the broadcaster would, 10 ms apart from the clock's time. */
async function logEvents(
  log: InMemoryEventLog,
  clock: FakeClock,
  events: Array<{ env: Envelope; audience?: Audience }>,
): Promise<void> {
  for (const e of events) {
    clock.advance(10);
    await appendEvent(
      log,
      { envelope: e.env, ...(e.audience ? { audience: e.audience } : {}) },
      clock.nowMs,
      clock.seconds + 86_400,
    );
  }
}

const ids = (reply: HttpReply) => (reply.body as { events: Envelope[] }).events.map((e) => e.eventId);
const body = (reply: HttpReply) => reply.body as Record<string, unknown>;

describe('bearer authentication', () => {
  it('reads the token of "Authorization: Bearer <token>", with the scheme in any case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER  abc ')).toBe('abc');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('abc')).toBeUndefined();
  });

  it.each([
    ['no header', {}],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('answers 401 with a bare "WWW-Authenticate: Bearer" for %s', async (_name, options) => {
    const { call, verifier } = setup();
    const reply = await call(ROUTE.events, options);
    expect(reply.statusCode).toBe(401);
    expect(reply.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    expect(body(reply).code).toBe('invalid_token');
    expect(verifier.seen).toEqual([]);
  });

  it.each([
    ['a bad token', 'garbage', 'invalid_token'],
    ['an expired token', 'tok-expired-7f3a', 'token_expired'],
    ['a token with bad claims', 'tok-claims-51bc', 'invalid_claims'],
  ])('answers 401 with error="invalid_token" and the auth.error code for %s', async (_name, token, code) => {
    const { call } = setup();
    const reply = await call(ROUTE.presence, { token });
    expect(reply.statusCode).toBe(401);
    expect(reply.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    expect(reply.body).toEqual({ code, message: expect.any(String) });
    expect(JSON.stringify(reply.body)).not.toContain(token);
  });

  it('refuses a token over the size cap without verifying it', async () => {
    const { call, verifier } = setup();
    const reply = await call(ROUTE.events, { token: 'x'.repeat(MAX_TOKEN_LENGTH + 1) });
    expect(reply.statusCode).toBe(401);
    expect(body(reply).code).toBe('invalid_token');
    expect(verifier.seen).toEqual([]);
  });

  it('lets a server-side verification failure (JWKS unreachable) throw: it is not the client’s fault', async () => {
    const { call } = setup();
    await expect(call(ROUTE.events, { token: 'jwksDown' })).rejects.toThrow(/JWKS/);
  });
});

describe('routes', () => {
  it('answers 404 like API Gateway for an unknown route or another method', async () => {
    const { call } = setup({ log: untouchable });
    for (const key of ['GET /nope', 'POST /events', 'DELETE /status', '$default']) {
      expect(await call(key, { token: 'ops' })).toEqual({ statusCode: 404, body: { message: 'Not Found' } });
    }
  });

  it('GET /health answers stage and version without a database call or a token', async () => {
    const { call, verifier } = setup({ log: untouchable });
    expect(await call(ROUTE.health)).toEqual({
      statusCode: 200,
      body: { status: 'ok', stage: 'test', version: '1.2.3' },
    });
    expect(await call(ROUTE.health, { token: 'garbage', query: { deep: '0' } })).toMatchObject({ statusCode: 200 });
    expect(verifier.seen).toEqual([]);
  });

  it('GET /health?deep=1 is for the status role: 401 without a token, 403 for a member', async () => {
    const { call } = setup({ log: untouchable });
    const anonymous = await call(ROUTE.health, { query: { deep: '1' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    const member = await call(ROUTE.health, { token: 'member', query: { deep: '1' } });
    expect(member.statusCode).toBe(403);
    expect(body(member).code).toBe('forbidden');
  });

  it('GET /health?deep=1 times a DynamoDB query; a failure is 503 without its details', async () => {
    const { call } = setup();
    const ok = await call(ROUTE.health, { token: 'ops', query: { deep: '1' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toEqual({
      status: 'ok',
      stage: 'test',
      version: '1.2.3',
      checks: { dynamodb: { status: 'ok', latencyMs: expect.any(Number) } },
    });

    const failing = setup({
      log: { ...untouchable, latest: () => Promise.reject(new Error('arn:aws:dynamodb:secret-table unreachable')) },
    });
    const down = await failing.call(ROUTE.health, { token: 'ops', query: { deep: '1' } });
    expect(down.statusCode).toBe(503);
    expect(down.body).toMatchObject({
      code: 'unavailable',
      status: 'error',
      checks: { dynamodb: { status: 'error' } },
    });
    expect(JSON.stringify(down.body)).not.toContain('arn:aws');
    expect(down.error).toBeInstanceOf(Error);
  });

  it('GET /health refuses a deep value other than 1 or 0, naming the parameter', async () => {
    const { call } = setup({ log: untouchable });
    const reply = await call(ROUTE.health, { query: { deep: 'yes' } });
    expect(reply.statusCode).toBe(400);
    expect(reply.body).toEqual({ code: 'bad_request', message: expect.stringMatching(/^deep: /) });
  });

  it('GET /status is for the status role only', async () => {
    const { call, store, log, clock } = setup();
    await seedAuthenticated(store, 'c1', { tenantId: 't1', userId: 'alice' });
    await seedAuthenticated(store, 'c2', { tenantId: 't1', userId: 'alice' });
    await seedAuthenticated(store, 'c3', { tenantId: 't1', userId: 'olga' });
    await seedAuthenticated(store, 'c4', { tenantId: 't2', userId: 'bob' });
    await logEvents(log, clock, [{ env: envelope(1) }, { env: envelope(2) }]);

    const member = await call(ROUTE.status, { token: 'member' });
    expect(member.statusCode).toBe(403);
    expect(member.body).toEqual({ code: 'forbidden', message: expect.any(String) });

    const ops = await call(ROUTE.status, { token: 'ops' });
    expect(ops).toMatchObject({
      statusCode: 200,
      body: { tenantId: 't1', connections: 3, users: 2, lastEventId: 'evt_2', eventsRetainedHours: 24 },
    });
    // Another tenant's status role sees its own tenant only.
    expect((await call(ROUTE.status, { token: 'other' })).body).toEqual({
      tenantId: 't2',
      connections: 1,
      users: 1,
      lastEventId: null,
      eventsRetainedHours: 24,
    });
  });

  it("GET /presence counts the caller's tenant's authenticated, unexpired connections per user", async () => {
    const { call, store, clock } = setup();
    await seedAuthenticated(store, 'c1', { tenantId: 't1', userId: 'zoe' });
    await seedAuthenticated(store, 'c2', { tenantId: 't1', userId: 'alice' });
    await seedAuthenticated(store, 'c3', { tenantId: 't1', userId: 'alice' });
    await seedAuthenticated(store, 'c4', { tenantId: 't1', userId: 'late', expiresAt: clock.seconds });
    await seedAuthenticated(store, 'c5', { tenantId: 't2', userId: 'bob' });
    await store.putPending({
      connectionId: 'p1',
      connectedAt: clock.seconds,
      authDeadline: clock.seconds + 30,
      ttl: clock.seconds + 7800,
    });

    const reply = await call(ROUTE.presence, { token: 'member' });
    expect(reply).toEqual({
      statusCode: 200,
      tenantId: 't1',
      body: {
        connections: 3,
        users: [
          { userId: 'alice', connections: 2 },
          { userId: 'zoe', connections: 1 },
        ],
      },
    });
    expect(await presence(store, 't3', clock.seconds)).toEqual({ connections: 0, users: [] });
  });
});

describe('GET /events parameters', () => {
  it('defaults to the newest 20 of every type', () => {
    expect(parseEventsQuery({})).toEqual({ ok: true, value: { cursor: undefined, types: [], sources: [], limit: 20 } });
    expect(parseEventsQuery({ types: '' })).toMatchObject({ ok: true, value: { types: [] } });
  });

  it('reads after, since, types (trimmed, deduplicated) and limit', () => {
    expect(parseEventsQuery({ after: 'evt_1', types: 'goal.*, action.created,goal.*', limit: '100' })).toEqual({
      ok: true,
      value: { cursor: { after: 'evt_1' }, types: ['goal.*', 'action.created'], sources: [], limit: 100 },
    });
    expect(parseEventsQuery({ since: '1736942400000', limit: '1' })).toEqual({
      ok: true,
      value: { cursor: { since: 1_736_942_400_000 }, types: [], sources: [], limit: 1 },
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '5,6' }, 'limit'],
    [{ limit: '-1' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ types: 'goal' }, 'types'],
    [{ types: 'goal.*.x' }, 'types'],
    [{ types: '*' }, 'types'],
    [{ types: 'goal.created,,issue.*' }, 'types'],
    [{ types: Array.from({ length: 101 }, (_, i) => `t${i}.x`).join(',') }, 'types'],
    [{ after: 'evt_1', since: '0' }, 'after, since'],
    [{ after: '' }, 'after'],
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2026-01-01' }, 'since'],
    [{ since: '2026-01-01T12:00:00' }, 'since'],
  ])('refuses %j, naming %s', (query, parameter) => {
    const parsed = parseEventsQuery(query);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toMatch(new RegExp(`^${parameter}: `));
  });

  it('reads sources (trimmed, deduplicated, exact) and minPriority', () => {
    expect(parseEventsQuery({ sources: 'billing, crm,billing', minPriority: 'high' })).toEqual({
      ok: true,
      value: { cursor: undefined, types: [], sources: ['billing', 'crm'], minPriority: 'high', limit: 20 },
    });
    expect(parseEventsQuery({ sources: 'Billing Service' })).toMatchObject({
      ok: true,
      value: { sources: ['Billing Service'] },
    });
    expect(parseEventsQuery({ sources: '' })).toMatchObject({ ok: true, value: { sources: [] } });
    for (const p of PRIORITIES)
      expect(parseEventsQuery({ minPriority: p })).toMatchObject({ ok: true, value: { minPriority: p } });
    const none = parseEventsQuery({});
    expect(none.ok && 'minPriority' in none.value).toBe(false);
    const twenty = Array.from({ length: MAX_FILTER_SOURCES }, (_, i) => `s${i}`);
    expect(parseEventsQuery({ sources: [...twenty, 's0'].join(',') })).toMatchObject({
      ok: true,
      value: { sources: twenty },
    });
  });

  it.each([
    [{ sources: 'billing,,crm' }, 'sources'],
    [{ sources: ' , ' }, 'sources'],
    [{ sources: 'x'.repeat(257) }, 'sources'],
    [{ sources: 'billing,\ud800' }, 'sources'],
    [{ sources: Array.from({ length: 21 }, (_, i) => `s${i}`).join(',') }, 'sources'],
    [{ minPriority: 'urgent' }, 'minPriority'],
    [{ minPriority: 'HIGH' }, 'minPriority'],
    [{ minPriority: '' }, 'minPriority'],
    [{ minPriority: '3' }, 'minPriority'],
    [{ minPriority: 'high,low' }, 'minPriority'],
  ])('refuses %j, naming %s', (query, parameter) => {
    const parsed = parseEventsQuery(query);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toMatch(new RegExp(`^${parameter}: `));
  });

  it('answers 400 naming sources or minPriority through the route, in the bad-request shape', async () => {
    const { call } = setup();
    const badFloor = await call(ROUTE.events, { token: 'member', query: { minPriority: 'urgent' } });
    expect(badFloor).toMatchObject({
      statusCode: 400,
      body: { code: 'bad_request', message: expect.stringMatching(/^minPriority: must be one of "low"/) },
    });
    expect(Object.keys(badFloor.body).sort()).toEqual(['code', 'message']);
    const tooMany = await call(ROUTE.events, {
      token: 'member',
      query: { sources: Array.from({ length: MAX_FILTER_SOURCES + 1 }, (_, i) => `s${i}`).join(',') },
    });
    expect(tooMany).toMatchObject({
      statusCode: 400,
      body: { code: 'bad_request', message: `sources: at most ${MAX_FILTER_SOURCES} sources` },
    });
  });

  it('parses since as ISO 8601 with a zone, or epoch milliseconds', () => {
    expect(parseSince('2025-01-15T12:00:00Z')).toBe(Date.UTC(2025, 0, 15, 12));
    expect(parseSince('2025-01-15T12:00:00.250Z')).toBe(Date.UTC(2025, 0, 15, 12, 0, 0, 250));
    expect(parseSince('2025-01-15T13:00:00+01:00')).toBe(Date.UTC(2025, 0, 15, 12));
    expect(parseSince('2025-01-15T12:00Z')).toBe(Date.UTC(2025, 0, 15, 12));
    expect(parseSince('0')).toBe(0);
    expect(parseSince('2025-13-45T99:99:99Z')).toBeUndefined();
    expect(parseSince('1e12')).toBeUndefined();
  });

  it('answers 400 naming the parameter through the route', async () => {
    const { call } = setup();
    const reply = await call(ROUTE.events, { token: 'member', query: { limit: '500' } });
    expect(reply).toMatchObject({
      statusCode: 400,
      body: { code: 'bad_request', message: expect.stringMatching(/^limit: /) },
    });
  });
});

describe('GET /events page function', () => {
  const all: DeliveryFilter = { types: [], userId: 'alice', roles: [] };
  const pollTime = Date.UTC(2025, 0, 15, 12, 1);

  /** evt_1..evt_n of t1, 10 ms apart. */
  async function seeded(
    n: number,
    make: (i: number) => { env: Envelope; audience?: Audience } = (i) => ({ env: envelope(i) }),
  ) {
    const clock = new FakeClock();
    const log = new InMemoryEventLog();
    await logEvents(
      log,
      clock,
      Array.from({ length: n }, (_, i) => make(i + 1)),
    );
    return { log, clock };
  }
  const poll = (
    log: EventLogScan,
    cursor: { after: string } | { since: number } | undefined,
    options: { filter?: DeliveryFilter; limit?: number; limits?: Partial<PollLimits>; tenantId?: string } = {},
  ) =>
    pollEvents(
      log,
      options.tenantId ?? 't1',
      options.filter ?? all,
      { cursor, limit: options.limit ?? 20 },
      pollTime,
      24,
      { ...DEFAULT_POLL_LIMITS, ...options.limits },
    );
  const page = async (result: ReturnType<typeof poll>) => {
    const r = await result;
    if (!r.ok) throw new Error(`gap: ${r.message}`);
    return { ids: r.response.events.map((e) => e.eventId), lastEventId: r.response.lastEventId, more: r.response.more };
  };

  it('without a cursor: the newest `limit` events in log order, the tenant head as next cursor, no more', async () => {
    const { log } = await seeded(30);
    expect(await page(poll(log, undefined, { limit: 3 }))).toEqual({
      ids: ['evt_28', 'evt_29', 'evt_30'],
      lastEventId: 'evt_30',
      more: false,
    });
    expect(await page(poll(new InMemoryEventLog(), undefined))).toEqual({ ids: [], lastEventId: null, more: false });
  });

  it('without a cursor: the newest events this caller would receive, the head even when it is filtered out', async () => {
    const { log } = await seeded(10, (i) =>
      i % 2 === 0 ? { env: envelope(i) } : { env: envelope(i), audience: { userIds: ['someone-else'] } },
    );
    expect(await page(poll(log, undefined, { limit: 2, limits: { chunkSize: 3 } }))).toEqual({
      ids: ['evt_8', 'evt_10'],
      lastEventId: 'evt_10',
      more: false,
    });
    const other = await seeded(3, (i) => ({ env: envelope(i), audience: { userIds: ['someone-else'] } }));
    expect(await page(poll(other.log, undefined))).toEqual({ ids: [], lastEventId: 'evt_3', more: false });
  });

  it('after a cursor: pages in log order with `more`, and the pages join into one exact sequence', async () => {
    const { log } = await seeded(25);
    const seen: string[] = [];
    let cursor = 'evt_2';
    const answers: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await page(poll(log, { after: cursor }, { limit: 10, limits: { chunkSize: 4 } }));
      seen.push(...p.ids);
      answers.push(p.more);
      cursor = p.lastEventId!;
      if (!p.more) break;
    }
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `evt_${i + 3}`));
    expect(answers).toEqual([true, true, false]);
    expect(cursor).toBe('evt_25');
    expect(await page(poll(log, { after: 'evt_25' }))).toEqual({ ids: [], lastEventId: 'evt_25', more: false });
  });

  it('since: every event logged at or after the time', async () => {
    const { log } = await seeded(5);
    const third = Date.UTC(2025, 0, 15, 12) + 30; // evt_3 was logged 30 ms after the clock's start
    expect(await page(poll(log, { since: third }))).toEqual({
      ids: ['evt_3', 'evt_4', 'evt_5'],
      lastEventId: 'evt_5',
      more: false,
    });
    expect(await page(poll(log, { since: third + 1_000 }))).toEqual({ ids: [], lastEventId: null, more: false });
  });

  it.each([
    ['an unknown id', { after: 'evt_404' }],
    ["another tenant's id", { after: 'evt_t2' }],
    ['an id longer than any issued', { after: `evt_${'x'.repeat(600)}` }],
    ['a time older than the retention', { since: Date.UTC(2025, 0, 14, 11) }],
  ])('is a gap for %s', async (_name, cursor) => {
    const { log, clock } = await seeded(3);
    await logEvents(log, clock, [{ env: envelope(0, { eventId: 'evt_t2', tenantId: 't2' }) }]);
    const result = await poll(log, cursor);
    expect(result).toEqual({ ok: false, message: expect.stringMatching(/refetch state/) });
  });

  it('is a gap for an expired id', async () => {
    const log = new InMemoryEventLog();
    await appendEvent(log, { envelope: envelope(1) }, Date.UTC(2025, 0, 15, 11), Math.floor(pollTime / 1000));
    expect((await poll(log, { after: 'evt_1' })).ok).toBe(false);
  });

  it('is a gap when more events than the cap are missed, counting only what this caller would receive', async () => {
    // 12 events; only the goal.* ones (4) are for a caller subscribed to goal.*.
    const { log } = await seeded(12, (i) =>
      i % 3 === 0 ? { env: envelope(i) } : { env: envelope(i, { type: 'issue.created' }) },
    );
    const cap = { maxEvents: 5, chunkSize: 4 };
    expect((await poll(log, { after: 'evt_1' }, { limit: 2, limits: cap })).ok).toBe(false);
    const narrow = await page(
      poll(log, { after: 'evt_1' }, { limit: 2, limits: cap, filter: { ...all, types: ['goal.*'] } }),
    );
    expect(narrow).toEqual({ ids: ['evt_3', 'evt_6'], lastEventId: 'evt_8', more: true });
    // At most the cap itself is still a page.
    expect((await poll(log, { after: 'evt_7' }, { limit: 2, limits: cap })).ok).toBe(true);
  });

  it('reads at most the scan budget per request, then answers with a cursor past what it read', async () => {
    // 30 events, only the last one is for alice.
    const { log } = await seeded(30, (i) =>
      i === 30 ? { env: envelope(i) } : { env: envelope(i), audience: { userIds: ['bob'] } },
    );
    const limits = { scanBudget: 10, chunkSize: 4 };
    const first = await page(poll(log, { after: 'evt_1' }, { limits }));
    expect(first).toEqual({ ids: [], lastEventId: 'evt_11', more: true });
    const read = log.scans.reduce((sum, s) => sum + s.limit, 0);
    expect(read).toBeLessThanOrEqual(10);
    const second = await page(poll(log, { after: first.lastEventId! }, { limits }));
    const third = await page(poll(log, { after: second.lastEventId! }, { limits }));
    expect(second).toEqual({ ids: [], lastEventId: 'evt_21', more: true });
    expect(third).toEqual({ ids: ['evt_30'], lastEventId: 'evt_30', more: false });
  });

  it('covers filtered events after the last match: the cursor moves past them', async () => {
    const { log } = await seeded(6, (i) =>
      i <= 3 ? { env: envelope(i) } : { env: envelope(i, { type: 'issue.created' }) },
    );
    expect(await page(poll(log, { after: 'evt_1' }, { filter: { ...all, types: ['goal.*'] } }))).toEqual({
      ids: ['evt_2', 'evt_3'],
      lastEventId: 'evt_6',
      more: false,
    });
  });

  it('returns an eventId logged twice (a retried broadcast) once', async () => {
    const { log, clock } = await seeded(3);
    clock.advance(10);
    log.relog({ envelope: envelope(2) }, clock.nowMs, clock.seconds + 86_400);
    await logEvents(log, clock, [{ env: envelope(4) }]);
    expect(await page(poll(log, { after: 'evt_1' }))).toEqual({
      ids: ['evt_2', 'evt_3', 'evt_4'],
      lastEventId: 'evt_4',
      more: false,
    });
    expect((await page(poll(log, undefined))).ids).toEqual(['evt_1', 'evt_3', 'evt_2', 'evt_4']);
  });

  it('stops a page before it outgrows the response size bound, with more', async () => {
    const big = (i: number) => ({
      env: envelope(i, { data: { tenantId: 't1', goalId: `g${i}`, blob: 'x'.repeat(1000) } }),
    });
    const { log } = await seeded(5, big);
    const first = await page(poll(log, { after: 'evt_1' }, { limits: { maxResponseBytes: 2500 } }));
    expect(first).toEqual({ ids: ['evt_2', 'evt_3'], lastEventId: 'evt_3', more: true });
    expect(await page(poll(log, { after: 'evt_3' }, { limits: { maxResponseBytes: 2500 } }))).toEqual({
      ids: ['evt_4', 'evt_5'],
      lastEventId: 'evt_5',
      more: false,
    });
  });

  it('never returns another tenant’s events, with or without a cursor', async () => {
    const { log, clock } = await seeded(2);
    await logEvents(log, clock, [
      { env: envelope(50, { tenantId: 't2', data: { tenantId: 't2', goalId: 'g50' } }) },
      { env: envelope(3) },
    ]);
    expect((await page(poll(log, { after: 'evt_1' }))).ids).toEqual(['evt_2', 'evt_3']);
    expect((await page(poll(log, undefined, { tenantId: 't2' }))).ids).toEqual(['evt_50']);
    expect((await page(poll(log, undefined, { tenantId: 't3' }))).lastEventId).toBeNull();
  });
});

describe('GET /events filters exactly like live delivery', () => {
  /** What fan-out sends to one connection for each event, compared with what a poll returns. */
  it.each([
    ['every type, no roles', { types: [], userId: 'alice', roles: [] }],
    ['goal.* and an exact type', { types: ['goal.*', 'issue.resolved'], userId: 'alice', roles: [] }],
    ['a role', { types: [], userId: 'carol', roles: ['admin'] }],
    ['a narrow type and a role', { types: ['action.created'], userId: 'dave', roles: ['ops', 'admin'] }],
  ] as const)('for a connection with %s', async (_name, who) => {
    const clock = new FakeClock();
    const store = new InMemoryConnectionStore();
    await seedAuthenticated(
      store,
      'c1',
      {
        tenantId: 't1',
        userId: who.userId,
        roles: [...who.roles],
        ...(who.types.length ? { subscriptions: [...who.types] } : {}),
      },
      clock.seconds,
    );
    const sender = new ScriptedSender(clock.now);
    const log = new InMemoryEventLog();
    const types = [
      'goal.created',
      'goal.step.done',
      'issue.resolved',
      'issue.created',
      'action.created',
      'goalx.created',
    ];
    const audiences: Array<Audience | undefined> = [
      undefined,
      { userIds: ['alice'] },
      { roles: ['admin'] },
      { userIds: ['bob'], roles: ['ops'] },
      { userIds: ['zed'] },
    ];
    const events: Array<{ env: Envelope; audience?: Audience }> = [];
    let n = 0;
    for (const type of types)
      for (const audience of audiences) {
        n++;
        events.push({ env: envelope(n, { type }), ...(audience ? { audience } : {}) });
      }
    await logEvents(log, clock, events);
    for (const e of events) {
      await fanOut({ store, sender, clock: clock.now, concurrency: 10 }, 't1', {
        type: e.env.type,
        payload: JSON.stringify(e.env),
        ...(e.audience ? { audience: e.audience } : {}),
      });
    }
    const live = sender.received('c1').map((f) => f.eventId);
    const polled = await pollEvents(
      log,
      't1',
      { types: who.types, userId: who.userId, roles: who.roles },
      { cursor: { since: 0 }, limit: 100 },
      clock.nowMs,
      24 * 365 * 60,
    );
    expect(polled.ok && polled.response.events.map((e) => e.eventId)).toEqual(live);
    expect(live.length).toBeGreaterThan(0);
    expect(live.length).toBeLessThan(events.length);
  });
});

describe('routes read only the caller’s tenant', () => {
  it("GET /events with another tenant's eventId is the same gap as an unknown one", async () => {
    const { call, log, clock } = setup();
    await logEvents(log, clock, [
      { env: envelope(1) },
      { env: envelope(2, { eventId: 'evt_t2', tenantId: 't2', data: { tenantId: 't2', goalId: 'x' } }) },
    ]);
    const foreign = await call(ROUTE.events, { token: 'member', query: { after: 'evt_t2' } });
    const unknown = await call(ROUTE.events, { token: 'member', query: { after: 'evt_nope' } });
    expect(foreign.statusCode).toBe(410);
    expect(foreign.body).toEqual(unknown.body);
    expect(body(foreign).code).toBe('gap');
    expect(ids(await call(ROUTE.events, { token: 'other' }))).toEqual(['evt_t2']);
    expect(ids(await call(ROUTE.events, { token: 'member' }))).toEqual(['evt_1']);
  });

  it('GET /events answers events, lastEventId and more', async () => {
    const { call, log, clock } = setup();
    await logEvents(log, clock, [{ env: envelope(1) }, { env: envelope(2) }, { env: envelope(3) }]);
    const reply = await call(ROUTE.events, { token: 'member', query: { after: 'evt_1', limit: '1' } });
    expect(reply).toEqual({
      statusCode: 200,
      tenantId: 't1',
      body: { events: [envelope(2)], lastEventId: 'evt_2', more: true },
    });
  });

  it('routes the member routes through the contract table', () => {
    expect(HTTP_ROUTES[HttpRoute.events]).toMatchObject({ routeKey: 'GET /events', access: 'member', handler: 'http' });
    expect(HTTP_ROUTES[HttpRoute.status].access).toBe('status');
    expect(HTTP_ROUTES[HttpRoute.health].access).toBe('public');
  });
});
