/**
 * The documented semantics of the ConnectionStore and EventLog ports (`lambdas/core/ports.ts`),
 * as reusable suites. `fakes.test.ts` runs them against the in-memory fakes and
 * `test/adapters/dynamo.test.ts` against the DynamoDB adapters on dynalite, so the fakes the
 * other unit tests rely on are known to behave like the real thing.
 */
import { describe, expect, it } from 'vitest';
import type { Audience, Envelope, Recipient } from '../../lambdas/contract/index.js';
import type { ConnectionStore, EventLog } from '../../lambdas/core/ports.js';
import { sweepShardFor } from '../../lambdas/core/sweep.js';
import { envelope, identity } from './fakes.js';

const NOW = Math.floor(Date.UTC(2025, 0, 15, 12) / 1000);

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

const byId = <T extends { connectionId: string }>(items: T[]) =>
  [...items].sort((a, b) => a.connectionId.localeCompare(b.connectionId));

export function connectionStoreContract(name: string, make: () => Promise<ConnectionStore> | ConnectionStore): void {
  describe(`ConnectionStore contract: ${name}`, () => {
    const pending = (store: ConnectionStore, connectionId: string, authDeadline = NOW + 30) =>
      store.putPending({ connectionId, connectedAt: NOW, authDeadline, ttl: NOW + 7800 });

    it('stores a pending record with its auth deadline as the sweep time, and no tenant', async () => {
      // Prepare
      const store = await make();
      // Act
      await pending(store, 'p1');
      // Assess
      const record = await store.get('p1');
      expect(record).toMatchObject({
        connectionId: 'p1',
        connectedAt: NOW,
        authDeadline: NOW + 30,
        sweepAt: NOW + 30,
        sweepShard: sweepShardFor('p1'),
        ttl: NOW + 7800,
      });
      expect(record?.tenantId).toBeUndefined();
      expect(await store.get('absent')).toBeUndefined();
    });

    it('keeps pending records out of the tenant recipients', async () => {
      const store = await make();
      await pending(store, 'p1');
      expect(await collect(store.recipients('t1'))).toEqual([]);
    });

    it('authenticates a pending record: tenant, user, roles, expiry as sweep time, deadline removed, ttl kept', async () => {
      const store = await make();
      await pending(store, 'c1');
      const ok = await store.authenticate('c1', identity({ roles: ['admin'], expiresAt: NOW + 3600 }), NOW + 99_999);
      expect(ok).toBe(true);
      const record = await store.get('c1');
      expect(record).toMatchObject({
        connectionId: 'c1',
        tenantId: 't1',
        userId: 'u1',
        roles: ['admin'],
        tokenExpiresAt: NOW + 3600,
        sweepAt: NOW + 3600,
        ttl: NOW + 7800,
        connectedAt: NOW,
      });
      expect(record?.authDeadline).toBeUndefined();
    });

    it('refreshes an authenticated record for the same tenant and user', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW + 60 }), NOW + 7800);
      const ok = await store.authenticate('c1', identity({ expiresAt: NOW + 7200, roles: ['editor'] }), NOW + 7800);
      expect(ok).toBe(true);
      expect(await store.get('c1')).toMatchObject({
        tokenExpiresAt: NOW + 7200,
        sweepAt: NOW + 7200,
        roles: ['editor'],
      });
    });

    it.each([
      ['another tenant', { tenantId: 't2' }],
      ['another user', { userId: 'u2' }],
    ])('refuses to authenticate %s on an authenticated record and leaves it unchanged', async (_label, other) => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW + 60 }), NOW + 7800);
      const before = await store.get('c1');
      const ok = await store.authenticate('c1', identity({ ...other, expiresAt: NOW + 7200 }), NOW + 7800);
      expect(ok).toBe(false);
      expect(await store.get('c1')).toEqual(before);
    });

    it('sets subscriptions only on an authenticated record', async () => {
      const store = await make();
      await pending(store, 'p1');
      await pending(store, 'c1');
      await store.authenticate('c1', identity(), NOW + 7800);
      expect(await store.setSubscriptions('p1', ['goal.*'])).toBe(false);
      expect(await store.setSubscriptions('absent', ['goal.*'])).toBe(false);
      expect(await store.setSubscriptions('c1', ['goal.*', 'issue.created'])).toBe(true);
      expect((await store.get('c1'))?.subscriptions).toEqual(['goal.*', 'issue.created']);
      expect((await store.get('p1'))?.subscriptions).toBeUndefined();
      expect(await store.get('absent')).toBeUndefined();
    });

    it('deletes if due only when sweepAt is at or before now', async () => {
      const store = await make();
      await pending(store, 'early', NOW - 1);
      await pending(store, 'exact', NOW);
      await pending(store, 'later', NOW + 1);
      expect(await store.deleteIfDue('later', NOW)).toBe(false);
      expect(await store.deleteIfDue('exact', NOW)).toBe(true);
      expect(await store.deleteIfDue('early', NOW)).toBe(true);
      expect(await store.deleteIfDue('absent', NOW)).toBe(false);
      expect(await store.get('later')).toBeDefined();
      expect(await store.get('exact')).toBeUndefined();
      expect(await store.get('early')).toBeUndefined();
    });

    it('deletes unconditionally, and deleting an absent record is not an error', async () => {
      const store = await make();
      await pending(store, 'p1');
      await store.delete('p1');
      await expect(store.delete('p1')).resolves.toBeUndefined();
      expect(await store.get('p1')).toBeUndefined();
    });

    it("lists a tenant's authenticated connections, with what fan-out needs, and no other tenant's", async () => {
      const store = await make();
      for (const id of ['a', 'b', 'c']) await pending(store, id);
      await pending(store, 'x');
      await pending(store, 'pending');
      await store.authenticate('a', identity({ userId: 'ua', roles: ['admin'], expiresAt: NOW + 100 }), NOW + 7800);
      await store.authenticate('b', identity({ userId: 'ub', expiresAt: NOW + 200 }), NOW + 7800);
      await store.authenticate('c', identity({ userId: 'uc', expiresAt: NOW + 300 }), NOW + 7800);
      await store.authenticate('x', identity({ tenantId: 't2', userId: 'ux' }), NOW + 7800);
      await store.setSubscriptions('b', ['goal.*']);

      const recipients = byId(await collect(store.recipients('t1')));

      const expected: Recipient[] = [
        { connectionId: 'a', tenantId: 't1', userId: 'ua', roles: ['admin'], tokenExpiresAt: NOW + 100 },
        {
          connectionId: 'b',
          tenantId: 't1',
          userId: 'ub',
          roles: [],
          subscriptions: ['goal.*'],
          tokenExpiresAt: NOW + 200,
        },
        { connectionId: 'c', tenantId: 't1', userId: 'uc', roles: [], tokenExpiresAt: NOW + 300 },
      ];
      expect(recipients.map((r) => ({ ...r, roles: r.roles ?? [] }))).toEqual(
        expected.map((r) => expect.objectContaining(r)),
      );
      expect(await collect(store.recipients('t3'))).toEqual([]);
    });

    it("lists the connections of some users of a tenant, never another tenant's user of the same id", async () => {
      const store = await make();
      for (const id of ['a1', 'a2', 'b', 'c', 'other', 'pending']) await pending(store, id);
      await store.authenticate('a1', identity({ userId: 'ua' }), NOW + 7800);
      await store.authenticate('a2', identity({ userId: 'ua', roles: ['admin'] }), NOW + 7800);
      await store.authenticate('b', identity({ userId: 'ub' }), NOW + 7800);
      await store.authenticate('c', identity({ userId: 'uc' }), NOW + 7800);
      await store.authenticate('other', identity({ tenantId: 't2', userId: 'ua' }), NOW + 7800);

      const found = byId(await collect(store.recipientsOf('t1', ['ua', 'ub', 'ua', 'nobody'])));

      expect(found.map((r) => r.connectionId)).toEqual(['a1', 'a2', 'b']);
      expect(found.every((r) => r.tenantId === 't1')).toBe(true);
      expect(found.find((r) => r.connectionId === 'a2')).toMatchObject({ userId: 'ua', roles: ['admin'] });
      expect(await collect(store.recipientsOf('t2', ['ub']))).toEqual([]);
    });

    it('lists due connections: pending past the deadline and authenticated past expiry, not later ones', async () => {
      const store = await make();
      await pending(store, 'late-pending', NOW - 5);
      await pending(store, 'fresh-pending', NOW + 30);
      await pending(store, 'expired');
      await pending(store, 'valid');
      await store.authenticate('expired', identity({ expiresAt: NOW - 1 }), NOW + 7800);
      await store.authenticate('valid', identity({ expiresAt: NOW + 600 }), NOW + 7800);

      const due = byId(await collect(store.due(NOW)));

      expect(due.map((d) => d.connectionId)).toEqual(['expired', 'late-pending']);
      expect(due.find((d) => d.connectionId === 'expired')?.tenantId).toBe('t1');
      expect(due.find((d) => d.connectionId === 'late-pending')?.tenantId).toBeUndefined();
    });
  });
}

export function eventLogContract(name: string, make: () => Promise<EventLog> | EventLog): void {
  describe(`EventLog contract: ${name}`, () => {
    const T0 = Date.UTC(2025, 0, 15, 12);
    const TTL = NOW + 86_400;
    const seed = async (
      log: EventLog,
      events: Array<{ env: Envelope; audience?: Audience; at?: number; ttl?: number }>,
    ) => {
      for (const [i, e] of events.entries()) {
        await log.append(
          { envelope: e.env, ...(e.audience ? { audience: e.audience } : {}) },
          e.at ?? T0 + i * 10,
          e.ttl ?? TTL,
        );
      }
    };

    it('appends an event once: a second append of the same eventId is a duplicate and changes nothing', async () => {
      const log = await make();
      const first = await log.append({ envelope: envelope(1) }, T0, TTL);
      await log.append({ envelope: envelope(2) }, T0 + 10, TTL);
      const second = await log.append({ envelope: envelope(1) }, T0 + 20, TTL);
      await log.append({ envelope: envelope(3) }, T0 + 30, TTL);

      expect(first).toEqual({ duplicate: false });
      expect(second).toEqual({ duplicate: true });
      // The retry keeps its original position: after evt_1 come evt_2 and evt_3, once each.
      const after = await log.after('t1', 'evt_1', 10, NOW);
      expect(after?.map((e) => e.envelope.eventId)).toEqual(['evt_2', 'evt_3']);
    });

    it('returns the events after an id, oldest first, at most limit, with their audience', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1) },
        { env: envelope(2) },
        {
          env: envelope(3, { type: 'issue.created', data: { tenantId: 't1', issueId: 'i3' } }),
          audience: { roles: ['admin'] },
        },
        { env: envelope(4) },
      ]);

      const all = await log.after('t1', 'evt_1', 10, NOW);
      const limited = await log.after('t1', 'evt_1', 2, NOW);
      const none = await log.after('t1', 'evt_4', 10, NOW);

      expect(all?.map((e) => e.envelope.eventId)).toEqual(['evt_2', 'evt_3', 'evt_4']);
      expect(all?.[1]).toEqual({
        envelope: envelope(3, { type: 'issue.created', data: { tenantId: 't1', issueId: 'i3' } }),
        audience: { roles: ['admin'] },
      });
      expect(all?.[0]?.audience).toBeUndefined();
      expect(limited?.map((e) => e.envelope.eventId)).toEqual(['evt_2', 'evt_3']);
      expect(none).toEqual([]);
    });

    it('answers the newest unexpired event id of a tenant as its resume point', async () => {
      const log = await make();
      expect(await log.latest('t1', NOW)).toBeUndefined();
      await seed(log, [
        { env: envelope(9), at: T0 },
        { env: envelope(1), at: T0 + 5 },
        { env: envelope(7, { tenantId: 't2', data: { tenantId: 't2', goalId: 'g7' } }), at: T0 + 9 },
      ]);
      expect(await log.latest('t1', NOW)).toBe('evt_1');
      expect(await log.latest('t2', NOW)).toBe('evt_7');
      expect(await log.latest('t1', TTL)).toBeUndefined();
    });

    it('orders by arrival time, not by event id', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(9), at: T0 },
        { env: envelope(1), at: T0 + 5 },
        { env: envelope(5), at: T0 + 7 },
      ]);
      const after = await log.after('t1', 'evt_9', 10, NOW);
      expect(after?.map((e) => e.envelope.eventId)).toEqual(['evt_1', 'evt_5']);
    });

    it("answers undefined for an unknown id or another tenant's id", async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1) },
        { env: envelope(2, { tenantId: 't2', data: { tenantId: 't2', goalId: 'g2' } }) },
      ]);
      expect(await log.after('t1', 'evt_404', 10, NOW)).toBeUndefined();
      expect(await log.after('t1', 'evt_2', 10, NOW)).toBeUndefined();
      expect(await log.after('t2', 'evt_1', 10, NOW)).toBeUndefined();
      expect(await log.after('t2', 'evt_2', 10, NOW)).toEqual([]);
    });

    it('treats an id past its retention as unknown, and skips expired events', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1), ttl: NOW },
        { env: envelope(2), ttl: NOW + 100 },
        { env: envelope(3), ttl: NOW + 10 },
        { env: envelope(4), ttl: NOW + 100 },
      ]);
      expect(await log.after('t1', 'evt_1', 10, NOW)).toBeUndefined();
      const after = await log.after('t1', 'evt_2', 10, NOW + 10);
      expect(after?.map((e) => e.envelope.eventId)).toEqual(['evt_4']);
    });
  });
}
