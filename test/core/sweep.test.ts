import { describe, expect, it } from 'vitest';
import { SWEEP_SHARDS } from '../../lambdas/contract/index.js';
import { SendError } from '../../lambdas/core/errors.js';
import { connect } from '../../lambdas/core/session.js';
import { sweep, sweepShardFor } from '../../lambdas/core/sweep.js';
import {
  FakeClock,
  forbidden,
  InMemoryConnectionStore,
  ScriptedSender,
  seedAuthenticated,
  serverError,
  throttled,
  withOverrides,
} from './fakes.js';

async function setup() {
  const clock = new FakeClock();
  const store = new InMemoryConnectionStore({ pageSize: 2 });
  const sender = new ScriptedSender(clock.now);
  const open = (id: string) =>
    connect({ store, clock: clock.now, authTimeoutSeconds: 30, allowedOrigins: [] }, id, undefined);
  return { clock, store, sender, open };
}

describe('sweep', () => {
  it('keeps sweeping when one connection cannot be told or closed, and retries 429s', async () => {
    // Prepare
    const { clock, store, sender } = await setup();
    for (const id of ['throttled', 'broken', 'unclosable', 'fine'])
      await seedAuthenticated(store, id, { expiresAt: clock.seconds - 1 }, clock.seconds);
    sender.script('throttled', throttled(), throttled(), 'ok');
    sender.script('broken', serverError());
    sender.failClose('unclosable', forbidden());
    const failures: string[] = [];
    // Act
    const stats = await sweep({
      store,
      sender,
      clock: clock.now,
      sleep: async () => {},
      random: () => 0.5,
      onFailure: (id) => failures.push(id),
    });
    // Assess
    expect(stats).toEqual({ timedOut: 0, expired: 4, broken: 0, skipped: 0, failed: 1 });
    expect(sender.received('throttled').map((m) => m.type)).toEqual(['auth.expired']);
    expect(sender.attemptsFor('throttled')).toBe(3);
    // Every socket is closed (attempted) even when telling it failed; a failed close is counted.
    expect(sender.closes.sort()).toEqual(['broken', 'fine', 'throttled', 'unclosable']);
    expect(failures.sort()).toEqual(['broken', 'unclosable']);
    for (const id of ['throttled', 'broken', 'unclosable', 'fine']) expect(await store.get(id)).toBeUndefined();
  });

  it('tells a pending connection past its deadline auth_timeout, closes it and deletes it', async () => {
    // Prepare
    const { clock, store, sender, open } = await setup();
    await open('late');
    clock.advance(29_000);
    await open('on-time');
    clock.advance(1_000); // 'late' is exactly at its deadline now
    // Act
    const stats = await sweep({ store, sender, clock: clock.now });
    // Assess
    expect(stats).toEqual({ timedOut: 1, expired: 0, broken: 0, skipped: 0, failed: 0 });
    expect(sender.received('late')).toEqual([
      {
        type: 'auth.error',
        data: { code: 'auth_timeout', message: expect.any(String) },
        timestamp: new Date(clock.nowMs).toISOString(),
      },
    ]);
    expect(sender.closes).toEqual(['late']);
    expect(await store.get('late')).toBeUndefined();
    expect(await store.get('on-time')).toBeDefined();
    expect(sender.attemptsFor('on-time')).toBe(0);
  });

  it('tells an authenticated connection with an expired token auth.expired and closes it', async () => {
    const { clock, store, sender } = await setup();
    await seedAuthenticated(store, 'expired', { expiresAt: clock.seconds - 1 }, clock.seconds);
    await seedAuthenticated(store, 'valid', { expiresAt: clock.seconds + 60 }, clock.seconds);

    const stats = await sweep({ store, sender, clock: clock.now });

    expect(stats).toEqual({ timedOut: 0, expired: 1, broken: 0, skipped: 0, failed: 0 });
    expect(sender.received('expired')).toEqual([
      {
        type: 'auth.expired',
        data: { code: 'token_expired', message: expect.any(String) },
        timestamp: expect.any(String),
      },
    ]);
    expect(sender.closes).toEqual(['expired']);
    expect(await store.get('expired')).toBeUndefined();
    expect(await store.get('valid')).toBeDefined();
  });

  it('skips a connection refreshed between the query and the conditional delete', async () => {
    const { clock, store, sender } = await setup();
    await seedAuthenticated(store, 'refreshed', { expiresAt: clock.seconds - 1 }, clock.seconds);
    const racing = withOverrides(store, {
      due: async function* (now) {
        for await (const page of store.due(now)) {
          // A new token arrives after the sweeper read the index.
          await store.authenticate(
            'refreshed',
            { tenantId: 't1', userId: 'u1', roles: [], expiresAt: clock.seconds + 3600 },
            0,
          );
          yield page;
        }
      },
    });

    const stats = await sweep({ store: racing, sender, clock: clock.now });

    expect(stats).toEqual({ timedOut: 0, expired: 0, broken: 0, skipped: 1, failed: 0 });
    expect(sender.attempts).toEqual([]);
    expect(sender.closes).toEqual([]);
    expect((await store.get('refreshed'))?.tokenExpiresAt).toBe(clock.seconds + 3600);
  });

  it('does not close a connection that is already gone, and counts it', async () => {
    const { clock, store, sender, open } = await setup();
    await open('gone');
    clock.advance(31_000);
    sender.script('gone', 'gone');

    const stats = await sweep({ store, sender, clock: clock.now });

    expect(stats.timedOut).toBe(1);
    expect(sender.closes).toEqual([]);
    expect(await store.get('gone')).toBeUndefined();
  });

  it('sweeps every due connection across pages and shards', async () => {
    const { clock, store, sender, open } = await setup();
    const pendingIds = Array.from({ length: 9 }, (_, i) => `pending-${i}`);
    for (const id of pendingIds) await open(id);
    const expiredIds = Array.from({ length: 7 }, (_, i) => `expired-${i}`);
    for (const id of expiredIds) await seedAuthenticated(store, id, { expiresAt: clock.seconds + 10 }, clock.seconds);
    clock.advance(60_000);

    const stats = await sweep({ store, sender, clock: clock.now });

    expect(stats).toEqual({ timedOut: 9, expired: 7, broken: 0, skipped: 0, failed: 0 });
    expect(store.records.size).toBe(0);
    expect([...sender.closes].sort()).toEqual([...pendingIds, ...expiredIds].sort());
  });
});

describe('sweep: bounded, and never aborted by one connection', () => {
  it('handles at most `concurrency` connections at once, however many are due in a page', async () => {
    const { clock, sender } = await setup();
    const many = new InMemoryConnectionStore({ pageSize: 10_000 });
    for (let i = 0; i < 200; i++)
      await seedAuthenticated(many, `c${i}`, { expiresAt: clock.seconds - 1 }, clock.seconds);
    for (let i = 0; i < 200; i++) sender.script(`c${i}`, { delayMs: 1 });

    const stats = await sweep({ store: many, sender, clock: clock.now, concurrency: 7 });

    expect(stats.expired).toBe(200);
    expect(sender.maxInFlight).toBeLessThanOrEqual(7);
    expect(sender.maxInFlight).toBe(7);
  });

  it('goes on when DynamoDB fails for one connection: counted failed, the others swept', async () => {
    const { clock, store, sender } = await setup();
    for (const id of ['a', 'bad', 'b', 'c'])
      await seedAuthenticated(store, id, { expiresAt: clock.seconds - 1 }, clock.seconds);
    const outage = new Error('DeleteItem failed');
    const failing = withOverrides(store, {
      deleteIfDue: (id, now) => (id === 'bad' ? Promise.reject(outage) : store.deleteIfDue(id, now)),
    });
    const failures: Array<[string, unknown]> = [];

    const stats = await sweep({
      store: failing,
      sender,
      clock: clock.now,
      onFailure: (id, error) => failures.push([id, error]),
    });

    expect(stats).toEqual({ timedOut: 0, expired: 3, broken: 0, skipped: 0, failed: 1 });
    expect(failures).toEqual([['bad', outage]]);
    expect(sender.closes.sort()).toEqual(['a', 'b', 'c']);
    expect(await store.get('bad')).toBeDefined();
  });

  it('closes a connection marked broken at once (no notice), then removes its record', async () => {
    const { clock, store, sender } = await setup();
    await seedAuthenticated(store, 'broken', { expiresAt: clock.seconds + 3600 }, clock.seconds);
    await store.markBroken('broken', clock.seconds);

    const stats = await sweep({ store, sender, clock: clock.now });

    expect(stats).toEqual({ timedOut: 0, expired: 0, broken: 1, skipped: 0, failed: 0 });
    expect(sender.attempts).toEqual([]);
    expect(sender.closes).toEqual(['broken']);
    expect(await store.get('broken')).toBeUndefined();
  });

  it('keeps a broken connection it cannot close, so the next run tries again', async () => {
    const { clock, store, sender } = await setup();
    await seedAuthenticated(store, 'broken', { expiresAt: clock.seconds + 3600 }, clock.seconds);
    await store.markBroken('broken', clock.seconds);
    sender.failClose('broken', new SendError('InternalServerErrorException (HTTP 500)', 500, true));

    const first = await sweep({ store, sender, clock: clock.now, sleep: async () => {}, random: () => 0 });
    expect(first).toMatchObject({ broken: 0, failed: 1 });
    expect(await store.get('broken')).toBeDefined();

    const healed = new ScriptedSender(clock.now);
    clock.advance(60_000);
    const second = await sweep({ store, sender: healed, clock: clock.now });
    expect(second).toMatchObject({ broken: 1, failed: 0 });
    expect(await store.get('broken')).toBeUndefined();
  });
});

describe('sweepShardFor', () => {
  const ids = Array.from({ length: 500 }, (_, i) => `Conn${i}${'x'.repeat(i % 13)}=`);

  it('is stable: a fixed string hash, the same in every process', () => {
    // h = h·31 + charCode (32-bit): 'a' → 97, 'b' → 98, 'ab' → 3105; shard = |h| mod 8.
    expect(sweepShardFor('')).toBe('s0');
    expect(sweepShardFor('a')).toBe('s1');
    expect(sweepShardFor('b')).toBe('s2');
    expect(sweepShardFor('ab')).toBe('s1');
    expect(sweepShardFor('L0SM9cOFvHcCIhw=')).toBe(sweepShardFor(['L0SM9c', 'OFvHcCIhw='].join('')));
  });

  it(`is always one of s0…s${SWEEP_SHARDS - 1}, and spreads ids over all of them`, () => {
    const valid = new Set(Array.from({ length: SWEEP_SHARDS }, (_, i) => `s${i}`));
    const seen = new Set<string>();
    for (const id of [...ids, '', 'a', '\u{1F600}', 'z'.repeat(10_000)]) {
      const shard = sweepShardFor(id);
      expect(valid.has(shard)).toBe(true);
      seen.add(shard);
    }
    expect(seen).toEqual(valid);
  });
});
