import { describe, expect, it } from 'vitest';
import type { Recipient } from '../../lambdas/contract/index.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, rateLimiter } from '../../lambdas/core/delivery.js';
import { SendError, UnresolvedDeliveryError } from '../../lambdas/core/errors.js';
import { type FanoutDeps, type FanoutEvent, fanOut } from '../../lambdas/core/fanout.js';
import {
  FakeClock,
  forbidden,
  InMemoryConnectionStore,
  recordingSleep,
  ScriptedSender,
  seedAuthenticated,
  serverError,
  throttled,
  withOverrides,
} from './fakes.js';

const EVENT: FanoutEvent = {
  type: 'goal.created',
  payload: JSON.stringify({
    type: 'goal.created',
    data: { tenantId: 't1', goalId: 'g1' },
    timestamp: '2025-01-15T12:00:00.000Z',
    eventId: 'evt_1',
    tenantId: 't1',
  }),
};

interface Harness {
  clock: FakeClock;
  store: InMemoryConnectionStore;
  sender: ScriptedSender;
  delays: number[];
  failures: Array<{ connectionId: string; error: unknown }>;
  deps: (overrides?: Partial<FanoutDeps>) => FanoutDeps;
}

async function harness(connectionIds: string[] = [], options: { pageSize?: number } = {}): Promise<Harness> {
  const clock = new FakeClock();
  const store = new InMemoryConnectionStore({ pageSize: options.pageSize ?? 25 });
  const sender = new ScriptedSender(clock.now);
  const { sleep, delays } = recordingSleep();
  const failures: Harness['failures'] = [];
  for (const id of connectionIds) await seedAuthenticated(store, id, { userId: `user-${id}` }, clock.seconds);
  return {
    clock,
    store,
    sender,
    delays,
    failures,
    deps: (overrides = {}) => ({
      store,
      sender,
      clock: clock.now,
      concurrency: 10,
      sleep,
      random: () => 0.5,
      onFailure: (connectionId, error) => failures.push({ connectionId, error }),
      ...overrides,
    }),
  };
}

const ids = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('backoffDelay (full jitter)', () => {
  it('stays in [0, min(max, base·2^attempt)) for any random value', () => {
    const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 2000 };
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const delay = backoffDelay(attempt, policy, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(cap);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it('grows exponentially until the cap', () => {
    const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 2000 };
    const half = (attempt: number) => backoffDelay(attempt, policy, () => 0.5);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(half)).toEqual([25, 50, 100, 200, 400, 800, 1000, 1000]);
  });
});

describe('rateLimiter', () => {
  it('never sleeps without a rate cap', async () => {
    const clock = new FakeClock();
    for (const rps of [undefined, 0, -1]) {
      const { sleep, delays } = recordingSleep();
      const throttle = rateLimiter(rps, clock.now, sleep);
      for (let i = 0; i < 5; i++) await throttle();
      expect(delays).toEqual([]);
    }
  });

  it('gives calls made at the same instant slots 1/rps apart', async () => {
    const clock = new FakeClock();
    const { sleep, delays } = recordingSleep();
    const throttle = rateLimiter(4, clock.now, sleep);
    await Promise.all([throttle(), throttle(), throttle(), throttle()]);
    expect(delays).toEqual([250, 500, 750]);
  });

  it('does not sleep once the clock has passed the next slot', async () => {
    const clock = new FakeClock();
    const { sleep, delays } = recordingSleep();
    const throttle = rateLimiter(10, clock.now, sleep);
    await throttle(); // slot t+0; the next is t+100
    clock.advance(150);
    await throttle(); // t+150 is past t+100: no wait; the next slot is t+250
    expect(delays).toEqual([]);
    await throttle(); // same instant: waits for t+250
    expect(delays).toEqual([100]);
  });
});

describe('fanOut read path', () => {
  /** Counts which index the fan-out read. */
  function tracing(store: InMemoryConnectionStore) {
    const reads: string[] = [];
    const traced = withOverrides(store, {
      recipients: (t) => {
        reads.push(`tenant:${t}`);
        return store.recipients(t);
      },
      recipientsOf: (t, users) => {
        reads.push(`users:${t}:${users.join(',')}`);
        return store.recipientsOf(t, users);
      },
    });
    return { traced, reads };
  }

  it('reads only the addressed users when the audience lists a few user ids', async () => {
    const h = await harness(['a', 'b', 'c', 'd']);
    const { traced, reads } = tracing(h.store);
    const stats = await fanOut(h.deps({ store: traced }), 't1', {
      ...EVENT,
      audience: { userIds: ['user-b', 'user-d'] },
    });
    expect(reads).toEqual(['users:t1:user-b,user-d']);
    expect(stats).toMatchObject({ recipients: 2, delivered: 2, filtered: 0 });
    expect(h.sender.completions.map((c) => c.connectionId).sort()).toEqual(['b', 'd']);
  });

  it.each([
    ['no audience', undefined],
    ['a role audience', { roles: ['admin'] }],
    ['users and roles', { userIds: ['user-a'], roles: ['admin'] }],
    ['more users than the lookup limit', { userIds: Array.from({ length: 26 }, (_, i) => `user-${i}`) }],
  ])('reads the whole tenant for %s', async (_label, audience) => {
    const h = await harness(['a', 'b']);
    const { traced, reads } = tracing(h.store);
    await fanOut(h.deps({ store: traced }), 't1', { ...EVENT, ...(audience ? { audience } : {}) });
    expect(reads).toEqual(['tenant:t1']);
  });
});

describe('fanOut', () => {
  it('delivers the payload to every recipient of the tenant, and no one else', async () => {
    // Prepare
    const h = await harness(['a', 'b', 'c']);
    await seedAuthenticated(h.store, 'other-tenant', { tenantId: 't2' }, h.clock.seconds);
    await h.store.putPending({
      connectionId: 'pending',
      connectedAt: h.clock.seconds,
      authDeadline: h.clock.seconds + 30,
      ttl: h.clock.seconds + 7800,
    });
    // Act
    const stats = await fanOut(h.deps(), 't1', EVENT);
    // Assess
    expect(stats).toEqual({
      recipients: 3,
      delivered: 3,
      gone: 0,
      expired: 0,
      filtered: 0,
      failed: 0,
      closed: 0,
      broken: 0,
      retries: 0,
    });
    expect(h.sender.completions.map((c) => c.connectionId).sort()).toEqual(['a', 'b', 'c']);
    expect(h.sender.completions.every((c) => c.payload === EVENT.payload)).toBe(true);
  });

  it('delivers to every healthy recipient even when others fail, and counts each outcome', async () => {
    const h = await harness(['ok1', 'gone', 'broken', 'refused', 'ok2']);
    h.sender.script('gone', 'gone').script('broken', serverError()).script('refused', { throw: forbidden() });

    const stats = await fanOut(h.deps({ retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } }), 't1', EVENT);

    // The two that failed for good are closed, so their clients reconnect and resume.
    expect(stats).toEqual({
      recipients: 5,
      delivered: 2,
      gone: 1,
      expired: 0,
      filtered: 0,
      failed: 2,
      closed: 2,
      broken: 0,
      retries: 2,
    });
    expect(h.sender.closes.sort()).toEqual(['broken', 'refused']);
    expect(h.sender.received('ok1')).toHaveLength(1);
    expect(h.sender.received('ok2')).toHaveLength(1);
    expect(h.failures.map((f) => f.connectionId).sort()).toEqual(['broken', 'refused']);
  });

  it('removes the record of a gone (410) connection and counts it', async () => {
    const h = await harness(['gone', 'alive']);
    h.sender.script('gone', 'gone');

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats.gone).toBe(1);
    expect(stats.delivered).toBe(1);
    expect(await h.store.get('gone')).toBeUndefined();
    expect(await h.store.get('alive')).toBeDefined();
    expect(h.sender.attemptsFor('gone')).toBe(1);
  });

  it('still counts a gone connection when removing its record fails (TTL cleans up), and reports the failure', async () => {
    const h = await harness(['gone']);
    h.sender.script('gone', 'gone');
    const boom = new Error('delete failed');
    const store = withOverrides(h.store, { delete: async () => Promise.reject(boom) });

    const stats = await fanOut(h.deps({ store }), 't1', EVENT);

    expect(stats).toMatchObject({ gone: 1, failed: 0 });
    expect(h.failures).toEqual([{ connectionId: 'gone', error: boom }]);
  });

  it('retries 429 with full-jitter backoff and delivers, counting the retries', async () => {
    const h = await harness(['throttled', 'fine']);
    h.sender.script('throttled', throttled(), throttled(), 'ok');

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 2, failed: 0, retries: 2 });
    expect(h.sender.attemptsFor('throttled')).toBe(3);
    expect(h.sender.received('throttled')).toHaveLength(1);
    // random() = 0.5 → half of base·2^attempt: 25 then 50 with the default policy.
    expect(h.delays).toEqual([backoffDelay(0, DEFAULT_RETRY, () => 0.5), backoffDelay(1, DEFAULT_RETRY, () => 0.5)]);
    expect(h.delays).toEqual([25, 50]);
  });

  it('keeps each backoff delay within its full-jitter bound', async () => {
    const retry: RetryPolicy = { maxAttempts: 6, baseDelayMs: 40, maxDelayMs: 200 };
    const h = await harness(['flaky']);
    h.sender.script('flaky', throttled(), throttled(), throttled(), throttled(), 'ok');

    await fanOut(h.deps({ retry, random: () => 0.999 }), 't1', EVENT);

    expect(h.delays).toHaveLength(4);
    h.delays.forEach((delay, attempt) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt));
    });
    expect(h.delays[3]).toBe(199); // capped by maxDelayMs
  });

  it('gives up on a recipient failing with 500 after maxAttempts, while the others are delivered', async () => {
    const retry: RetryPolicy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 1000 };
    const h = await harness(['a', 'down', 'b']);
    h.sender.script('down', serverError(500));

    const stats = await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(stats).toMatchObject({ recipients: 3, delivered: 2, failed: 1, retries: 3 });
    expect(h.sender.attemptsFor('down')).toBe(4);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({ connectionId: 'down', error: expect.objectContaining({ status: 500 }) });
    expect(await h.store.get('down')).toBeDefined();
  });

  it.each([
    ['a non-retryable SendError', forbidden()],
    ['an error that is not a SendError', new Error('socket hang up')],
  ])('fails without retrying on %s', async (_label, error) => {
    const h = await harness(['bad']);
    h.sender.script('bad', { throw: error });

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 0, failed: 1, retries: 0 });
    expect(h.sender.attemptsFor('bad')).toBe(1);
    expect(h.delays).toEqual([]);
    expect(h.failures).toEqual([{ connectionId: 'bad', error }]);
  });

  it('keeps at most `concurrency` posts in flight, and uses all of them when there is enough work', async () => {
    const h = await harness(ids(12));
    for (const id of ids(12)) h.sender.script(id, { delayMs: 5 });

    const stats = await fanOut(h.deps({ concurrency: 3 }), 't1', EVENT);

    expect(stats.delivered).toBe(12);
    expect(h.sender.maxInFlight).toBeLessThanOrEqual(3);
    expect(h.sender.maxInFlight).toBe(3);
  });

  it('with concurrency 1, sends one at a time', async () => {
    const h = await harness(ids(4));
    for (const id of ids(4)) h.sender.script(id, { delayMs: 2 });
    await fanOut(h.deps({ concurrency: 1 }), 't1', EVENT);
    expect(h.sender.maxInFlight).toBe(1);
    expect(h.sender.completions).toHaveLength(4);
  });

  it('does not let a slow recipient hold back the others', async () => {
    const h = await harness(['slow', 'q1', 'q2', 'q3', 'q4']);
    h.sender.script('slow', { delayMs: 40 });

    const stats = await fanOut(h.deps({ concurrency: 2 }), 't1', EVENT);

    expect(stats.delivered).toBe(5);
    expect(h.sender.completions.map((c) => c.connectionId)).toEqual(['q1', 'q2', 'q3', 'q4', 'slow']);
  });

  it('tells an expired connection, closes it and removes it, instead of sending the event', async () => {
    const h = await harness(['valid']);
    await seedAuthenticated(h.store, 'expired', { expiresAt: h.clock.seconds - 10 }, h.clock.seconds);
    await seedAuthenticated(h.store, 'expires-now', { expiresAt: h.clock.seconds }, h.clock.seconds);

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats).toMatchObject({ recipients: 3, delivered: 1, expired: 2, failed: 0 });
    for (const id of ['expired', 'expires-now']) {
      const received = h.sender.received(id);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({
        type: 'auth.expired',
        data: { code: 'token_expired' },
        timestamp: new Date(h.clock.nowMs).toISOString(),
      });
      expect(await h.store.get(id)).toBeUndefined();
    }
    expect(h.sender.closes.sort()).toEqual(['expired', 'expires-now']);
    expect(h.sender.received('valid')).toEqual([JSON.parse(EVENT.payload)]);
  });

  it('delivers to a connection whose token looked expired in the index but was refreshed since (conditional delete fails)', async () => {
    const h = await harness();
    await seedAuthenticated(h.store, 'refreshed', { expiresAt: h.clock.seconds - 10 }, h.clock.seconds);
    const stale: Recipient[] = [];
    for await (const page of h.store.recipients('t1')) stale.push(...page);
    await h.store.authenticate(
      'refreshed',
      { tenantId: 't1', userId: 'u1', roles: [], expiresAt: h.clock.seconds + 3600 },
      0,
    );
    const store = withOverrides(h.store, {
      recipients: async function* () {
        yield stale;
      },
    });

    const stats = await fanOut(h.deps({ store }), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 1, expired: 0 });
    expect(h.sender.received('refreshed')).toEqual([JSON.parse(EVENT.payload)]);
    expect(h.sender.closes).toEqual([]);
    expect(await h.store.get('refreshed')).toBeDefined();
  });

  it('does not close an expired connection that is already gone', async () => {
    const h = await harness();
    await seedAuthenticated(h.store, 'expired', { expiresAt: h.clock.seconds - 1 }, h.clock.seconds);
    h.sender.script('expired', 'gone');

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats).toMatchObject({ expired: 1, gone: 0, failed: 0 });
    expect(h.sender.closes).toEqual([]);
    expect(await h.store.get('expired')).toBeUndefined();
  });

  it('counts recipients excluded by their subscriptions or the audience as filtered', async () => {
    const h = await harness();
    const now = h.clock.seconds;
    await seedAuthenticated(h.store, 'all', { userId: 'u-all' }, now);
    await seedAuthenticated(h.store, 'goals', { userId: 'u-goals', subscriptions: ['goal.*'] }, now);
    await seedAuthenticated(h.store, 'actions', { userId: 'u-actions', subscriptions: ['action.*'] }, now);
    await seedAuthenticated(h.store, 'admin', { userId: 'u-admin', roles: ['admin'] }, now);
    await seedAuthenticated(h.store, 'exact-other', { userId: 'u-x', subscriptions: ['goal.updated'] }, now);
    const event: FanoutEvent = {
      ...EVENT,
      audience: { userIds: ['u-all', 'u-goals', 'u-actions', 'u-x'], roles: ['admin'] },
    };

    const stats = await fanOut(h.deps(), 't1', event);

    expect(stats).toMatchObject({ recipients: 5, delivered: 3, filtered: 2 });
    expect(h.sender.completions.map((c) => c.connectionId).sort()).toEqual(['admin', 'all', 'goals']);

    const narrowed = await harness();
    await seedAuthenticated(narrowed.store, 'in', { userId: 'target' }, now);
    await seedAuthenticated(narrowed.store, 'out', { userId: 'bystander', roles: ['viewer'] }, now);
    const onlyTarget = await fanOut(narrowed.deps(), 't1', { ...EVENT, audience: { userIds: ['target'] } });
    // A user-id audience reads only the addressed users' connections: the bystander is not read.
    expect(onlyTarget).toMatchObject({ recipients: 1, delivered: 1, filtered: 0 });
    expect(narrowed.sender.completions.map((c) => c.connectionId)).toEqual(['in']);
  });

  it('reads every page of recipients', async () => {
    const h = await harness(ids(7), { pageSize: 3 });
    let pages = 0;
    const store = withOverrides(h.store, {
      recipients: async function* (tenantId) {
        for await (const page of h.store.recipients(tenantId)) {
          pages++;
          yield page;
        }
      },
    });

    const stats = await fanOut(h.deps({ store, concurrency: 2 }), 't1', EVENT);

    expect(pages).toBe(3);
    expect(stats).toMatchObject({ recipients: 7, delivered: 7 });
    expect(h.sender.completions.map((c) => c.connectionId).sort()).toEqual(ids(7).sort());
  });

  it('spaces sends to the rate cap (computed sleeps, fake clock)', async () => {
    const h = await harness(ids(4));

    await fanOut(h.deps({ maxRps: 10, concurrency: 4 }), 't1', EVENT);

    // All four are ready at the same instant: slots 0, 100, 200 and 300 ms later.
    expect(h.delays).toEqual([100, 200, 300]);
    expect(h.sender.completions).toHaveLength(4);
  });

  it('spaces sends 1/rps apart when the clock moves with the sleeps', async () => {
    const h = await harness(ids(4));
    const moving = recordingSleep(h.clock);

    await fanOut(h.deps({ maxRps: 20, concurrency: 1, sleep: moving.sleep }), 't1', EVENT);

    expect(moving.delays).toEqual([50, 50, 50]);
    const times = h.sender.attempts.map((a) => a.at);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([50, 50, 50]);
  });

  it('rejects when reading recipients fails mid-way, after the sends already started have settled', async () => {
    const h = await harness(['first', 'second', 'third']);
    h.sender.script('first', { delayMs: 20 });
    const queryFailed = new Error('Query failed: ProvisionedThroughputExceededException');
    const store = withOverrides(h.store, {
      recipients: async function* (tenantId) {
        const all: Recipient[] = [];
        for await (const page of h.store.recipients(tenantId)) all.push(...page);
        yield all.slice(0, 2);
        throw queryFailed;
      },
    });

    const outcome = fanOut(h.deps({ store }), 't1', EVENT);
    await expect(outcome).rejects.toBe(queryFailed);

    // The in-flight deliveries finished before the rejection was reported.
    expect(h.sender.completions.map((c) => c.connectionId).sort()).toEqual(['first', 'second']);
    expect(h.sender.inFlight).toBe(0);
    expect(h.sender.attemptsFor('third')).toBe(0);
  });

  it('counts a delivery as failed when the conditional delete of an expired record throws', async () => {
    const h = await harness(['ok']);
    await seedAuthenticated(h.store, 'expired', { expiresAt: h.clock.seconds - 1 }, h.clock.seconds);
    const broken = new Error('DeleteItem failed');
    const store = withOverrides(h.store, { deleteIfDue: async () => Promise.reject(broken) });

    const stats = await fanOut(h.deps({ store }), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 1, failed: 1, expired: 0 });
    expect(h.failures).toEqual([{ connectionId: 'expired', error: broken }]);
  });

  it('is not stopped by a close that fails for an expired connection', async () => {
    const h = await harness(['ok']);
    await seedAuthenticated(h.store, 'expired', { expiresAt: h.clock.seconds - 1 }, h.clock.seconds);
    h.sender.failClose('expired', new SendError('InternalServerErrorException (HTTP 500)', 500, true));

    const stats = await fanOut(h.deps(), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 1, expired: 1, failed: 0 });
    expect(h.failures.map((f) => f.connectionId)).toEqual(['expired']);
  });
});

describe('fanOut: a connection that misses the event for good', () => {
  const closeFails = () => new SendError('InternalServerErrorException (HTTP 500)', 500, true);
  const retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 };

  it('is closed, so its client reconnects and resumes, instead of going on receiving later events', async () => {
    const h = await harness(['ok', 'down']);
    h.sender.script('down', serverError());

    const stats = await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 1, failed: 1, closed: 1, broken: 0 });
    expect(h.sender.closes).toEqual(['down']);
    expect((await h.store.get('down'))?.brokenAt).toBeUndefined();
  });

  it('is marked broken, and due for the sweeper now, when the close fails too (close retried first)', async () => {
    const h = await harness(['ok', 'down']);
    h.sender.script('down', serverError()).failClose('down', closeFails());

    const stats = await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(stats).toMatchObject({ delivered: 1, failed: 1, closed: 0, broken: 1 });
    expect(h.sender.closes).toEqual(['down', 'down', 'down']);
    expect(await h.store.get('down')).toMatchObject({ brokenAt: h.clock.seconds, sweepAt: h.clock.seconds });
    expect(await h.store.get('ok')).not.toHaveProperty('brokenAt');
  });

  it('once marked, receives nothing from later events, which retry the close', async () => {
    const h = await harness(['ok', 'down']);
    await h.store.markBroken('down', h.clock.seconds - 5);

    const stats = await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(h.sender.attemptsFor('down')).toBe(0);
    expect(h.sender.closes).toEqual(['down']);
    expect(stats).toMatchObject({ recipients: 2, delivered: 1, closed: 1, broken: 0, failed: 0 });
  });

  it('once marked and still not closable, stays broken and still receives nothing', async () => {
    const h = await harness(['ok', 'down']);
    await h.store.markBroken('down', h.clock.seconds - 5);
    h.sender.failClose('down', closeFails());

    const stats = await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(h.sender.attemptsFor('down')).toBe(0);
    expect(stats).toMatchObject({ delivered: 1, closed: 0, broken: 1 });
  });

  it('is skipped even when its subscriptions would not match (the close is retried all the same)', async () => {
    const h = await harness(['ok']);
    await seedAuthenticated(h.store, 'down', { subscriptions: ['issue.*'] }, h.clock.seconds);
    await h.store.markBroken('down', h.clock.seconds);

    await fanOut(h.deps({ retry }), 't1', EVENT);

    expect(h.sender.closes).toEqual(['down']);
    expect(h.sender.attemptsFor('down')).toBe(0);
  });

  it('makes the fan-out fail (so the event is retried) when it can be neither closed nor marked, after every send settled', async () => {
    const h = await harness(['ok1', 'down', 'ok2']);
    h.sender.script('down', serverError()).failClose('down', closeFails());
    const outage = new Error('UpdateItem failed');
    const store = withOverrides(h.store, { markBroken: async () => Promise.reject(outage) });

    const failure = await fanOut(h.deps({ retry, store }), 't1', EVENT).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(UnresolvedDeliveryError);
    expect(failure).toMatchObject({ connectionIds: ['down'], cause: outage });
    expect(h.sender.received('ok1')).toHaveLength(1);
    expect(h.sender.received('ok2')).toHaveLength(1);
    expect(h.sender.inFlight).toBe(0);
  });
});
