/**
 * Cold start of every Lambda function: each handler's code package is built exactly as the stack
 * builds it (`buildFunctionAsset`: bundle, loader, V8 code cache), then its `index.mjs` is
 * imported by fresh `node` processes started with the flags Lambda's bootstrap uses for that
 * function's memory (`lambdaNodeFlags`) and the functions' own environment (`SHARED_ENVIRONMENT`).
 *
 * The figure is module init as Lambda runs it: in each process a stand-in for Lambda's Node.js
 * runtime is imported first (an ES module that loads the builtins the runtime loads before it
 * imports a handler, `LAMBDA_RUNTIME_BUILTINS`), then the `import()` of the package is timed
 * inside the child. Each round also imports, interleaved: the package in a process with nothing
 * loaded before it, the package without its cache, the package under a plain `node`, the
 * package's builtins alone (the floor), and times a bare `node -e ''` start (the noise baseline).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HandlerName } from '../../lambdas/contract/index.js';
import {
  BundleFile,
  buildFunctionAsset,
  FUNCTION_MEMORY_MB,
  type FunctionAsset,
  HANDLER_NAMES,
  lambdaNodeFlags,
  moduleScopeEnv,
} from '../../lib/constructs/function-bundle.js';
import { percentile } from './stats.js';

export { HANDLER_NAMES };

/** Builds each handler's code package into its own folder under `outDir`, as the stack does. */
export function buildPackages(outDir: string, handlers: readonly HandlerName[] = HANDLER_NAMES): FunctionAsset[] {
  return handlers.map((handler) =>
    buildFunctionAsset(handler, join(outDir, handler), { memoryMb: FUNCTION_MEMORY_MB[handler] }),
  );
}

/**
 * The Node builtins Lambda's Node.js runtime has loaded when it imports a function's handler. The
 * runtime is the runtime interface client (github.com/aws/aws-lambda-nodejs-runtime-interface-client,
 * `src/`): `RAPIDClient.js` requires `http`, `ResponseStream.js` `net`, `UserFunction.js` `fs`,
 * `module` and `path`, `LogPatch.js` and `Errors.js` `util`, `InvokeContext.js` `assert`; its
 * entry (`index.mjs`) is an ES module, so Node's ES module loader is up as well. The handler's
 * `import()` (`UserFunction.load`) comes after all of it, so none of it is the handler's init.
 */
export const LAMBDA_RUNTIME_BUILTINS = [
  'node:assert',
  'node:fs',
  'node:http',
  'node:module',
  'node:net',
  'node:path',
  'node:util',
] as const;

/** The stand-in for Lambda's runtime, in `dir`: an ES module importing `LAMBDA_RUNTIME_BUILTINS`. */
export function writeRuntimeStandIn(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lambda-runtime.mjs');
  writeFileSync(file, LAMBDA_RUNTIME_BUILTINS.map((n) => `import ${JSON.stringify(n)};`).join('\n'));
  return file;
}

/** The loader's own imports (lambdas/entry/code-cache-loader.ts). */
const LOADER_BUILTINS = ['node:fs', 'node:module', 'node:path', 'node:url', 'node:vm'];

/**
 * A module that imports only the Node builtins a package loads (the bundle's `require("node:…")`
 * calls and the loader's imports), in `dir`: the floor under that package's module init.
 */
function builtinsOnly(pkg: FunctionAsset, dir: string): string {
  const bundle = readFileSync(join(pkg.dir, BundleFile.bundle), 'utf8');
  const names = new Set([
    ...LOADER_BUILTINS,
    ...[...bundle.matchAll(/require\("(node:[a-z_/]+)"\)/g)].map((m) => m[1]),
  ]);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'builtins.mjs');
  writeFileSync(file, [...names].map((n) => `import ${JSON.stringify(n)};`).join('\n'));
  return file;
}

/** A copy of a package without its code cache, in `dir`. */
function withoutCache(pkg: FunctionAsset, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const file of [BundleFile.entry, BundleFile.bundle]) copyFileSync(join(pkg.dir, file), join(dir, file));
  return join(dir, BundleFile.entry);
}

/**
 * One fresh process importing `file` with `nodeArgs`, after importing `after` when given (the
 * runtime stand-in); returns the import's duration in ms (timed in the child), what became of a
 * package's code cache, and the type of the `handler` export.
 */
export function importOnce(
  file: string,
  nodeArgs: readonly string[] = [],
  { after, env: extraEnv = {} }: { after?: string; env?: Record<string, string> } = {},
): { ms: number; codeCache: string | undefined; handler: string } {
  const first = after ? `await import(${JSON.stringify(pathToFileURL(after).href)});` : '';
  const script = `${first}const t=performance.now();const m=await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(JSON.stringify([performance.now()-t,m.codeCache,typeof m.handler]))`;
  const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
    env: moduleScopeEnv(extraEnv),
    encoding: 'utf8',
    // The loader's one warning line when V8 refuses the cache (the plain-node runs) is expected here.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [ms, codeCache, handler] = JSON.parse(out) as [number, string | undefined, string];
  return { ms, codeCache, handler };
}

/** Wall time of a bare `node -e ''` (with `nodeArgs`): spawn to exit, in ms. */
export function bareNodeStart(nodeArgs: readonly string[] = []): number {
  const t = performance.now();
  execFileSync(process.execPath, [...nodeArgs, '-e', ''], { env: moduleScopeEnv() });
  return performance.now() - t;
}

export interface ColdStartRow {
  readonly handler: HandlerName;
  readonly memoryMb: number;
  readonly bundleBytes: number;
  readonly codeCacheBytes: number;
  /** Median import time with the code cache, after the runtime stand-in (as on Lambda), ms. */
  readonly initMs: number;
  /** Median import time with the code cache in a process with nothing loaded before it, ms. */
  readonly freshMs: number;
  /** Median import time of the same package without its cache, ms. */
  readonly noCacheMs: number;
  /** Median import time under a plain `node` (no flags: the cache does not apply), ms. */
  readonly plainNodeMs: number;
  /** Median import time of the package's Node builtins alone, after the runtime stand-in, ms. */
  readonly builtinsMs: number;
  readonly runs: number[];
  /** Every run's cache state: `accepted` unless V8 refused it. */
  readonly cacheStates: string[];
}

export interface ColdStartReport {
  readonly rows: ColdStartRow[];
  /** Median of the bare `node -e ''` starts with Lambda's flags (256 MB) timed in the same rounds. */
  readonly baselineMs: number;
  /** The same without flags. */
  readonly plainBaselineMs: number;
}

/**
 * Builds every package and measures it: `runs` rounds, each importing every package, under
 * Lambda's flags, with its cache after the runtime stand-in (the figure), with its cache in a
 * fresh process, without its cache, its builtins alone; and under a plain `node`.
 */
export async function measureColdStart(runs = 9): Promise<ColdStartReport> {
  const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  try {
    const packages = buildPackages(dir);
    const runtime = writeRuntimeStandIn(dir);
    const bare = packages.map((p) => withoutCache(p, join(dir, 'no-cache', p.handler)));
    const floors = packages.map((p) => builtinsOnly(p, join(dir, 'builtins', p.handler)));
    const times = packages.map(() => ({
      cached: [] as number[],
      fresh: [] as number[],
      states: [] as string[],
      uncached: [] as number[],
      plain: [] as number[],
      builtins: [] as number[],
    }));
    const baseline: number[] = [];
    const plainBaseline: number[] = [];
    for (let round = 0; round < runs; round++) {
      baseline.push(bareNodeStart(lambdaNodeFlags(FUNCTION_MEMORY_MB.default)));
      plainBaseline.push(bareNodeStart());
      packages.forEach((p, i) => {
        const flags = lambdaNodeFlags(FUNCTION_MEMORY_MB[p.handler]);
        const t = times[i];
        const file = bare[i];
        const floor = floors[i];
        if (!t || !file || !floor) return;
        const hit = importOnce(p.entry, flags, { after: runtime });
        t.cached.push(hit.ms);
        t.states.push(hit.codeCache ?? 'none');
        t.fresh.push(importOnce(p.entry, flags).ms);
        t.uncached.push(importOnce(file, flags, { after: runtime }).ms);
        t.plain.push(importOnce(p.entry).ms);
        t.builtins.push(importOnce(floor, flags, { after: runtime }).ms);
      });
    }
    const rows = packages.map((p, i) => {
      const t = times[i] ?? { cached: [], fresh: [], states: [], uncached: [], plain: [], builtins: [] };
      return {
        handler: p.handler,
        memoryMb: FUNCTION_MEMORY_MB[p.handler],
        bundleBytes: p.bundleBytes,
        codeCacheBytes: p.codeCacheBytes,
        initMs: median(t.cached),
        freshMs: median(t.fresh),
        noCacheMs: median(t.uncached),
        plainNodeMs: median(t.plain),
        builtinsMs: median(t.builtins),
        runs: t.cached,
        cacheStates: t.states,
      };
    });
    return { rows, baselineMs: median(baseline), plainBaselineMs: median(plainBaseline) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

/** The table `npm run bench` prints. */
export function formatColdStart(report: ColdStartReport, budgetMs = 50): string {
  const header = [
    'function',
    'MB',
    'bundle (KB)',
    'code cache (KB)',
    'module init (ms, median)',
    '÷ bare node start',
    `≤ ${budgetMs} ms`,
    'its Node builtins alone',
    'without the cache',
    'fresh process, nothing loaded before',
    'plain node, no flags',
  ];
  const rows = report.rows.map((r) => {
    const refused = r.cacheStates.filter((s) => s !== 'accepted').length;
    return [
      r.handler,
      String(r.memoryMb),
      (r.bundleBytes / 1024).toFixed(0),
      (r.codeCacheBytes / 1024).toFixed(0),
      `${r.initMs.toFixed(1)}${refused ? ` (cache not used in ${refused} runs)` : ''}`,
      (r.initMs / report.baselineMs).toFixed(2),
      r.initMs <= budgetMs ? 'yes' : 'NO',
      r.builtinsMs.toFixed(1),
      r.noCacheMs.toFixed(1),
      r.freshMs.toFixed(1),
      r.plainNodeMs.toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    `module init: the import of index.mjs under Lambda's node flags for the function's memory (lambdaNodeFlags), with its code cache, after a stand-in for Lambda's Node.js runtime (an ES module loading ${LAMBDA_RUNTIME_BUILTINS.join(', ')}), as Lambda imports a handler`,
    `bare \`node -e ''\` start (spawn to exit), same rounds: ${report.baselineMs.toFixed(1)} ms with Lambda's flags, ${report.plainBaselineMs.toFixed(1)} ms without`,
  ].join('\n');
}
