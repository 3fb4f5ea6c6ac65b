/**
 * A real headless Chromium for the browser tests, driven by playwright-core.
 *
 * Where the browser comes from, in order:
 *   1. `@sparticuz/chromium` (a root devDependency): a Chromium inside an npm package, so a plain
 *      `npm ci && npm test` runs the browser tests. It is unpacked once into a versioned folder of
 *      the temp dir (atomically: parallel test files never see a half-written binary).
 *   2. `/usr/bin/chromium` (Debian's `chromium`, which `.ci/run` installs when it is missing).
 * `CHROMIUM_PATH=/path/to/chromium` puts that binary first.
 *
 * If neither launches, `resolveBrowser()` fails loudly when `REQUIRE_BROWSER=1` and otherwise
 * prints one line saying how to enable the browser tests; the test file then skips them with
 * `describe.skipIf(!browser)`.
 *
 * Every launch carries a unique marker switch, so `BrowserSession.close()` can check that no
 * process of this browser outlives the test, and kill exactly those that do.
 */
import { randomUUID } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

export type BrowserSource = 'sparticuz' | 'system';

export interface BrowserCandidate {
  source: BrowserSource;
  executablePath: string;
  /** Extra switches, on top of playwright's own. */
  args: string[];
  /** Chromium's version, from the probe launch. */
  version: string;
}

/** Bounds for everything browser-related: nothing here may hang a test run. */
export const BROWSER_TIMEOUTS = {
  launchMs: 15_000,
  closeMs: 5_000,
  /** Default for page actions and waits (playwright's own default is 30 s). */
  actionMs: 10_000,
} as const;

/**
 * Switches for both Chromiums: headless, no sandbox (containers run as root), and no background
 * networking (without these Chromium keeps calling Google services on the closed network).
 */
const COMMON_ARGS = [
  // (playwright adds --headless itself: `headless: true` below)
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

/**
 * `@sparticuz/chromium`'s own switches, minus two:
 * - `--disable-web-security`: the tests must see the browser's real same-origin and CORS rules;
 * - `--single-process`: with it, closing a browser context kills the browser ("Target page,
 *   context or browser has been closed"), and the multi-tab tests need several contexts. It is
 *   only needed on AWS Lambda (`prctl(PR_SET_NO_NEW_PRIVS)`), not here.
 * Also minus its `--headless='shell'` (quoted for a shell, not for execve): COMMON_ARGS has
 * `--headless`, which is the headless shell in this build anyway.
 */
const DROPPED_SPARTICUZ_ARGS = new Set(['--disable-web-security', '--single-process', "--headless='shell'"]);

const MARKER_SWITCH = '--tenant-realtime-browser-test';

const require_ = createRequire(import.meta.url);

/** Unpacks @sparticuz/chromium (once per version) and returns the binary's path. */
async function sparticuzExecutable(): Promise<{ path: string; args: string[] }> {
  // The package's `exports` hide package.json: find it next to the entry point's folder.
  const entry = require_.resolve('@sparticuz/chromium');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const { default: Chromium } = await import('@sparticuz/chromium');
  const args = Chromium.args.filter((a) => !DROPPED_SPARTICUZ_ARGS.has(a));
  const dir = join(tmpdir(), `tenant-realtime-chromium-${version}`);
  const binary = join(dir, 'chromium');
  if (existsSync(binary)) return { path: binary, args };

  // The package unpacks into os.tmpdir(), checking only that the target exists. Point it at a
  // private folder, then rename that folder into place: readers see all of it or nothing.
  const staging = `${dir}.partial-${process.pid}-${randomUUID().slice(0, 8)}`;
  mkdirSync(staging, { recursive: true });
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    await Chromium.executablePath();
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another process won the race: use its copy.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(binary)) throw err;
  }
  return { path: binary, args };
}

function systemExecutable(): string | undefined {
  for (const path of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable: try the next one
    }
  }
  return undefined;
}

function markerArg(): string {
  return `${MARKER_SWITCH}=${process.pid}-${randomUUID()}`;
}

async function launchWith(executablePath: string, args: string[]): Promise<{ browser: Browser; marker: string }> {
  const marker = markerArg();
  const browser = await chromium.launch({
    executablePath,
    args: [...args, marker],
    // playwright adds --headless itself; with `headless: true` it also adds its own switches.
    headless: true,
    timeout: BROWSER_TIMEOUTS.launchMs,
    // Chromium's stdio is not needed; playwright talks to it over a pipe, not a port.
    handleSIGINT: true,
    handleSIGTERM: true,
  });
  return { browser, marker };
}

/** Finds a Chromium that really launches (a probe launch, closed at once), or says why not. */
export async function findBrowser(): Promise<{ candidate?: BrowserCandidate; problems: string[] }> {
  const problems: string[] = [];
  const system = {
    source: 'system' as const,
    get: async () => {
      const path = systemExecutable();
      if (!path) throw new Error('no /usr/bin/chromium (and CHROMIUM_PATH is not set)');
      return { path, args: [] };
    },
  };
  const sparticuz = { source: 'sparticuz' as const, get: sparticuzExecutable };
  // An explicit CHROMIUM_PATH is tried first; otherwise the packaged Chromium is preferred.
  const tries = process.env.CHROMIUM_PATH ? [system, sparticuz] : [sparticuz, system];
  for (const { source, get } of tries) {
    try {
      const { path, args: ownArgs } = await get();
      const args = [...ownArgs, ...COMMON_ARGS];
      const { browser, marker } = await launchWith(path, args);
      const version = browser.version();
      await closeBrowser(browser, marker);
      return { candidate: { source, executablePath: path, args, version }, problems };
    } catch (err) {
      problems.push(`${source}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  return { problems };
}

export const ENABLE_HINT =
  'browser tests skipped: no Chromium launched (npm ci installs @sparticuz/chromium; or apt-get install -y chromium); set REQUIRE_BROWSER=1 to make this a failure';

let resolved: Promise<BrowserCandidate | undefined> | undefined;

/**
 * The browser to test with, or undefined (after printing one line) when there is none.
 * Throws when REQUIRE_BROWSER=1 and no browser launches. Cached per worker process.
 */
export function resolveBrowser(): Promise<BrowserCandidate | undefined> {
  resolved ??= (async () => {
    const { candidate, problems } = await findBrowser();
    if (candidate) return candidate;
    if (process.env.REQUIRE_BROWSER === '1') {
      throw new Error(`REQUIRE_BROWSER=1 but no Chromium launched:\n  ${problems.join('\n  ')}`);
    }
    printOnce(`${ENABLE_HINT} (${problems.join('; ')})`);
    return undefined;
  })();
  return resolved;
}

/** Prints a line once per test run, even when several browser test files run in several workers. */
function printOnce(line: string): void {
  // Workers are children of the one vitest process: its pid names this run.
  const prefix = 'tenant-realtime-browser-skip-';
  const flag = join(tmpdir(), `${prefix}${process.ppid}`);
  try {
    closeSync(openSync(flag, 'wx'));
  } catch {
    return;
  }
  // Flags of earlier runs (a day old) go away.
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    try {
      if (Date.now() - statSync(join(tmpdir(), name)).mtimeMs > 86_400_000) rmSync(join(tmpdir(), name));
    } catch {
      // another worker removed it
    }
  }
  process.stderr.write(`${line}\n`);
}

interface Proc {
  pid: number;
  cmdline: string;
}

function readProcs(): Array<Proc & { ppid: number }> {
  if (!existsSync('/proc')) return [];
  const procs: Array<Proc & { ppid: number }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      // The field after the parenthesised command name: state, then ppid.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      procs.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // gone already
    }
  }
  return procs;
}

/** The browser process of this launch (found by its marker switch) and all its descendants. */
function processTree(marker: string): Proc[] {
  const procs = readProcs();
  const tree = procs.filter((p) => p.cmdline.includes(marker));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!tree.some((t) => t.pid === p.pid) && tree.some((t) => t.pid === p.ppid)) {
        tree.push(p);
        grew = true;
      }
    }
  }
  return tree.map(({ pid, cmdline }) => ({ pid, cmdline }));
}

/** Those of `procs` still running (same pid and same command line: not a reused pid). */
function stillRunning(procs: Proc[]): Proc[] {
  return procs.filter((p) => {
    try {
      return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8') === p.cmdline;
    } catch {
      return false;
    }
  });
}

async function closeBrowser(browser: Browser, marker: string): Promise<Proc[]> {
  const tree = processTree(marker);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    browser.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, BROWSER_TIMEOUTS.closeMs);
    }),
  ]);
  clearTimeout(timer);
  // Whatever is left of this launch (a hung close, an orphaned renderer): kill exactly those.
  const deadline = Date.now() + 2_000;
  for (let left = stillRunning(tree); left.length > 0; left = stillRunning(tree)) {
    if (Date.now() > deadline) {
      for (const { pid } of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, 100));
      return stillRunning(tree);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return [];
}

export interface PageProblem {
  page: string;
  kind: 'pageerror' | 'console.error' | 'crash' | 'requestfailed';
  text: string;
}

/**
 * One launched browser for a test file: new isolated contexts and pages, every page's uncaught
 * errors and console errors collected (so a test can assert a clean page, and a failure shows
 * what the page said), and a close that leaves no process behind.
 */
export class BrowserSession {
  readonly problems: PageProblem[] = [];
  /** Every console line of every page, for failure messages. */
  readonly consoleLines: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    readonly browser: Browser,
    readonly candidate: BrowserCandidate,
    private readonly marker: string,
  ) {}

  static async launch(candidate: BrowserCandidate): Promise<BrowserSession> {
    const { browser, marker } = await launchWith(candidate.executablePath, candidate.args);
    return new BrowserSession(browser, candidate, marker);
  }

  /** A fresh context (its own storage, like another browser profile), e.g. with a `viewport`. */
  async newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
    const context = await this.browser.newContext({ serviceWorkers: 'block', ...options });
    context.setDefaultTimeout(BROWSER_TIMEOUTS.actionMs);
    context.setDefaultNavigationTimeout(BROWSER_TIMEOUTS.actionMs);
    this.contexts.push(context);
    return context;
  }

  /** A new page (in `context`, or in a fresh context) whose problems are recorded under `name`. */
  async newPage(name: string, context?: BrowserContext): Promise<Page> {
    const page = await (context ?? (await this.newContext())).newPage();
    page.on('pageerror', (err) => this.problems.push({ page: name, kind: 'pageerror', text: String(err) }));
    page.on('crash', () => this.problems.push({ page: name, kind: 'crash', text: 'page crashed' }));
    page.on('console', (msg) => {
      this.consoleLines.push(`[${name}] ${msg.type()}: ${msg.text()}`);
      if (msg.type() === 'error') this.problems.push({ page: name, kind: 'console.error', text: msg.text() });
    });
    page.on('requestfailed', (req) =>
      this.problems.push({ page: name, kind: 'requestfailed', text: `${req.url()}: ${req.failure()?.errorText}` }),
    );
    return page;
  }

  /** Problems of one page (or all), minus those matching `allow`. */
  problemsOf(name?: string, allow: RegExp[] = []): PageProblem[] {
    return this.problems.filter((p) => (name === undefined || p.page === name) && !allow.some((re) => re.test(p.text)));
  }

  /** Pids of this session's processes still running once the close is done (normally none). */
  leftover: number[] = [];

  /** Closes every context and the browser; kills what outlives that. Idempotent. */
  async close(): Promise<void> {
    for (const context of this.contexts.splice(0)) await context.close().catch(() => undefined);
    this.leftover = (await closeBrowser(this.browser, this.marker)).map((p) => p.pid);
  }

  /** This session's processes (the browser and its children), by pid: to check a close. */
  processes(): number[] {
    return processTree(this.marker).map((p) => p.pid);
  }
}
