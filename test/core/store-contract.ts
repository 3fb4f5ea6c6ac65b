/**
 * The documented semantics of the ConnectionStore and EventLog ports (`lambdas/core/ports.ts`),
 * as reusable suites. `fakes.test.ts` runs them against the in-memory fakes and
 * `test/adapters/dynamo.test.ts` against the DynamoDB adapters on dynalite, so the fakes the
 * other unit tests rely on are known to behave like the real thing.
 */
import { describe, expect, it } from 'vitest';
import {
  type Audience,
  type Envelope,
  eventLogFrom,
  eventLogSortKey,
  type Recipient,
} from '../../lambdas/contract/index.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import { fullFilter } from '../../lambdas/core/matching.js';
import type { ConnectionStore, EventLog, LogItem } from '../../lambdas/core/ports.js';
import { sweepShardFor } from '../../lambdas/core/sweep.js';
import { envelope, identity } from './fakes.js';

const NOW = Math.floor(Date.UTC(2025, 0, 15, 12) / 1000);

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

/** A filter of these event types (any source, every priority). */
const types = (eventTypes: string[]) => fullFilter({ eventTypes });

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
      const ok = await store.authenticate('c1', identity({ roles: ['admin'], expiresAt: NOW + 3600 }), NOW);
      expect(ok).toBe('authenticated');
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
      await store.authenticate('c1', identity({ expiresAt: NOW + 60 }), NOW);
      const ok = await store.authenticate('c1', identity({ expiresAt: NOW + 7200, roles: ['editor'] }), NOW);
      expect(ok).toBe('authenticated');
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
      await store.authenticate('c1', identity({ expiresAt: NOW + 60 }), NOW);
      const before = await store.get('c1');
      const ok = await store.authenticate('c1', identity({ ...other, expiresAt: NOW + 7200 }), NOW);
      expect(ok).toBe('mismatch');
      expect(await store.get('c1')).toEqual(before);
    });

    it('sets subscriptions only on an authenticated record', async () => {
      const store = await make();
      await pending(store, 'p1');
      await pending(store, 'c1');
      await store.authenticate('c1', identity(), NOW);
      expect(await store.setFilter('p1', types(['goal.*']), 0, NOW)).toBe(false);
      expect(await store.setFilter('absent', types(['goal.*']), 0, NOW)).toBe(false);
      expect(await store.setFilter('c1', types(['goal.*', 'issue.created']), 0, NOW)).toBe(true);
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
      await store.authenticate('a', identity({ userId: 'ua', roles: ['admin'], expiresAt: NOW + 100 }), NOW);
      await store.authenticate('b', identity({ userId: 'ub', expiresAt: NOW + 200 }), NOW);
      await store.authenticate('c', identity({ userId: 'uc', expiresAt: NOW + 300 }), NOW);
      await store.authenticate('x', identity({ tenantId: 't2', userId: 'ux' }), NOW);
      await store.setFilter('b', types(['goal.*']), 0, NOW);

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

    it('stores the whole filter, and both fan-out indexes project it (types, sources, minimum priority)', async () => {
      const store = await make();
      for (const id of ['f', 'g']) await pending(store, id);
      await store.authenticate('f', identity({ userId: 'uf' }), NOW);
      await store.authenticate('g', identity({ userId: 'ug' }), NOW);
      const filter = { eventTypes: ['goal.*'], sources: ['billing', 'crm'], minPriority: 'high' as const };
      expect(await store.setFilter('f', filter, 0, NOW)).toBe(true);

      expect(await store.get('f')).toMatchObject({
        subscriptions: ['goal.*'],
        sources: ['billing', 'crm'],
        minPriority: 'high',
        subscriptionsVersion: 1,
      });
      const projected = { subscriptions: ['goal.*'], sources: ['billing', 'crm'], minPriority: 'high' };
      const viaTenant = await collect(store.recipients('t1'));
      expect(viaTenant.find((r) => r.connectionId === 'f')).toMatchObject(projected);
      expect(await collect(store.recipientsOf('t1', ['uf']))).toEqual([expect.objectContaining(projected)]);
      // One that never changed its filter has none of these (absent: every type, source and priority).
      const untouched = viaTenant.find((r) => r.connectionId === 'g');
      expect(untouched).toBeDefined();
      expect(untouched?.sources).toBeUndefined();
      expect(untouched?.minPriority).toBeUndefined();

      // Replaced as a whole at the next version: an emptied source set and a lower floor stick.
      expect(await store.setFilter('f', { eventTypes: [], sources: [], minPriority: 'low' }, 1, NOW)).toBe(true);
      expect(await collect(store.recipientsOf('t1', ['uf']))).toEqual([
        expect.objectContaining({ subscriptions: [], sources: [], minPriority: 'low' }),
      ]);
    });

    it("lists the connections of some users of a tenant, never another tenant's user of the same id", async () => {
      const store = await make();
      for (const id of ['a1', 'a2', 'b', 'c', 'other', 'pending']) await pending(store, id);
      await store.authenticate('a1', identity({ userId: 'ua' }), NOW);
      await store.authenticate('a2', identity({ userId: 'ua', roles: ['admin'] }), NOW);
      await store.authenticate('b', identity({ userId: 'ub' }), NOW);
      await store.authenticate('c', identity({ userId: 'uc' }), NOW);
      await store.authenticate('other', identity({ tenantId: 't2', userId: 'ua' }), NOW);

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
      await store.authenticate('expired', identity({ expiresAt: NOW - 1 }), NOW);
      await store.authenticate('valid', identity({ expiresAt: NOW + 600 }), NOW);

      const due = byId(await collect(store.due(NOW)));

      expect(due.map((d) => d.connectionId)).toEqual(['expired', 'late-pending']);
      expect(due.find((d) => d.connectionId === 'expired')?.tenantId).toBe('t1');
      expect(due.find((d) => d.connectionId === 'late-pending')?.tenantId).toBeUndefined();
    });

    it('never recreates a deleted record: auth racing $disconnect or the sweeper answers closed', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.delete('c1');
      expect(await store.authenticate('c1', identity(), NOW)).toBe('closed');
      expect(await store.authenticate('never-connected', identity(), NOW)).toBe('closed');
      expect(await store.get('c1')).toBeUndefined();
      expect(await store.get('never-connected')).toBeUndefined();
      expect(await collect(store.recipients('t1'))).toEqual([]);
    });

    it('refuses to refresh a session that has already expired, and changes nothing', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW - 1 }), NOW - 10);
      const before = await store.get('c1');
      expect(await store.authenticate('c1', identity({ expiresAt: NOW + 3600 }), NOW)).toBe('expired');
      expect(await store.get('c1')).toEqual(before);
    });

    it('marks a connection broken: due for the sweeper now, visible to fan-out, not re-authenticated', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW + 3600 }), NOW);

      expect(await store.markBroken('c1', NOW + 5)).toBe(true);
      expect(await store.markBroken('absent', NOW + 5)).toBe(false);

      expect(await store.get('c1')).toMatchObject({ brokenAt: NOW + 5, sweepAt: NOW + 5, tenantId: 't1' });
      expect(await store.get('absent')).toBeUndefined();
      expect(await collect(store.recipients('t1'))).toEqual([
        expect.objectContaining({ connectionId: 'c1', brokenAt: NOW + 5 }),
      ]);
      expect(await collect(store.recipientsOf('t1', ['u1']))).toEqual([
        expect.objectContaining({ connectionId: 'c1', brokenAt: NOW + 5 }),
      ]);
      expect(await collect(store.due(NOW + 5))).toEqual([
        expect.objectContaining({ connectionId: 'c1', tenantId: 't1', brokenAt: NOW + 5 }),
      ]);
      // A refresh must not postpone its sweep nor make it healthy again.
      expect(await store.authenticate('c1', identity({ expiresAt: NOW + 7200 }), NOW + 6)).toBe('closed');
      expect(await store.get('c1')).toMatchObject({ sweepAt: NOW + 5, tokenExpiresAt: NOW + 3600 });
    });

    it('changes subscriptions only at the version read: a concurrent change makes the stale write fail', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW + 3600 }), NOW);
      // Two writers read version 0; the first write wins and bumps the version.
      expect(await store.setFilter('c1', types(['goal.*']), 0, NOW)).toBe(true);
      expect(await store.setFilter('c1', types(['issue.*']), 0, NOW)).toBe(false);
      expect(await store.get('c1')).toMatchObject({ subscriptions: ['goal.*'], subscriptionsVersion: 1 });
      // Re-read, re-applied at version 1.
      expect(await store.setFilter('c1', types(['goal.*', 'issue.*']), 1, NOW)).toBe(true);
      expect(await store.get('c1')).toMatchObject({ subscriptions: ['goal.*', 'issue.*'], subscriptionsVersion: 2 });
    });

    it('changes no subscriptions of an expired session', async () => {
      const store = await make();
      await pending(store, 'c1');
      await store.authenticate('c1', identity({ expiresAt: NOW }), NOW - 10);
      expect(await store.setFilter('c1', types(['goal.*']), 0, NOW)).toBe(false);
      expect((await store.get('c1'))?.subscriptions).toBeUndefined();
    });

    it('counts resume calls per fixed window: the limit, then refusals, then a new window', async () => {
      const store = await make();
      await pending(store, 'c1');
      const limit = { calls: 3, windowSeconds: 10 };
      const start = NOW - (NOW % 10);
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await store.takeResumeCall('c1', start + 2, limit));
      expect(results).toEqual([true, true, true, false, false]);
      expect(await store.takeResumeCall('c1', start + 9, limit)).toBe(false);
      expect(await store.takeResumeCall('c1', start + 10, limit)).toBe(true);
      expect(await store.get('c1')).toMatchObject({ resumeWindow: start + 10, resumeCalls: 1 });
      expect(await store.takeResumeCall('absent', start + 10, limit)).toBe(false);
      expect(await store.get('absent')).toBeUndefined();
    });

    it('saves and clears the resume sequence in progress, never on an absent record', async () => {
      const store = await make();
      await pending(store, 'c1');
      const state = {
        cursor: 'evt_9',
        origin: 'evt_1',
        from: 'e#0000000001000',
        after: 'e#0000000002000#evt_9',
        sent: 3,
        scanned: 7,
      };
      await store.saveReplay('c1', state);
      expect((await store.get('c1'))?.replay).toEqual(state);
      await store.saveReplay('c1', undefined);
      expect((await store.get('c1'))?.replay).toBeUndefined();
      await store.saveReplay('absent', state);
      expect(await store.get('absent')).toBeUndefined();
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
        await appendEvent(
          log,
          { envelope: e.env, ...(e.audience ? { audience: e.audience } : {}) },
          e.at ?? T0 + i * 10,
          e.ttl ?? TTL,
        );
      }
    };
    /** Everything logged for a tenant, oldest first (one read). */
    const all = async (log: EventLog, tenantId = 't1') =>
      (await log.read(tenantId, { from: eventLogFrom(0) }, 100)).items;
    const ids = (items: LogItem[]) => items.map((i) => i.envelope.eventId);

    it('logs every attempt as a new copy at its own time; the id marker keeps the first position', async () => {
      const log = await make();
      const first = await appendEvent(log, { envelope: envelope(1) }, T0, TTL);
      await appendEvent(log, { envelope: envelope(2) }, T0 + 10, TTL);
      const retry = await appendEvent(log, { envelope: envelope(1) }, T0 + 20, TTL + 20);
      await appendEvent(log, { envelope: envelope(3) }, T0 + 30, TTL);

      expect(first).toEqual({ duplicate: false });
      expect(retry).toEqual({ duplicate: true });
      // The retry is found after the events logged since; its copy points at the first one.
      const items = await all(log);
      expect(ids(items)).toEqual(['evt_1', 'evt_2', 'evt_1', 'evt_3']);
      expect(items.map((i) => i.position)).toEqual([
        eventLogSortKey(T0, 'evt_1'),
        eventLogSortKey(T0 + 10, 'evt_2'),
        eventLogSortKey(T0 + 20, 'evt_1'),
        eventLogSortKey(T0 + 30, 'evt_3'),
      ]);
      expect(items[0]?.first).toBeUndefined();
      expect(items[2]).toMatchObject({ ttl: TTL + 20, first: { position: eventLogSortKey(T0, 'evt_1'), ttl: TTL } });
      // Its resume position stays the first copy's.
      expect(await log.position('t1', 'evt_1', NOW)).toBe(eventLogSortKey(T0, 'evt_1'));
    });

    it('logs the same attempt twice as one copy (an idempotent write)', async () => {
      const log = await make();
      await appendEvent(log, { envelope: envelope(1) }, T0, TTL);
      await appendEvent(log, { envelope: envelope(1) }, T0, TTL);
      const items = await all(log);
      expect(ids(items)).toEqual(['evt_1']);
      expect(items[0]?.first).toBeUndefined();
    });

    it('reads copies from a position, oldest first, at most limit, after a key, with audience and ttl', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1) },
        { env: envelope(2) },
        {
          env: envelope(3, { type: 'issue.created', data: { tenantId: 't1', issueId: 'i3' } }),
          audience: { roles: ['admin'] },
        },
        { env: envelope(4), ttl: TTL + 4 },
      ]);
      const from = eventLogSortKey(T0 + 10, 'evt_2');

      const page1 = await log.read('t1', { from }, 2);
      const page2 = await log.read('t1', { from, after: page1.items.at(-1)?.position }, 2);
      const rest = await log.read('t1', { from, after: page2.items.at(-1)?.position }, 2);

      expect(ids(page1.items)).toEqual(['evt_2', 'evt_3']);
      expect(page1.done).toBe(false);
      expect(page1.items[1]).toEqual({
        position: eventLogSortKey(T0 + 20, 'evt_3'),
        ttl: TTL,
        envelope: envelope(3, { type: 'issue.created', data: { tenantId: 't1', issueId: 'i3' } }),
        audience: { roles: ['admin'] },
      });
      expect(page1.items[0]?.audience).toBeUndefined();
      expect(ids(page2.items)).toEqual(['evt_4']);
      expect(page2.items[0]?.ttl).toBe(TTL + 4);
      expect(page2.done).toBe(true);
      expect(rest).toEqual({ items: [], done: true });
      // A lower bound between copies: the first copy at or after it.
      expect(ids((await log.read('t1', { from: eventLogFrom(T0 + 5) }, 1)).items)).toEqual(['evt_2']);
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

    it("passes over a retry's newer copy for the resume point: that event resumes from its old position", async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1), at: T0 },
        { env: envelope(2), at: T0 + 5 },
        { env: envelope(1), at: T0 + 9 }, // evt_1 retried
      ]);
      expect(await log.latest('t1', NOW)).toBe('evt_2');
    });

    it('orders by arrival time, not by event id', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(9), at: T0 },
        { env: envelope(1), at: T0 + 5 },
        { env: envelope(5), at: T0 + 7 },
      ]);
      expect(ids(await all(log))).toEqual(['evt_9', 'evt_1', 'evt_5']);
    });

    it("knows no position for an unknown id or another tenant's id", async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1) },
        { env: envelope(2, { tenantId: 't2', data: { tenantId: 't2', goalId: 'g2' } }) },
      ]);
      expect(await log.position('t1', 'evt_404', NOW)).toBeUndefined();
      expect(await log.position('t1', 'evt_2', NOW)).toBeUndefined();
      expect(await log.position('t2', 'evt_1', NOW)).toBeUndefined();
      expect(await log.position('t2', 'evt_2', NOW)).toBe(eventLogSortKey(T0 + 10, 'evt_2'));
      expect(ids(await all(log, 't2'))).toEqual(['evt_2']);
    });

    it('treats an id past its retention as unknown', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1), ttl: NOW },
        { env: envelope(2), ttl: NOW + 100 },
      ]);
      expect(await log.position('t1', 'evt_1', NOW)).toBeUndefined();
      expect(await log.position('t1', 'evt_2', NOW)).toBeDefined();
    });
  });
}
