/**
 * The client SDK in a real headless Chromium, against the real local runtime (issue 10, "In a
 * real headless Chromium"): a page loads the SDK's build output (`client/dist/index.js`, as the
 * browser gets it, no bundler), connects with a token, receives an emitted event, and survives
 * server-side kills with no event lost or duplicated. A second page renders the React bindings
 * (React 19, bundled with esbuild at test time) and shows the live event and connection state.
 *
 * The browser comes from test/browser/support/browser.ts: @sparticuz/chromium, else
 * /usr/bin/chromium. Without either the tests are skipped with one printed line, unless
 * REQUIRE_BROWSER=1 (set by .ci/run), which makes a missing browser a failure.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from './support/backend.js';
import { BrowserSession, resolveBrowser } from './support/browser.js';
import { lastState, openPage, type PageLog, readLog, stateNames, waitForLog } from './support/page.js';
import { assertClientBuilt, type StaticServer, startStaticServer } from './support/server.js';

const browser = await resolveBrowser();

/** The page's client, as far as these tests read it. */
type ClientGlobal = { __rtClient: { state: string; lastEventId: string | undefined; connectionId?: string } };

const CORE_PAGE = { script: '/pages/core.js', title: 'SDK core' };

describe.skipIf(!browser)('client SDK in headless Chromium', () => {
  let backend: Backend;
  let server: StaticServer;
  let session: BrowserSession;
  let reactScript: string;

  beforeAll(async () => {
    assertClientBuilt();
    [backend, server] = await Promise.all([startBackend(), startStaticServer()]);
    [session, reactScript] = await Promise.all([
      BrowserSession.launch(browser!),
      server.bundle('react-page', 'test/browser/pages/react-page.jsx'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await server?.close();
    await backend?.stop();
    expect(session?.leftover ?? [], 'Chromium processes left after close').toEqual([]);
  }, 30_000);

  /** A page of one user of a fresh tenant, whose client gets a new dev token for every auth. */
  async function clientPage(
    name: string,
    tenant: string,
    user = 'u1',
    script = CORE_PAGE,
    query: Record<string, string> = {},
  ): Promise<Page> {
    return openPage(session, server, {
      name,
      page: script,
      query: { url: backend.rt.wsUrl, ...query },
      getToken: () => backend.token({ tenant, user }),
    });
  }

  const reactPage = () => ({ script: reactScript, title: 'SDK React' });

  const waitFor = (page: Page, pred: (log: PageLog) => boolean, label: string, timeoutMs = 5_000) =>
    waitForLog(page, pred, { label, timeoutMs, session });

  it('serves test pages from http://127.0.0.1, a secure context (Web Locks and BroadcastChannel exist)', async () => {
    const page = await clientPage('context', backend.freshTenant('context'));
    const has = await page.evaluate(() => {
      const g = globalThis as unknown as { isSecureContext: boolean; navigator: { locks?: unknown } };
      return {
        secure: g.isSecureContext,
        locks: g.navigator.locks !== undefined,
        bc: 'BroadcastChannel' in globalThis,
      };
    });
    expect(has).toEqual({ secure: true, locks: true, bc: true });
    expect(page.url().startsWith(`${server.origin}/`)).toBe(true);
    await page.close();
  });

  it('connects with a token: idle → connecting → authenticating → connected, one authenticated connection', async () => {
    const tenant = backend.freshTenant('connect');
    const page = await clientPage('connect', tenant, 'alice');

    const log = await waitFor(page, (l) => lastState(l) === 'connected', 'state connected');
    const states = stateNames(log);
    expect(states.indexOf('connecting')).toBeGreaterThanOrEqual(0);
    expect(states.indexOf('authenticating')).toBeGreaterThan(states.indexOf('connecting'));
    expect(states.indexOf('connected')).toBeGreaterThan(states.indexOf('authenticating'));
    expect(log.tokenCalls).toBe(1);
    expect(log.errors).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.state)).toBe('connected');

    // The server agrees: exactly one authenticated connection, for this user, and the client
    // reports its id with the change to `connected`.
    const conns = await backend.waitForConnections(tenant, (c) => c.length === 1);
    expect(conns[0]!.userId).toBe('alice');
    expect(log.states.at(-1)!.info).toMatchObject({
      state: 'connected',
      reason: 'authenticated',
      connectionId: conns[0]!.connectionId,
    });
    expect(session.problemsOf('connect')).toEqual([]);
  });

  it('receives an emitted event: the envelope with its five fields and source/priority, once; lastEventId follows it', async () => {
    const tenant = backend.freshTenant('event');
    const other = backend.freshTenant('other');
    const page = await clientPage('event', tenant);
    await waitFor(page, (l) => lastState(l) === 'connected', 'state connected');
    await backend.waitForConnections(tenant, (c) => c.length === 1);

    await backend.emit(other, 'goal.created', { goalId: 'not-mine' });
    const id = await backend.emit(tenant, 'goal.created', { goalId: 'g-1', title: 'Ship the SDK' });
    const log = await waitFor(page, (l) => l.events.length >= 1, 'the event');

    expect(log.events).toHaveLength(1);
    const [envelope] = log.events;
    expect(envelope).toEqual({
      type: 'goal.created',
      data: { tenantId: tenant, goalId: 'g-1', title: 'Ship the SDK' },
      timestamp: expect.any(String),
      eventId: `evt_${id}`,
      tenantId: tenant,
      // Issue 14: the EventBridge source and the priority (the default: the detail names none).
      source: 'test.browser',
      priority: 'normal',
    });
    expect(Date.parse(envelope!.timestamp)).not.toBeNaN();
    expect(await page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.lastEventId)).toBe(`evt_${id}`);
    expect(log.errors).toEqual([]);
    expect(log.gaps).toEqual([]);
  });

  it('survives server-side kills: every event emitted before, during and after arrives exactly once, in order', async () => {
    const tenant = backend.freshTenant('kill');
    const page = await clientPage('kill', tenant);
    await waitFor(page, (l) => lastState(l) === 'connected', 'state connected');

    const emitted: string[] = [];
    const emit = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const seq = emitted.length;
        emitted.push(`evt_${await backend.emit(tenant, 'goal.created', { goalId: `g-${seq}`, seq })}`);
      }
    };

    let [conn] = await backend.waitForConnections(tenant, (c) => c.length === 1);
    await emit(3); // before
    await waitFor(page, (l) => l.events.length === 3, '3 events before the kill');

    const killed: string[] = [];
    for (let round = 1; round <= 2; round++) {
      const before = (await readLog(page)).states.length;
      killed.push(conn!.connectionId);
      // During: events are put one after another for the whole kill, reconnect, auth and resume,
      // so some reach the log while the client is away and some while it resumes.
      let pumping = true;
      const pump = (async () => {
        while (pumping) await emit(1);
      })();
      try {
        await new Promise((r) => setTimeout(r, 30));
        await backend.kill(conn!.connectionId);
        await waitFor(
          page,
          (l) => {
            const since = stateNames(l).slice(before);
            return since.includes('reconnecting') && since.at(-1) === 'connected';
          },
          `reconnect after kill ${round}`,
        );
        [conn] = await backend.waitForConnections(
          tenant,
          (c) => c.length === 1 && !killed.includes(c[0]!.connectionId),
          5_000,
        );
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        pumping = false;
        await pump;
      }
      await emit(2); // after
    }

    await waitFor(page, (l) => l.events.length >= emitted.length, `all ${emitted.length} events`, 10_000);
    // One more live event, and a moment more: a late duplicate would show up by then.
    await emit(1);
    await waitFor(page, (l) => l.events.length >= emitted.length, 'the last event');
    await new Promise((r) => setTimeout(r, 300));

    const log = await readLog(page);
    // By emission order first (readable when it fails), then by id.
    expect(log.events.map((e) => e.data.seq)).toEqual(emitted.map((_, i) => i));
    expect(log.events.map((e) => e.eventId)).toEqual(emitted);
    expect(log.gaps).toEqual([]);
    expect(log.errors).toEqual([]);
    // Each kill is reported as a socket close (the management API closes with 1000).
    const lost = log.states.filter((s) => s.state === 'reconnecting');
    expect(lost.length).toBeGreaterThanOrEqual(2);
    expect(lost[0]!.info).toMatchObject({ reason: 'socket_closed', closeCode: 1000 });
    expect(await page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.connectionId)).toBe(
      conn!.connectionId,
    );
    expect(stateNames(log)).not.toContain('closed');
    // A fresh token for every auth: the first connect and each reconnect.
    expect(log.tokenCalls).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('React 19 bindings: <RealtimeProvider>, useConnectionState and useRealtimeEvent show live state and events', async () => {
    const tenant = backend.freshTenant('react');
    const page = await clientPage('react', tenant, 'u1', reactPage());
    const state = page.locator('#state');
    await page.locator('#state', { hasText: /^connected$/ }).waitFor();
    expect(await page.locator('#same-client').textContent()).toBe('true');

    // A live event reaches the useRealtimeEvent component and is rendered.
    const g1 = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-1' })}`;
    await page.locator(`#goals li[data-event-id="${g1}"]`, { hasText: 'goal.created g-1' }).waitFor();
    // Patterns: 'action.*' sees action events; the goal feed does not.
    await backend.emit(tenant, 'action.created', { actionId: 'a-1' });
    await page.locator('#actions', { hasText: /^1$/ }).waitFor();
    await backend.emit(tenant, 'goal.updated', { goalId: 'g-1' });
    await waitFor(page, (l) => l.events.length === 3, 'three events in the client');
    expect((await readLog(page)).extra.goals).toEqual([g1]);

    // A server-side kill: the indicator goes through reconnecting and back to connected.
    const [conn] = await backend.waitForConnections(tenant, (c) => c.length === 1);
    await backend.kill(conn!.connectionId);
    await waitFor(
      page,
      (l) => (l.extra.stateValues ?? []).includes('reconnecting') && lastState(l) === 'connected',
      'indicator through reconnecting',
    );
    await page.locator('#state', { hasText: /^connected$/ }).waitFor();

    // Unmounting the component unsubscribes its handler; remounting subscribes again.
    await page.locator('#toggle-goals').click();
    await page.locator('#goals').waitFor({ state: 'detached' });
    const g2 = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-2' })}`;
    await waitFor(page, (l) => l.events.some((e) => e.eventId === g2), 'g-2 in the client');
    await page.locator('#toggle-goals').click();
    const g3 = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-3' })}`;
    await page.locator(`#goals li[data-event-id="${g3}"]`).waitFor();

    const log = await readLog(page);
    expect(log.extra.goals).toEqual([g1, g3]);
    expect(await page.locator('#goals li').count()).toBe(1);
    expect(await state.textContent()).toBe('connected');
    expect(log.errors).toEqual([]);
    expect(session.problemsOf('react')).toEqual([]);
  });
  it('React: <RealtimeProvider options> in StrictMode holds one connection, delivers once, and closes it on unmount', async () => {
    const tenant = backend.freshTenant('react-options');
    const page = await clientPage('react-options', tenant, 'u1', reactPage(), { provider: 'options', strict: '1' });
    await page.locator('#state', { hasText: /^connected$/ }).waitFor();
    expect(await page.locator('#same-client').textContent()).toBe('true');

    // StrictMode mounts, unmounts and mounts again: still one authenticated connection.
    await backend.waitForConnections(tenant, (c) => c.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await backend.connections(tenant)).toHaveLength(1);

    const g1 = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-1' })}`;
    await page.locator(`#goals li[data-event-id="${g1}"]`).waitFor();
    await new Promise((r) => setTimeout(r, 100));
    expect((await readLog(page)).extra.goals).toEqual([g1]);

    // Unmounting the tree closes the provider's client: final, and the server sees it go.
    await page.locator('#unmount').click();
    await backend.waitForConnections(tenant, (c) => c.length === 0);
    expect(await page.evaluate(() => (globalThis as unknown as ClientGlobal).__rtClient.state)).toBe('closed');
    const before = (await readLog(page)).events.length;
    await backend.emit(tenant, 'goal.created', { goalId: 'g-2' });
    await new Promise((r) => setTimeout(r, 300));
    const log = await readLog(page);
    expect(log.events).toHaveLength(before);
    expect(lastState(log)).toBe('closed');
    expect(log.errors).toEqual([]);
    expect(session.problemsOf('react-options')).toEqual([]);
  });
});
