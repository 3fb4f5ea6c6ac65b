/**
 * Cold start of every Lambda bundle: each handler is built with the stack's own esbuild options
 * (`BUNDLE_OPTIONS` from lib/constructs/node-function.ts), then imported by fresh `node`
 * processes with the functions' own environment (`SHARED_ENVIRONMENT`: whatever `NODE_OPTIONS`
 * the stack sets, the children get, and nothing else). The figure is module init: the time the
 * `import()` of the bundle takes, measured inside the child. A bare `node -e ''` start is timed
 * in the same rounds, interleaved, as the machine's noise baseline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { Handler, type HandlerName } from '../../lambdas/contract/index.js';
import { BUNDLE_OPTIONS, handlerEntry, SHARED_ENVIRONMENT } from '../../lib/constructs/node-function.js';
import { percentile } from './stats.js';

export interface BuiltBundle {
  readonly handler: HandlerName;
  /** The bundle file (`index.mjs`), as deployed. */
  readonly file: string;
  readonly bytes: number;
}

/** Every handler the stack deploys. */
export const HANDLER_NAMES = Object.values(Handler) as HandlerName[];

/** Builds each handler into its own folder under `outDir` with the stack's bundling options. */
export async function buildBundles(
  outDir: string,
  handlers: readonly HandlerName[] = HANDLER_NAMES,
  options: BuildOptions = BUNDLE_OPTIONS,
): Promise<BuiltBundle[]> {
  return Promise.all(
    handlers.map(async (handler) => {
      const file = join(outDir, handler, 'index.mjs');
      await build({ ...options, entryPoints: [handlerEntry(handler)], outfile: file, logLevel: 'error' });
      return { handler, file, bytes: statSync(file).size };
    }),
  );
}

/**
 * What a function's module scope may read at import: the shared environment and dummy values
 * for the rest (nothing is called; clients are only constructed).
 */
const IMPORT_ENV: Record<string, string> = {
  ...SHARED_ENVIRONMENT,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDCOLDSTART',
  AWS_SECRET_ACCESS_KEY: 'cold-start',
  AWS_SESSION_TOKEN: 'cold-start',
  AWS_LAMBDA_FUNCTION_NAME: 'cold-start',
};

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { PATH, HOME } = process.env;
  return { ...(PATH ? { PATH } : {}), ...(HOME ? { HOME } : {}), ...IMPORT_ENV, ...extra };
}

/** One fresh process importing `file`; returns the import's duration in ms, timed in the child. */
export function importOnce(file: string, extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): number {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t))`;
  const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
    env: childEnv(extraEnv),
    encoding: 'utf8',
  });
  return Number(out);
}

/** Wall time of a bare `node -e ''`: spawn to exit, in ms. */
export function bareNodeStart(): number {
  const t = performance.now();
  execFileSync(process.execPath, ['-e', ''], { env: childEnv({}) });
  return performance.now() - t;
}

export interface ColdStartRow {
  readonly handler: HandlerName;
  readonly bytes: number;
  /** Median import time over the runs, ms. */
  readonly initMs: number;
  readonly runs: number[];
}

export interface ColdStartReport {
  readonly rows: ColdStartRow[];
  /** Median of the bare `node -e ''` starts timed in the same rounds. */
  readonly baselineMs: number;
}

/** Builds every bundle and measures it: `runs` rounds, each importing every bundle once. */
export async function measureColdStart(runs = 9, options: BuildOptions = BUNDLE_OPTIONS): Promise<ColdStartReport> {
  const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  try {
    const bundles = await buildBundles(dir, HANDLER_NAMES, options);
    const times = new Map<HandlerName, number[]>(bundles.map((b) => [b.handler, []]));
    const baseline: number[] = [];
    for (let round = 0; round < runs; round++) {
      baseline.push(bareNodeStart());
      for (const b of bundles) times.get(b.handler)?.push(importOnce(b.file));
    }
    const rows = bundles.map((b) => {
      const ms = times.get(b.handler) ?? [];
      return { handler: b.handler, bytes: b.bytes, initMs: median(ms), runs: ms };
    });
    return { rows, baselineMs: median(baseline) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

/** The table `npm run bench` prints. */
export function formatColdStart(report: ColdStartReport, budgetMs = 50): string {
  const header = ['bundle', 'size (KB)', 'module init (ms, median)', '÷ bare node start', `≤ ${budgetMs} ms`];
  const rows = report.rows.map((r) => [
    r.handler,
    (r.bytes / 1024).toFixed(0),
    r.initMs.toFixed(1),
    (r.initMs / report.baselineMs).toFixed(2),
    r.initMs <= budgetMs ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    `bare \`node -e ''\` start (spawn to exit), same rounds: ${report.baselineMs.toFixed(1)} ms`,
  ].join('\n');
}
