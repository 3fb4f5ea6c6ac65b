import { describe, expect, it } from 'vitest';
import {
  type Audience,
  CONNECTION_TTL_SECONDS,
  type Envelope,
  type FilterChange,
  MAX_FILTER_SOURCES,
  MAX_SUBSCRIPTIONS,
  REPLAY_OVERLAP_SECONDS,
} from '../../lambdas/contract/index.js';
import { AuthError } from '../../lambdas/core/errors.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import { changeFilter } from '../../lambdas/core/matching.js';
import type { EventLog, Identity, TokenVerifier } from '../../lambdas/core/ports.js';
import { type ResumeDeps, resume } from '../../lambdas/core/replay.js';
import { authenticate, changeSubscriptions, connect } from '../../lambdas/core/session.js';
import {
  envelope,
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  identity,
  ScriptedSender,
  seedAuthenticated,
  withOverrides,
} from './fakes.js';

/** A verifier that maps known tokens to identities or errors. */
class FakeVerifier implements TokenVerifier {
  readonly seen: string[] = [];
  constructor(private readonly answers: Record<string, Identity | Error>) {}
  async verify(token: string): Promise<Identity> {
    this.seen.push(token);
    const answer = this.answers[token];
    if (answer === undefined) throw new AuthError('invalid_token', 'token is malformed');
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function setup() {
  const clock = new FakeClock();
  const store = new InMemoryConnectionStore();
  return { clock, store };
}

/** The store, but its first two `get`s both return before either caller goes on: the classic lost update. */
function bothReadBeforeEitherWrites(store: Parameters<typeof withOverrides>[0]) {
  let reads = 0;
  let release!: () => void;
  const bothRead = new Promise<void>((resolve) => {
    release = resolve;
  });
  return withOverrides(store, {
    get: async (id) => {
      const record = await store.get(id);
      if (++reads === 2) release();
      if (reads <= 2) await bothRead;
      return record;
    },
  });
}

describe('connect', () => {
  it('records a pending connection with its auth deadline', async () => {
    // Prepare
    const { clock, store } = setup();
    // Act
    const verdict = await connect(
      { store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] },
      'c1',
      undefined,
    );
    // Assess
    expect(verdict).toEqual({ accepted: true });
    const record = await store.get('c1');
    expect(record).toMatchObject({
      connectionId: 'c1',
      connectedAt: clock.seconds,
      authDeadline: clock.seconds + 30,
      sweepAt: clock.seconds + 30,
      ttl: clock.seconds + CONNECTION_TTL_SECONDS,
    });
    expect(record?.tenantId).toBeUndefined();
  });

  it('accepts any Origin when the allowlist is empty', async () => {
    const { clock, store } = setup();
    const verdict = await connect(
      { store, clock: clock.now, authTimeoutSeconds: 10, allowedOrigins: [] },
      'c1',
      'https://evil.example',
    );
    expect(verdict).toEqual({ accepted: true });
    expect((await store.get('c1'))?.authDeadline).toBe(clock.seconds + 10);
  });

  it('accepts an allowed Origin', async () => {
    const { clock, store } = setup();
    const deps = {
      store,
      clock: clock.now,
      authTimeoutSeconds: 30,
      allowedOrigins: ['https://app.example', 'https://admin.example'],
    };
    expect(await connect(deps, 'c1', 'https://admin.example')).toEqual({ accepted: true });
    expect(await store.get('c1')).toBeDefined();
  });

  it.each([
    ['another Origin', 'https://evil.example', 'Origin not allowed'],
    ['a look-alike Origin', 'https://app.example.evil.example', 'Origin not allowed'],
    ['an Origin differing in case', 'https://APP.example', 'Origin not allowed'],
    ['a missing Origin', undefined, 'missing Origin'],
  ])('refuses %s with 403 and records nothing', async (_label, origin, reason) => {
    const { clock, store } = setup();
    const verdict = await connect(
      { store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: ['https://app.example'] },
      'c1',
      origin,
    );
    expect(verdict).toEqual({ accepted: false, statusCode: 403, reason });
    expect(store.records.size).toBe(0);
  });
});

describe('authenticate', () => {
  const acme = identity({ tenantId: 'acme', userId: 'ada', roles: ['admin'], expiresAt: 1_736_946_000 });

  async function pendingConnection() {
    const { clock, store } = setup();
    await connect({ store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] }, 'c1', undefined);
    return { clock, store };
  }

  it('authenticates a pending connection and replies auth.success', async () => {
    const { clock, store } = await pendingConnection();
    const verifier = new FakeVerifier({ good: acme });

    const reply = await authenticate({ store, log: new InMemoryEventLog(), verifier, clock: clock.now }, 'c1', 'good');

    expect(reply).toEqual({
      type: 'auth.success',
      data: {
        connectionId: 'c1',
        tenantId: 'acme',
        userId: 'ada',
        expiresAt: new Date(1_736_946_000 * 1000).toISOString(),
        lastEventId: null,
      },
      timestamp: new Date(clock.nowMs).toISOString(),
    });
    expect(await store.get('c1')).toMatchObject({
      tenantId: 'acme',
      userId: 'ada',
      roles: ['admin'],
      tokenExpiresAt: 1_736_946_000,
      sweepAt: 1_736_946_000,
    });
    expect((await store.get('c1'))?.authDeadline).toBeUndefined();
  });

  it.each([
    ['invalid_token', 'signature verification failed'],
    ['token_expired', 'token has expired (exp)'],
    ['invalid_claims', 'tenant claim "tenantId" is missing'],
  ] as const)('replies auth.error %s with the verifier message, leaving the record pending', async (code, message) => {
    const { clock, store } = await pendingConnection();
    const before = await store.get('c1');
    const verifier = new FakeVerifier({ bad: new AuthError(code, message) });

    const reply = await authenticate({ store, log: new InMemoryEventLog(), verifier, clock: clock.now }, 'c1', 'bad');

    expect(reply).toEqual({
      type: 'auth.error',
      data: { code, message },
      timestamp: new Date(clock.nowMs).toISOString(),
    });
    expect(await store.get('c1')).toEqual(before);
  });

  it('rethrows a verifier failure that is not an AuthError (a server-side problem)', async () => {
    const { clock, store } = await pendingConnection();
    const outage = new Error('JWKS endpoint unreachable');
    const verifier = new FakeVerifier({ any: outage });
    await expect(
      authenticate({ store, log: new InMemoryEventLog(), verifier, clock: clock.now }, 'c1', 'any'),
    ).rejects.toBe(outage);
  });

  it('refreshes an authenticated connection with a new token of the same tenant and user', async () => {
    const { clock, store } = await pendingConnection();
    const later = { ...acme, expiresAt: acme.expiresAt + 3600 };
    const verifier = new FakeVerifier({ first: acme, second: later });
    const deps = { store, log: new InMemoryEventLog(), verifier, clock: clock.now };
    await authenticate(deps, 'c1', 'first');
    const ttlBefore = (await store.get('c1'))?.ttl;

    const reply = await authenticate(deps, 'c1', 'second');

    expect(reply).toMatchObject({
      type: 'auth.success',
      data: { expiresAt: new Date(later.expiresAt * 1000).toISOString() },
    });
    expect(await store.get('c1')).toMatchObject({
      tokenExpiresAt: later.expiresAt,
      sweepAt: later.expiresAt,
      ttl: ttlBefore,
    });
  });

  it.each([
    ['another tenant', { tenantId: 'globex' }],
    ['another user', { userId: 'bob' }],
  ])(
    'refuses a token of %s on an authenticated connection (tenant_mismatch) and keeps the record',
    async (_label, other) => {
      const { clock, store } = await pendingConnection();
      const verifier = new FakeVerifier({
        first: acme,
        other: { ...acme, ...other, expiresAt: acme.expiresAt + 3600 },
      });
      const deps = { store, log: new InMemoryEventLog(), verifier, clock: clock.now };
      await authenticate(deps, 'c1', 'first');
      const before = await store.get('c1');

      const reply = await authenticate(deps, 'c1', 'other');

      expect(reply).toMatchObject({ type: 'auth.error', data: { code: 'tenant_mismatch' } });
      expect(await store.get('c1')).toEqual(before);
    },
  );

  it("returns the tenant's newest event as a resume point, read before the connection becomes visible", async () => {
    // Prepare: two events of acme and a newer one of another tenant are logged.
    const { clock, store } = await pendingConnection();
    const log = new InMemoryEventLog();
    const ttl = clock.seconds + 3600;
    await appendEvent(log, { envelope: envelope(1, { tenantId: 'acme' }) }, clock.nowMs - 2000, ttl);
    await appendEvent(log, { envelope: envelope(2, { tenantId: 'acme' }) }, clock.nowMs - 1000, ttl);
    await appendEvent(log, { envelope: envelope(3, { tenantId: 'globex' }) }, clock.nowMs - 500, ttl);
    const calls: string[] = [];
    const tracedLog: EventLog = {
      writeCopy: (...a) => log.writeCopy(...a),
      markFirst: (...a) => log.markFirst(...a),
      position: (...a) => log.position(...a),
      read: (...a) => log.read(...a),
      latest: async (t, now) => {
        calls.push('latest');
        return log.latest(t, now);
      },
    };
    const tracedStore = withOverrides(store, {
      authenticate: async (...args) => {
        calls.push('authenticate');
        return store.authenticate(...args);
      },
    });
    // Act
    const reply = await authenticate(
      { store: tracedStore, log: tracedLog, verifier: new FakeVerifier({ t: acme }), clock: clock.now },
      'c1',
      't',
    );
    // Assess
    expect(reply).toMatchObject({ type: 'auth.success', data: { lastEventId: 'evt_2' } });
    expect(calls).toEqual(['latest', 'authenticate']);
  });

  it('returns no resume point once the newest event has expired', async () => {
    const { clock, store } = await pendingConnection();
    const log = new InMemoryEventLog();
    await appendEvent(log, { envelope: envelope(1, { tenantId: 'acme' }) }, clock.nowMs - 2000, clock.seconds - 1);
    const reply = await authenticate(
      { store, log, verifier: new FakeVerifier({ t: acme }), clock: clock.now },
      'c1',
      't',
    );
    expect(reply).toMatchObject({ type: 'auth.success', data: { lastEventId: null } });
  });

  it('answers tenant_mismatch when the conditional write loses a race with another identity', async () => {
    const { clock, store } = await pendingConnection();
    const racing = withOverrides(store, {
      authenticate: async (id, _who, ttl) => {
        await store.authenticate(id, identity({ tenantId: 'globex', userId: 'mallory' }), ttl); // another auth got there first
        return store.authenticate(id, acme, ttl);
      },
    });
    const reply = await authenticate(
      { store: racing, log: new InMemoryEventLog(), verifier: new FakeVerifier({ t: acme }), clock: clock.now },
      'c1',
      't',
    );
    expect(reply).toMatchObject({ type: 'auth.error', data: { code: 'tenant_mismatch' } });
    expect((await store.get('c1'))?.tenantId).toBe('globex');
  });
});

describe('changeSubscriptions', () => {
  it('answers not_authenticated on a pending or unknown connection', async () => {
    const { clock, store } = setup();
    await connect({ store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] }, 'pending', undefined);
    for (const id of ['pending', 'unknown']) {
      const reply = await changeSubscriptions({ store, clock: clock.now }, id, 'subscribe', { eventTypes: ['goal.*'] });
      expect(reply).toMatchObject({ type: 'error', data: { code: 'not_authenticated' } });
    }
    expect((await store.get('pending'))?.subscriptions).toBeUndefined();
  });

  it('adds patterns without duplicates and replies with the resulting set', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { subscriptions: ['goal.*'] }, clock.seconds);

    const reply = await changeSubscriptions({ store, clock: clock.now }, 'c1', 'subscribe', {
      eventTypes: ['issue.created', 'goal.*'],
    });

    expect(reply).toEqual({
      type: 'subscribe.success',
      data: { eventTypes: ['goal.*', 'issue.created'], sources: [], minPriority: 'low' },
      timestamp: new Date(clock.nowMs).toISOString(),
    });
    expect((await store.get('c1'))?.subscriptions).toEqual(['goal.*', 'issue.created']);
  });

  it('removes patterns and replies unsubscribe.success with what remains', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { subscriptions: ['goal.*', 'issue.created', 'action.*'] }, clock.seconds);

    const reply = await changeSubscriptions({ store, clock: clock.now }, 'c1', 'unsubscribe', {
      eventTypes: ['issue.created', 'never.subscribed'],
    });

    expect(reply).toMatchObject({ type: 'unsubscribe.success', data: { eventTypes: ['goal.*', 'action.*'] } });
    expect((await store.get('c1'))?.subscriptions).toEqual(['goal.*', 'action.*']);
  });

  it('unsubscribing everything leaves an empty set (which means every type)', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { subscriptions: ['goal.*'] }, clock.seconds);
    const reply = await changeSubscriptions({ store, clock: clock.now }, 'c1', 'unsubscribe', {
      eventTypes: ['goal.*'],
    });
    expect(reply).toMatchObject({ type: 'unsubscribe.success', data: { eventTypes: [] } });
    expect((await store.get('c1'))?.subscriptions).toEqual([]);
  });

  it(`refuses to grow past ${MAX_SUBSCRIPTIONS} patterns (bad_request) and keeps the set`, async () => {
    const { clock, store } = setup();
    const existing = Array.from({ length: MAX_SUBSCRIPTIONS - 1 }, (_, i) => `goal.t${i}`);
    await seedAuthenticated(store, 'c1', { subscriptions: existing }, clock.seconds);

    const fits = await changeSubscriptions({ store, clock: clock.now }, 'c1', 'subscribe', {
      eventTypes: ['goal.t0', 'issue.created'],
    });
    const tooMany = await changeSubscriptions({ store, clock: clock.now }, 'c1', 'subscribe', {
      eventTypes: ['action.created'],
    });

    expect(fits).toMatchObject({ type: 'subscribe.success' });
    expect(tooMany).toMatchObject({
      type: 'error',
      data: { code: 'bad_request', message: expect.stringMatching(/^eventTypes: /) },
    });
    expect((await store.get('c1'))?.subscriptions).toHaveLength(MAX_SUBSCRIPTIONS);
  });

  it('answers not_authenticated when the record stopped being authenticated before the write', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);
    // Its record is deleted ($disconnect, the sweeper) between the read and the write.
    const racing = withOverrides(store, {
      setFilter: async (...args) => {
        await store.delete('c1');
        return store.setFilter(...args);
      },
    });
    const reply = await changeSubscriptions({ store: racing, clock: clock.now }, 'c1', 'subscribe', {
      eventTypes: ['goal.*'],
    });
    expect(reply).toMatchObject({ type: 'error', data: { code: 'not_authenticated' } });
  });
});

describe('changeSubscriptions: sources and minPriority', () => {
  const change = async (
    store: InMemoryConnectionStore,
    clock: FakeClock,
    mode: 'subscribe' | 'unsubscribe',
    fields: Parameters<typeof changeSubscriptions>[3],
  ) => changeSubscriptions({ store, clock: clock.now }, 'c1', mode, fields);

  it('replies with the whole filter, absent parts filled in, and stores it', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);

    const reply = await change(store, clock, 'subscribe', { sources: ['billing'] });

    expect(reply).toEqual({
      type: 'subscribe.success',
      data: { eventTypes: [], sources: ['billing'], minPriority: 'low' },
      timestamp: new Date(clock.nowMs).toISOString(),
    });
    expect(await store.get('c1')).toMatchObject({ subscriptions: [], sources: ['billing'], minPriority: 'low' });
  });

  it('adds sources without duplicates (subscribe) and removes them (unsubscribe), leaving the rest', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { subscriptions: ['goal.*'], minPriority: 'high' }, clock.seconds);

    const added = await change(store, clock, 'subscribe', { sources: ['billing', 'crm', 'billing'] });
    const more = await change(store, clock, 'subscribe', { sources: ['crm', 'ops'] });
    const removed = await change(store, clock, 'unsubscribe', { sources: ['crm', 'never.added'] });

    expect(added).toMatchObject({
      type: 'subscribe.success',
      data: { eventTypes: ['goal.*'], sources: ['billing', 'crm'], minPriority: 'high' },
    });
    expect(more).toMatchObject({ data: { sources: ['billing', 'crm', 'ops'] } });
    expect(removed).toEqual({
      type: 'unsubscribe.success',
      data: { eventTypes: ['goal.*'], sources: ['billing', 'ops'], minPriority: 'high' },
      timestamp: new Date(clock.nowMs).toISOString(),
    });
    expect(await store.get('c1')).toMatchObject({
      subscriptions: ['goal.*'],
      sources: ['billing', 'ops'],
      minPriority: 'high',
    });
  });

  it('removing every source leaves an empty set (which means any source)', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { sources: ['billing'] }, clock.seconds);
    const reply = await change(store, clock, 'unsubscribe', { sources: ['billing'] });
    expect(reply).toMatchObject({ type: 'unsubscribe.success', data: { sources: [] } });
    expect((await store.get('c1'))?.sources).toEqual([]);
  });

  it('replaces minPriority in either message, up or down; leaving it out keeps it', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);

    const floors = [];
    const steps: Array<['subscribe' | 'unsubscribe', FilterChange]> = [
      ['subscribe', { minPriority: 'critical' }],
      ['subscribe', { eventTypes: ['goal.*'] }],
      ['unsubscribe', { minPriority: 'normal' }],
      ['unsubscribe', { eventTypes: ['goal.*'] }],
      ['subscribe', { minPriority: 'low' }],
      ['unsubscribe', { minPriority: 'high' }],
    ];
    for (const [mode, fields] of steps) {
      const reply = await change(store, clock, mode, fields);
      expect(reply.type).toBe(`${mode}.success`);
      floors.push((reply.data as { minPriority: string }).minPriority);
    }

    expect(floors).toEqual(['critical', 'critical', 'normal', 'normal', 'low', 'high']);
    expect((await store.get('c1'))?.minPriority).toBe('high');
  });

  it('an empty change answers the current filter and changes nothing in it', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(
      store,
      'c1',
      { subscriptions: ['goal.*'], sources: ['crm'], minPriority: 'high' },
      clock.seconds,
    );
    for (const mode of ['subscribe', 'unsubscribe'] as const) {
      expect(await change(store, clock, mode, {})).toMatchObject({
        type: `${mode}.success`,
        data: { eventTypes: ['goal.*'], sources: ['crm'], minPriority: 'high' },
      });
    }
    expect(await store.get('c1')).toMatchObject({ subscriptions: ['goal.*'], sources: ['crm'], minPriority: 'high' });
  });

  it('changes types, sources and floor in one message', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { subscriptions: ['goal.*', 'issue.*'], sources: ['crm'] }, clock.seconds);
    const reply = await change(store, clock, 'unsubscribe', {
      eventTypes: ['issue.*'],
      sources: ['crm'],
      minPriority: 'critical',
    });
    expect(reply).toMatchObject({
      type: 'unsubscribe.success',
      data: { eventTypes: ['goal.*'], sources: [], minPriority: 'critical' },
    });
  });

  it(`refuses to grow past ${MAX_FILTER_SOURCES} sources on the resulting set (bad_request naming sources) and keeps the filter`, async () => {
    const { clock, store } = setup();
    const existing = Array.from({ length: MAX_FILTER_SOURCES - 1 }, (_, i) => `src.${i}`);
    await seedAuthenticated(store, 'c1', { sources: existing, minPriority: 'normal' }, clock.seconds);

    // Already held sources do not count twice: this reaches exactly the cap.
    const fits = await change(store, clock, 'subscribe', { sources: ['src.0', 'src.new'] });
    const tooMany = await change(store, clock, 'subscribe', { sources: ['src.one-more'], minPriority: 'critical' });

    expect(fits).toMatchObject({ type: 'subscribe.success' });
    expect((fits.data as { sources: string[] }).sources).toHaveLength(MAX_FILTER_SOURCES);
    expect(tooMany).toMatchObject({
      type: 'error',
      data: { code: 'bad_request', message: `sources: a connection may hold at most ${MAX_FILTER_SOURCES} sources` },
    });
    // Nothing of the refused change was applied, not even its floor.
    const record = await store.get('c1');
    expect(record?.sources).toHaveLength(MAX_FILTER_SOURCES);
    expect(record?.sources).not.toContain('src.one-more');
    expect(record?.minPriority).toBe('normal');
    // Removing makes room again.
    expect(await change(store, clock, 'unsubscribe', { sources: ['src.1'] })).toMatchObject({
      type: 'unsubscribe.success',
    });
    expect(await change(store, clock, 'subscribe', { sources: ['src.one-more'] })).toMatchObject({
      type: 'subscribe.success',
    });
  });

  it('two concurrent changes of sources and floor lose neither (the version-conditioned write)', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);
    const interleaved = bothReadBeforeEitherWrites(store);
    const deps = { store: interleaved, clock: clock.now };

    await Promise.all([
      changeSubscriptions(deps, 'c1', 'subscribe', { sources: ['billing'] }),
      changeSubscriptions(deps, 'c1', 'subscribe', { minPriority: 'high' }),
    ]);

    expect(await store.get('c1')).toMatchObject({ sources: ['billing'], minPriority: 'high', subscriptionsVersion: 2 });
  });
});

describe("changeFilter (what subscribe and unsubscribe do to a connection's filter)", () => {
  const current = { eventTypes: ['goal.*'], sources: ['crm'], minPriority: 'normal' as const };

  it('subscribe adds, unsubscribe removes; minPriority replaces in both; the input is not changed', () => {
    expect(changeFilter(current, true, { eventTypes: ['issue.*'], sources: ['billing'] })).toEqual({
      eventTypes: ['goal.*', 'issue.*'],
      sources: ['crm', 'billing'],
      minPriority: 'normal',
    });
    expect(changeFilter(current, false, { eventTypes: ['goal.*'], sources: ['crm'] })).toEqual({
      eventTypes: [],
      sources: [],
      minPriority: 'normal',
    });
    expect(changeFilter(current, false, { minPriority: 'critical' })).toEqual({
      ...current,
      minPriority: 'critical',
    });
    expect(changeFilter(current, true, { minPriority: 'low' }).minPriority).toBe('low');
    expect(current).toEqual({ eventTypes: ['goal.*'], sources: ['crm'], minPriority: 'normal' });
  });
});

describe('resume', () => {
  const T0 = Date.UTC(2025, 0, 15, 11);
  const RETAIN = Math.floor(Date.UTC(2025, 0, 16) / 1000);
  const APART_MS = 2 * REPLAY_OVERLAP_SECONDS * 1000;

  async function setupResume(
    events: Array<{ env: Envelope; audience?: Audience }>,
    who: Parameters<typeof seedAuthenticated>[2] = {},
  ) {
    const { clock, store } = setup();
    const log = new InMemoryEventLog();
    const sender = new ScriptedSender(clock.now);
    // Events two minutes apart, further than the replay overlap: a resume from one starts after
    // the one before it (the overlap has tests of its own, in replay.test.ts).
    for (const [i, e] of events.entries())
      await appendEvent(
        log,
        { envelope: e.env, ...(e.audience ? { audience: e.audience } : {}) },
        T0 + i * APART_MS,
        RETAIN,
      );
    // A token valid past the retention, so that expiry never gets in the way here.
    await seedAuthenticated(
      store,
      'c1',
      { userId: 'ada', roles: ['viewer'], expiresAt: RETAIN + 3600, ...who },
      clock.seconds,
    );
    const deps: ResumeDeps = { store, log, sender, clock: clock.now, maxReplay: 1000 };
    return { clock, store, log, sender, deps };
  }

  it('answers not_authenticated on a pending connection', async () => {
    const { clock, store } = setup();
    await connect({ store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] }, 'p1', undefined);
    const deps: ResumeDeps = {
      store,
      log: new InMemoryEventLog(),
      sender: new ScriptedSender(),
      clock: clock.now,
      maxReplay: 10,
    };
    expect(await resume(deps, 'p1', 'evt_1')).toMatchObject({ type: 'error', data: { code: 'not_authenticated' } });
  });

  it('answers resume.error gap for an unknown id', async () => {
    const { sender, deps } = await setupResume([{ env: envelope(1) }]);
    const reply = await resume(deps, 'c1', 'evt_unknown');
    expect(reply).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    expect(sender.attempts).toEqual([]);
  });

  it('answers gap for an id longer than any issued, without a lookup', async () => {
    const { sender, deps } = await setupResume([{ env: envelope(1) }]);
    let lookups = 0;
    const counting: ResumeDeps = {
      ...deps,
      log: {
        ...deps.log,
        latest: deps.log.latest.bind(deps.log),
        read: deps.log.read.bind(deps.log),
        position: (...a) => {
          lookups++;
          return deps.log.position(...a);
        },
      },
    };
    // 200 three-byte characters: 600 bytes, over the 512-byte bound though under 512 characters.
    expect(await resume(counting, 'c1', '€'.repeat(200))).toMatchObject({
      type: 'resume.error',
      data: { code: 'gap' },
    });
    expect(lookups).toBe(0);
    expect(sender.attempts).toEqual([]);
    expect(await resume(counting, 'c1', 'evt_1')).toMatchObject({ type: 'resume.success' });
    expect(lookups).toBe(1);
  });

  it("answers gap for another tenant's event id", async () => {
    const { sender, deps } = await setupResume([
      { env: envelope(1, { tenantId: 'globex', data: { tenantId: 'globex', goalId: 'g1' } }) },
      { env: envelope(2, { tenantId: 'globex', data: { tenantId: 'globex', goalId: 'g2' } }) },
    ]);
    expect(await resume(deps, 'c1', 'evt_1')).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    expect(sender.attempts).toEqual([]);
  });

  it('answers gap for an id past its retention', async () => {
    const { deps, clock } = await setupResume([{ env: envelope(1) }, { env: envelope(2) }]);
    clock.nowMs = RETAIN * 1000;
    expect(await resume(deps, 'c1', 'evt_1')).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
  });

  it('replays the later events in log order, filtered by subscriptions and audience, then replies resume.success', async () => {
    const action = envelope(3, { type: 'action.created', data: { tenantId: 't1', actionId: 'a3' } });
    const { sender, deps } = await setupResume(
      [
        { env: envelope(1) },
        { env: envelope(2) },
        { env: action },
        { env: envelope(4, { type: 'goal.updated' }), audience: { userIds: ['bob'] } },
        { env: envelope(5, { type: 'goal.completed' }), audience: { roles: ['viewer'] } },
        { env: envelope(6, { type: 'issue.created', data: { tenantId: 't1', issueId: 'i6' } }) },
      ],
      { subscriptions: ['goal.*'] },
    );

    const reply = await resume(deps, 'c1', 'evt_1');

    // Replayed frames carry `replay: true`; live frames omit it.
    expect(sender.received('c1')).toEqual([
      { ...envelope(2), replay: true },
      { ...envelope(5, { type: 'goal.completed' }), replay: true },
    ]);
    // `lastEventId` is the last replayed envelope's id (protocol.ts, ResumeSuccessData).
    expect(reply).toEqual({
      type: 'resume.success',
      data: { replayed: 2, lastEventId: 'evt_5', more: false },
      timestamp: expect.any(String),
    });
  });

  it('replays nothing and echoes the id when nothing was missed', async () => {
    const { sender, deps } = await setupResume([{ env: envelope(1) }, { env: envelope(2) }]);
    const reply = await resume(deps, 'c1', 'evt_2');
    expect(reply).toMatchObject({ type: 'resume.success', data: { replayed: 0, lastEventId: 'evt_2' } });
    expect(sender.attempts).toEqual([]);
  });

  it('answers gap when more than maxReplay events were missed, and replays nothing', async () => {
    const events = [1, 2, 3, 4, 5].map((n) => ({ env: envelope(n) }));
    const { sender, deps } = await setupResume(events);

    const tooMany = await resume({ ...deps, maxReplay: 3 }, 'c1', 'evt_1');
    const exactly = await resume({ ...deps, maxReplay: 4 }, 'c1', 'evt_1');

    expect(tooMany).toMatchObject({
      type: 'resume.error',
      data: { code: 'gap', message: expect.stringContaining('3') },
    });
    expect(exactly).toMatchObject({ type: 'resume.success', data: { replayed: 4, lastEventId: 'evt_5' } });
    expect(sender.received('c1').map((e) => e.eventId)).toEqual(['evt_2', 'evt_3', 'evt_4', 'evt_5']);
  });

  it('stops and replies nothing when the connection is gone mid-replay', async () => {
    const { sender, deps } = await setupResume([1, 2, 3, 4].map((n) => ({ env: envelope(n) })));
    sender.script('c1', 'ok', 'gone');

    const reply = await resume(deps, 'c1', 'evt_1');

    expect(reply).toBeUndefined();
    expect(sender.attemptsFor('c1')).toBe(2);
  });
});

describe('every action of an expired session', () => {
  async function expiredSession() {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', { expiresAt: clock.seconds + 2 }, clock.seconds);
    clock.advance(9_000);
    return { clock, store };
  }

  it.each(['subscribe', 'unsubscribe'] as const)('refuses %s with auth.expired and leaves the set', async (mode) => {
    const { clock, store } = await expiredSession();
    const before = await store.get('c1');
    const reply = await changeSubscriptions({ store, clock: clock.now }, 'c1', mode, { eventTypes: ['goal.*'] });
    expect(reply).toMatchObject({ type: 'auth.expired', data: { code: 'token_expired' } });
    expect(await store.get('c1')).toEqual(before);
  });

  it('refuses to be refreshed by auth once expired (auth.expired), and keeps the record as it was', async () => {
    const { clock, store } = await expiredSession();
    const before = await store.get('c1');
    const fresh = identity({ expiresAt: clock.seconds + 3600 });
    const reply = await authenticate(
      { store, log: new InMemoryEventLog(), verifier: new FakeVerifier({ t: fresh }), clock: clock.now },
      'c1',
      't',
    );
    expect(reply).toMatchObject({ type: 'auth.expired' });
    expect(await store.get('c1')).toEqual(before);
  });
});

describe('auth racing $disconnect or the sweeper', () => {
  it('does not recreate a deleted record: answers auth_timeout (the connection is closed) and writes nothing', async () => {
    const { clock, store } = setup();
    await connect({ store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] }, 'c1', undefined);
    const racing = withOverrides(store, {
      authenticate: async (...args) => {
        await store.delete('c1'); // the sweeper (deadline) or $disconnect got there first
        return store.authenticate(...args);
      },
    });
    const reply = await authenticate(
      { store: racing, log: new InMemoryEventLog(), verifier: new FakeVerifier({ t: identity() }), clock: clock.now },
      'c1',
      't',
    );
    expect(reply).toMatchObject({ type: 'auth.error', data: { code: 'auth_timeout' } });
    expect(await store.get('c1')).toBeUndefined();
    for await (const page of store.recipients('t1')) expect(page).toEqual([]);
  });
});

describe('concurrent subscription changes', () => {
  it('loses neither change when two subscribes read the same set before either writes', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);
    // Both requests read the record before either writes: the classic lost update.
    const interleaved = bothReadBeforeEitherWrites(store);
    const deps = { store: interleaved, clock: clock.now };

    const [a, b] = await Promise.all([
      changeSubscriptions(deps, 'c1', 'subscribe', { eventTypes: ['goal.*'] }),
      changeSubscriptions(deps, 'c1', 'subscribe', { eventTypes: ['issue.*'] }),
    ]);

    expect((await store.get('c1'))?.subscriptions?.sort()).toEqual(['goal.*', 'issue.*']);
    expect([a.type, b.type]).toEqual(['subscribe.success', 'subscribe.success']);
    // The one that lost the race re-read, and its reply shows both patterns.
    const sets = [a, b].map((r) => (r.data as { eventTypes: string[] }).eventTypes.length).sort();
    expect(sets).toEqual([1, 2]);
  });

  it('gives up with internal_error if the set keeps changing under it', async () => {
    const { clock, store } = setup();
    await seedAuthenticated(store, 'c1', {}, clock.seconds);
    const alwaysStale = withOverrides(store, {
      setFilter: async (id, filter, version, now) => {
        await store.setFilter(id, { ...filter, eventTypes: ['x.*'] }, version, now); // someone else wins every time
        return store.setFilter(id, filter, version, now);
      },
    });
    const reply = await changeSubscriptions({ store: alwaysStale, clock: clock.now }, 'c1', 'subscribe', {
      eventTypes: ['goal.*'],
    });
    expect(reply).toMatchObject({ type: 'error', data: { code: 'internal_error' } });
  });
});
