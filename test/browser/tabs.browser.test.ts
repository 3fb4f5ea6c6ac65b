/**
 * `shareAcrossTabs` in a real headless Chromium against the real local runtime: pages of one
 * browser context (one origin, http://127.0.0.1, so Web Locks and BroadcastChannel are real)
 * load the SDK's build output with `?share=1` (test/browser/pages/core.js).
 *
 * - two pages of one user: exactly one authenticated connection for that user (`GET /presence`),
 *   one leader and one follower, and an emitted event reaches both pages once;
 * - closing the leader page (a tab closed, no `close()` call): the other page takes the lock and
 *   connects within 5 s, and the events emitted during the handover reach it exactly once, in order;
 * - pages of two users never share: two connections, and an event for one user reaches only that user.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_KEY } from '../../lambdas/contract/plain.js';
import { type Backend, startBackend } from './support/backend.js';
import { BrowserSession, resolveBrowser } from './support/browser.js';
import { lastState, openPage, type PageLog, readLog, waitForLog } from './support/page.js';
import { assertClientBuilt, type StaticServer, startStaticServer } from './support/server.js';

const browser = await resolveBrowser();

const CORE_PAGE = { script: '/pages/core.js', title: 'SDK core, shared across tabs' };

type Role = 'solo' | 'leader' | 'follower';
type ClientGlobal = { __rtClient: { state: string; stateInfo: { role: Role }; lastEventId?: string } };

describe.skipIf(!browser)('shareAcrossTabs in headless Chromium', () => {
  let backend: Backend;
  let server: StaticServer;
  let session: BrowserSession;

  beforeAll(async () => {
    assertClientBuilt(['index.js', 'tabs.js']);
    [backend, server] = await Promise.all([startBackend(), startStaticServer()]);
    session = await BrowserSession.launch(browser!);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await server?.close();
    await backend?.stop();
    expect(session?.leftover ?? [], 'Chromium processes left after close').toEqual([]);
  }, 30_000);

  /** A tab of `user` in `context`: the SDK page with shareAcrossTabs, a fresh dev token for every getToken. */
  const tab = (context: BrowserContext, name: string, tenant: string, user: string): Promise<Page> =>
    openPage(session, server, {
      name,
      context,
      page: CORE_PAGE,
      query: { url: backend.rt.wsUrl, share: '1' },
      getToken: () => backend.token({ tenant, user }),
    });

  const waitFor = (page: Page, pred: (log: PageLog) => boolean, label: string, timeoutMs = 5_000) =>
    waitForLog(page, pred, { label, timeoutMs, session });
  const roleOf = (page: Page) => page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.stateInfo.role);
  const connected = (page: Page, label: string) => waitFor(page, (l) => lastState(l) === 'connected', label);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('two pages of one user: one authenticated connection, one leader and one follower; an event reaches each page once', async () => {
    const context = await session.newContext();
    const tenant = backend.freshTenant('tabs');
    const first = await tab(context, 'tabs-1', tenant, 'alice');
    await connected(first, 'first page connected');
    const second = await tab(context, 'tabs-2', tenant, 'alice');
    await connected(second, 'second page connected');

    expect([await roleOf(first), await roleOf(second)]).toEqual(['leader', 'follower']);
    const conns = await backend.waitForConnections(tenant, (c) => c.length >= 1);
    await sleep(300); // a second connection, if any, would be authenticated by now
    expect(await backend.presence(tenant)).toEqual({ connections: 1, users: [{ userId: 'alice', connections: 1 }] });
    expect(await backend.connections(tenant)).toEqual([{ connectionId: conns[0]!.connectionId, userId: 'alice' }]);
    // The follower reports the leader's connection, and asked for one token only (to key the lock).
    expect((await readLog(second)).states.at(-1)!.info).toMatchObject({
      state: 'connected',
      role: 'follower',
      connectionId: conns[0]!.connectionId,
    });
    expect((await readLog(second)).tokenCalls).toBe(1);

    const id = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-1' })}`;
    for (const page of [first, second]) await waitFor(page, (l) => l.events.length >= 1, 'the event');
    await sleep(200); // a duplicate would arrive by now
    for (const page of [first, second]) {
      const log = await readLog(page);
      expect(log.events.map((e) => e.eventId)).toEqual([id]);
      expect(log.events[0]).toMatchObject({ type: 'goal.created', data: { goalId: 'g-1', tenantId: tenant } });
      expect(log.errors).toEqual([]);
      expect(await page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.lastEventId)).toBe(id);
    }
    expect(session.problemsOf('tabs-1')).toEqual([]);
    expect(session.problemsOf('tabs-2')).toEqual([]);
    await context.close();
  });

  it('closing the leader page: the other page leads within 5 s, and events emitted during the handover reach it exactly once', async () => {
    const context = await session.newContext();
    const tenant = backend.freshTenant('handover');
    const leader = await tab(context, 'handover-leader', tenant, 'alice');
    await connected(leader, 'leader connected');
    const follower = await tab(context, 'handover-follower', tenant, 'alice');
    await connected(follower, 'follower connected');
    expect(await roleOf(follower)).toBe('follower');
    const [old] = await backend.waitForConnections(tenant, (c) => c.length === 1);

    const emitted: string[] = [];
    const emit = async () => {
      const seq = emitted.length;
      emitted.push(`evt_${await backend.emit(tenant, 'goal.created', { goalId: `g-${seq}`, seq })}`);
    };
    for (let i = 0; i < 3; i++) await emit(); // before
    await waitFor(follower, (l) => l.events.length === 3, '3 events before the handover');

    // During: events are put one after another while the leader tab closes and the follower takes over.
    let pumping = true;
    const pump = (async () => {
      while (pumping) await emit();
    })();
    let tookMs: number;
    try {
      await sleep(30);
      const closedAt = Date.now();
      await leader.close(); // the tab goes away: no close() call, the browser releases its lock
      await waitFor(
        follower,
        (l) => l.states.some((s) => (s.info as { role?: Role }).role === 'leader' && s.state === 'connected'),
        'the follower leading and connected',
        5_000,
      );
      tookMs = Date.now() - closedAt;
      await backend.waitForConnections(tenant, (c) => c.length === 1 && c[0]!.connectionId !== old!.connectionId);
      await sleep(100);
    } finally {
      pumping = false;
      await pump;
    }
    for (let i = 0; i < 2; i++) await emit(); // after

    await waitFor(follower, (l) => l.events.length >= emitted.length, `all ${emitted.length} events`, 10_000);
    await sleep(300);
    const log = await readLog(follower);
    // Exactly once and in order: every event emitted before, during and after the handover.
    expect(log.events.map((e) => e.data.seq)).toEqual(emitted.map((_, i) => i));
    expect(log.events.map((e) => e.eventId)).toEqual(emitted);
    expect(log.gaps).toEqual([]);
    expect(log.errors).toEqual([]);
    expect(tookMs).toBeLessThan(5_000);
    const takeover = log.states.find((s) => s.info && (s.info as { reason?: string }).reason === 'takeover');
    expect(takeover?.info).toMatchObject({ state: 'connecting', role: 'leader' });
    expect(log.tokenCalls).toBe(2); // the key, then its own token to connect with
    console.log(
      `handover: leader tab closed → follower leading and connected in ${tookMs} ms; ${emitted.length} events exactly once`,
    );
    expect(await backend.presence(tenant)).toEqual({ connections: 1, users: [{ userId: 'alice', connections: 1 }] });
    expect(session.problemsOf('handover-follower')).toEqual([]);
    await context.close();
  });

  it('pages of two users never share: two connections, and an event for one user reaches only that user', async () => {
    const context = await session.newContext();
    const tenant = backend.freshTenant('users');
    const alice = await tab(context, 'users-alice', tenant, 'alice');
    const bob = await tab(context, 'users-bob', tenant, 'bob');
    await connected(alice, 'alice connected');
    await connected(bob, 'bob connected');
    expect([await roleOf(alice), await roleOf(bob)]).toEqual(['leader', 'leader']);
    await backend.waitForConnections(tenant, (c) => c.length === 2);
    expect(await backend.presence(tenant)).toEqual({
      connections: 2,
      users: [
        { userId: 'alice', connections: 1 },
        { userId: 'bob', connections: 1 },
      ],
    });

    const forAlice = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-a', [AUDIENCE_KEY]: { userIds: ['alice'] } })}`;
    const forAll = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-all' })}`;
    await waitFor(alice, (l) => l.events.length >= 2, 'alice: two events');
    await waitFor(bob, (l) => l.events.length >= 1, 'bob: one event');
    await sleep(200);
    expect((await readLog(alice)).events.map((e) => e.eventId)).toEqual([forAlice, forAll]);
    expect((await readLog(bob)).events.map((e) => e.eventId)).toEqual([forAll]);
    await context.close();
  });
});
