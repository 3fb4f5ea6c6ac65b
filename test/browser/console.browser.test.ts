/**
 * The debug console in a real headless Chromium against the real local runtime:
 * - the built file (`client/dist/console.html`, served from another origin as a deployed stack's
 *   user would open it) with `?url=…&http=…&token=…`: it connects at once and shows `connected`,
 *   takes the token out of the address bar, lists an emitted event with its type and eventId,
 *   and shows presence; its local-only forms stay hidden;
 * - the page `npm start` serves at `/console`: the dev token form (driven by the keyboard) and
 *   the emit form work, subscriptions narrow the list, filter / pause / clear / count behave, a
 *   resume from an unknown eventId shows the gap notice; the subscription editor's sources and
 *   minimum priority narrow it too (and survive a forced reconnect), and each row shows the
 *   event's source and priority;
 * - screenshots at 1280×800 and 390×844 with no horizontal scrolling and no request to another
 *   origin. `SAVE_SCREENSHOTS=1` (or a missing docs/console.png) writes the desktop one to
 *   docs/console.png, the README's picture.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_KEY } from '../../lambdas/contract/plain.js';
import { type Backend, startBackend } from './support/backend.js';
import { BrowserSession, resolveBrowser } from './support/browser.js';
import { assertClientBuilt, ROOT, type StaticServer, startStaticServer } from './support/server.js';

const browser = await resolveBrowser();

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe.skipIf(!browser)('debug console in headless Chromium', () => {
  let backend: Backend;
  let server: StaticServer;
  let session: BrowserSession;

  beforeAll(async () => {
    assertClientBuilt(['console.html']);
    [backend, server] = await Promise.all([startBackend(), startStaticServer()]);
    session = await BrowserSession.launch(browser!);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await server?.close();
    await backend?.stop();
    expect(session?.leftover ?? [], 'Chromium processes left after close').toEqual([]);
  }, 30_000);

  /** A page of the console, every request it makes recorded. */
  async function consolePage(name: string, context: BrowserContext, url: string) {
    const page = await session.newPage(name, context);
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(url, { waitUntil: 'load' });
    return { page, requests };
  }

  const text = async (page: Page, selector: string) => (await page.locator(selector).textContent())?.trim() ?? '';
  const stateIs = (page: Page, state: string) =>
    page.locator('#state', { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: 5_000 });
  const row = (page: Page, eventId: string) => page.locator(`#events li[data-event-id="${eventId}"]`);

  it('the built console.html, opened with ?url&http&token, connects at once and lists an emitted event', async () => {
    const tenant = backend.freshTenant('console-file');
    const token = await backend.token({ tenant, user: 'ana', roles: ['admin'] });
    const context = await session.newContext({ viewport: DESKTOP });
    const { page, requests } = await consolePage(
      'console-file',
      context,
      server.url('/client/console.html', { url: backend.rt.wsUrl, http: backend.rt.httpUrl, token }),
    );
    await stateIs(page, 'connected');
    expect(await page.locator('#state').getAttribute('data-state')).toBe('connected');
    expect(page.url()).not.toContain('token=');
    expect(page.url()).toContain('url=');
    expect(await text(page, '#transport')).toBe('websocket');
    expect(await text(page, '#identity')).toBe(`ana @ ${tenant} [admin]`);
    expect(await text(page, '#expiry')).toMatch(/^in (1:00:00|59:\d\d)$/);
    // Not the local runtime's own page: no dev token or emit form.
    expect(await page.locator('#local-token').isHidden()).toBe(true);
    expect(await page.locator('#local-emit').isHidden()).toBe(true);

    const [conn] = await backend.waitForConnections(tenant, (c) => c.length === 1);
    expect(await text(page, '#connection-id')).toBe(conn!.connectionId);
    const id = `evt_${await backend.emit(tenant, 'goal.created', { goalId: 'g-1' })}`;
    await row(page, id).waitFor();
    expect(await text(page, `#events li[data-event-id="${id}"] .type`)).toBe('goal.created');
    expect(await text(page, `#events li[data-event-id="${id}"] .id`)).toBe(id);
    expect(await text(page, `#events li[data-event-id="${id}"] .latency`)).toMatch(/^-?\d+ ms$/);
    expect(await text(page, '#count')).toBe('1 event');
    expect(await text(page, '#last-event-id')).toBe(id);

    await page.locator('#presence-refresh').click();
    await page.locator('#presence-out', { hasText: /^1 connection at / }).waitFor();
    expect(await text(page, '#presence-users')).toBe('ana (1)');

    // Only its own file and the backend: nothing from any other origin.
    const origins = new Set(requests.map((u) => new URL(u).origin));
    expect([...origins].sort()).toEqual([new URL(backend.rt.httpUrl).origin, server.origin].sort());
    expect(session.problemsOf('console-file')).toEqual([]);
    await context.close();
  });

  it('served by npm start at /console: dev token form (keyboard), emit form, subscriptions, filter, pause, clear, gap', async () => {
    const tenant = backend.freshTenant('console-local');
    const context = await session.newContext({ viewport: DESKTOP });
    const { page, requests } = await consolePage('console-local', context, backend.rt.consoleUrl);
    await page.locator('#local-token').waitFor();
    expect(await page.locator('#url').inputValue()).toBe(backend.rt.wsUrl);
    expect(await page.locator('#http').inputValue()).toBe(backend.rt.httpUrl);
    expect(await text(page, '#state')).toBe('idle');

    // The dev token form, by keyboard only: focus, type, Tab, type, Enter submits.
    await page.locator('#dev-tenant').focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(tenant);
    await page.keyboard.press('Tab');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('bo');
    await page.keyboard.press('Tab');
    await page.keyboard.type('ops');
    await page.keyboard.press('Enter');
    await stateIs(page, 'connected');
    expect(await page.locator('#token').inputValue()).toMatch(/^eyJ/);
    expect(await text(page, '#identity')).toBe(`bo @ ${tenant} [ops]`);
    await backend.waitForConnections(tenant, (c) => c.length === 1 && c[0]!.userId === 'bo');

    // The emit form: the PutEvents result, and the event in the list.
    await page.locator('#emit-data').fill('{"goalId":"g-form"}');
    await page.locator('#emit button[type="submit"]').click();
    await page.locator('#emit-result', { hasText: '"FailedEntryCount": 0' }).waitFor();
    const result = JSON.parse((await text(page, '#emit-result')).replace(/^PutEvents: /, '')) as {
      Entries: Array<{ EventId: string }>;
      entry: { Detail: string };
    };
    expect(JSON.parse(result.entry.Detail)).toEqual({ goalId: 'g-form', tenantId: tenant });
    const formEvent = `evt_${result.Entries[0]!.EventId}`;
    await row(page, formEvent).waitFor();
    // An audience the user is not in: not delivered.
    await page.locator('#emit-users').fill('someone-else');
    await page.locator('#emit button[type="submit"]').click();
    await page.locator('#emit-result', { hasText: 'someone-else' }).waitFor();

    // Subscriptions: the server sends only action.* from now on.
    await page.locator('#sub-input').fill('action.*');
    await page.locator('#sub-input').press('Enter');
    await page.locator('#subs li', { hasText: 'action.*' }).waitFor();
    await backend.emit(tenant, 'goal.updated', { goalId: 'g-form' });
    const action = `evt_${await backend.emit(tenant, 'action.created', { actionId: 'a-1' })}`;
    await row(page, action).waitFor();
    const types = await Promise.all([0, 1].map((n) => page.locator('#events li').nth(n).getAttribute('data-type')));
    expect(types).toEqual(['action.created', 'goal.created']);
    expect(await text(page, '#count')).toBe('2 events');

    // Expand an event's data with the keyboard.
    await page.locator(`#events li[data-event-id="${action}"] summary`).focus();
    await page.keyboard.press('Enter');
    expect(await page.locator(`#events li[data-event-id="${action}"] details`).getAttribute('open')).not.toBeNull();
    expect(await text(page, `#events li[data-event-id="${action}"] pre`)).toContain('"actionId": "a-1"');

    // Filter, pause, clear, count.
    await page.locator('#filter').fill('g-form');
    expect(await text(page, '#count')).toBe('1 of 2 events');
    expect(await page.locator('#events li').count()).toBe(1);
    await page.locator('#filter').fill('');
    await page.locator('#pause').click();
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
    const whilePaused = `evt_${await backend.emit(tenant, 'action.updated', { actionId: 'a-1' })}`;
    await page.locator('#count', { hasText: '1 new while paused' }).waitFor();
    expect(await row(page, whilePaused).count()).toBe(0);
    await page.locator('#pause').click();
    await row(page, whilePaused).waitFor();
    expect(await text(page, '#count')).toBe('3 events');
    await page.locator('#clear').click();
    expect(await text(page, '#count')).toBe('0 events');
    expect(await page.locator('#events li').count()).toBe(0);

    // Resume from an id the server does not know: a visible gap notice.
    expect(await page.locator('#gap').isHidden()).toBe(true);
    await page.locator('#resume-id').fill('evt_00000000-0000-0000-0000-000000000000');
    await page.locator('#resume-form button').click();
    await page.locator('#gap').waitFor();
    expect(await text(page, '#gap-text')).toContain('refetch state');
    await stateIs(page, 'connected');

    expect([...new Set(requests.map((u) => new URL(u).origin))]).toEqual([new URL(backend.rt.httpUrl).origin]);
    expect(session.problemsOf('console-local')).toEqual([]);
    await context.close();
  });

  it('the subscription editor filters by source and minimum priority; the event list shows both', async () => {
    const tenant = backend.freshTenant('console-filter');
    const token = await backend.token({ tenant, user: 'cy' });
    const context = await session.newContext({ viewport: DESKTOP });
    const { page } = await consolePage('console-filter', context, `${backend.rt.consoleUrl}?token=${token}`);
    await stateIs(page, 'connected');
    await page.locator('#local-emit').waitFor();
    const cellOf = (id: string, cls: string) => text(page, `#events li[data-event-id="${id}"] .${cls}`);
    expect(await text(page, '#sources')).toBe('every source');
    expect(await page.locator('#min-priority').inputValue()).toBe('low');

    // The emit form's source and priority: the EventBridge source, and the detail's priority.
    await page.locator('#emit-source').fill('app.billing');
    await page.locator('#emit-priority').selectOption('critical');
    await page.locator('#emit-data').fill('{"goalId":"g-src"}');
    await page.locator('#emit button[type="submit"]').click();
    await page.locator('#emit-result', { hasText: '"FailedEntryCount": 0' }).waitFor();
    const result = JSON.parse((await text(page, '#emit-result')).replace(/^PutEvents: /, '')) as {
      Entries: Array<{ EventId: string }>;
      entry: { Source: string; Detail: string };
    };
    expect(result.entry.Source).toBe('app.billing');
    expect(JSON.parse(result.entry.Detail)).toEqual({ goalId: 'g-src', tenantId: tenant, priority: 'critical' });
    const critical = `evt_${result.Entries[0]!.EventId}`;
    await row(page, critical).waitFor();
    expect([await cellOf(critical, 'source'), await cellOf(critical, 'priority')]).toEqual(['app.billing', 'critical']);
    // No priority: normal.
    const plain = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'g-src' })}`;
    await row(page, plain).waitFor();
    expect([await cellOf(plain, 'source'), await cellOf(plain, 'priority')]).toEqual(['test.browser', 'normal']);
    // The text filter finds sources and priorities too.
    await page.locator('#filter').fill('app.billing');
    expect(await text(page, '#count')).toBe('1 of 2 events');
    await page.locator('#filter').fill('');

    // Min priority: applied as soon as it is chosen.
    await page.locator('#min-priority').selectOption('high');
    const normal = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'n', priority: 'normal' })}`;
    const high = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'h', priority: 'high' })}`;
    await row(page, high).waitFor();
    expect(await row(page, normal).count()).toBe(0);

    // Sources: only app.billing from now on.
    await page.locator('#source-input').fill('app.billing');
    await page.locator('#source-input').press('Enter');
    await page.locator('#sources li', { hasText: 'app.billing' }).waitFor();
    const other = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'o', priority: 'critical' }, 'app.other')}`;
    const billing = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'b', priority: 'critical' }, 'app.billing')}`;
    await row(page, billing).waitFor();
    expect(await row(page, other).count()).toBe(0);

    // A forced reconnect (a new client) starts with the same filter.
    await page.locator('#reconnect').click();
    await stateIs(page, 'connected');
    expect(await page.locator('#min-priority').inputValue()).toBe('high');
    expect(await text(page, '#sources')).toContain('app.billing');
    const low = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'l', priority: 'low' }, 'app.billing')}`;
    const after = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'a', priority: 'critical' }, 'app.billing')}`;
    await row(page, after).waitFor();
    expect(await row(page, low).count()).toBe(0);

    // × on the source chip: every source again.
    await page.locator('#sources li button').click();
    await page.locator('#sources li.all', { hasText: 'every source' }).waitFor();
    const back = `evt_${await backend.emit(tenant, 'goal.updated', { goalId: 'x', priority: 'high' }, 'app.other')}`;
    await row(page, back).waitFor();
    expect(session.problemsOf('console-filter')).toEqual([]);
    await context.close();
  });

  it('readable at 1280×800 and at phone width (390×844): screenshots, no horizontal scrolling', async () => {
    const tenant = backend.freshTenant('acme');
    const token = await backend.token({ tenant, user: 'ana', roles: ['admin'] });
    const context = await session.newContext({ viewport: DESKTOP, colorScheme: 'light' });
    const { page } = await consolePage('console-shots', context, `${backend.rt.consoleUrl}?token=${token}`);
    await stateIs(page, 'connected');
    await page.locator('#sub-input').fill('goal.*, action.*');
    await page.locator('#sub-input').press('Enter');
    await page.locator('#subs li', { hasText: 'action.*' }).waitFor();
    const other = await backend.token({ tenant, user: 'ben' });
    const second = await session.newPage('console-shots-2', context);
    await second.goto(`${backend.rt.consoleUrl}?token=${other}`);
    await stateIs(second, 'connected');
    const ids: string[] = [];
    for (const [type, data, source] of [
      ['goal.created', { goalId: 'g-41', title: 'Ship the console' }, 'app.goals'],
      ['action.created', { actionId: 'a-7', goalId: 'g-41', [AUDIENCE_KEY]: { roles: ['admin'] } }, 'app.actions'],
      ['goal.updated', { goalId: 'g-41', progress: 0.5, priority: 'low' }, 'app.goals'],
      ['action.completed', { actionId: 'a-7', priority: 'high' }, 'app.actions'],
      ['goal.completed', { goalId: 'g-41', priority: 'critical' }, 'app.goals'],
    ] as const)
      ids.push(`evt_${await backend.emit(tenant, type, data, source)}`);
    await row(page, ids.at(-1)!).waitFor();
    await page.locator(`#events li[data-event-id="${ids.at(-1)}"] summary`).click();
    await page.locator('#presence-refresh').click();
    await page.locator('#presence-out', { hasText: /^2 connections/ }).waitFor();
    await page.locator('#emit-data').fill('{"goalId":"g-41","title":"Ship the console"}');
    await page.locator('#emit button[type="submit"]').click();
    await page.locator('#emit-result', { hasText: 'FailedEntryCount' }).waitFor();
    await page.locator('#events li').nth(5).waitFor();

    const dir = join(tmpdir(), 'tenant-realtime-console-screenshots');
    mkdirSync(dir, { recursive: true });
    // The connection panel in view, as a visitor first sees it.
    await page.locator('.side').evaluate((el) => {
      (el as unknown as { scrollTop: number }).scrollTop = 0;
    });
    const desktop = await page.screenshot();
    expect(pngSize(desktop)).toEqual(DESKTOP);
    writeFileSync(join(dir, 'console-desktop.png'), desktop);
    type Win = { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
    const overflow = () =>
      page.evaluate(() => {
        const w = globalThis as unknown as Win;
        return w.document.documentElement.scrollWidth - w.innerWidth;
      });
    expect(await overflow()).toBeLessThanOrEqual(0);

    await page.setViewportSize(PHONE);
    await page.locator('#state').scrollIntoViewIfNeeded();
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await page.locator('#events-panel').isVisible()).toBe(true);
    const phone = await page.screenshot();
    expect(pngSize(phone)).toEqual(PHONE);
    writeFileSync(join(dir, 'console-phone.png'), phone);
    await page.locator('#events-panel').scrollIntoViewIfNeeded();
    writeFileSync(join(dir, 'console-phone-events.png'), await page.screenshot());
    console.log(`console screenshots: ${dir}`);

    const readme = join(ROOT, 'docs', 'console.png');
    if (process.env.SAVE_SCREENSHOTS === '1' || !existsSync(readme)) {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      writeFileSync(readme, desktop);
      console.log(`wrote ${readme}`);
    }
    expect(session.problemsOf('console-shots')).toEqual([]);
    await context.close();
  });
});
