/**
 * Test-side view of the pages in test/browser/pages: open one with a token source, read what its
 * client recorded (`globalThis.__rt`, see recorder.js), and wait for a condition on it.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { BrowserSession } from './browser.js';
import type { PageOptions, StaticServer } from './server.js';

export interface RecordedEnvelope {
  type: string;
  data: Record<string, unknown>;
  timestamp: string;
  eventId: string;
  tenantId: string;
  [extra: string]: unknown;
}

export interface PageLog {
  ready: boolean;
  states: Array<{ state: string; info: unknown; at: number }>;
  events: RecordedEnvelope[];
  errors: Array<{ code?: string; message?: string; name?: string; [k: string]: unknown }>;
  gaps: unknown[];
  tokenCalls: number;
  extra: Record<string, unknown[]>;
}

type PageGlobals = { __rt?: PageLog };

export async function readLog(page: Page): Promise<PageLog> {
  const log = await page.evaluate(() => (globalThis as unknown as PageGlobals).__rt ?? null);
  if (!log) throw new Error(`page ${page.url()} has no recorder (__rt)`);
  return log;
}

/** Polls the page's log until `pred` holds; the error shows the last log and the page's console. */
export async function waitForLog(
  page: Page,
  pred: (log: PageLog) => boolean,
  {
    timeoutMs = 5_000,
    label = 'condition',
    session,
  }: { timeoutMs?: number; label?: string; session?: BrowserSession } = {},
): Promise<PageLog> {
  const deadline = Date.now() + timeoutMs;
  let last: PageLog | undefined;
  for (;;) {
    last = await readLog(page);
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      const states = last.states.map((s) => s.state).join(' → ');
      const console_ = session ? `\nconsole:\n  ${session.consoleLines.slice(-30).join('\n  ')}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${label}\nstates: ${states}\nevents: ${last.events.length}` +
          `\nerrors: ${JSON.stringify(last.errors)}${console_}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const stateNames = (log: PageLog) => log.states.map((s) => s.state);
export const lastState = (log: PageLog) => log.states.at(-1)?.state;

export interface OpenPageOptions {
  /** The page name, in problems and console lines. */
  name: string;
  /** `page()` options: which script serves as the page. */
  page: PageOptions;
  query: Record<string, string>;
  /** Called in Node for every `getToken()` of the page's client. */
  getToken: () => Promise<string>;
  /** Shared context (e.g. tabs of one user); default a fresh one. */
  context?: BrowserContext;
}

/** Opens a test page on the static server, with `__rtToken` exposed, and waits for its recorder. */
export async function openPage(session: BrowserSession, server: StaticServer, opts: OpenPageOptions): Promise<Page> {
  const page = await session.newPage(opts.name, opts.context);
  await page.exposeFunction('__rtToken', opts.getToken);
  const url = server.page(opts.name, opts.page, opts.query);
  await page.goto(url, { waitUntil: 'load' });
  try {
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__rt?.ready === true, undefined, {
      timeout: 5_000,
      polling: 25,
    });
  } catch (err) {
    const problems = session.problemsOf(opts.name).map((p) => `${p.kind}: ${p.text}`);
    throw new Error(`page ${opts.name} did not start: ${String(err)}\n  ${problems.join('\n  ')}`);
  }
  return page;
}
