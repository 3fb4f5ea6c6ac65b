/**
 * The module Lambda imports (`index.mjs`, built from this file): it compiles the handler's bundle
 * (`handler.cjs`, beside it) with the V8 code cache written at build time (`handler.cjs.cache`),
 * runs it, and exports its `handler`.
 *
 * Why: compiling the bundle was the largest part of a cold start (README, "Cold start"). A code
 * cache is V8's compiled bytecode of every function the bundle's module scope ran, so with it a
 * cold start deserializes instead of parsing and compiling. V8 accepts a cache only from the same
 * V8 version, run with the same V8 flags (Lambda's `--expose-gc` and heap sizes, which follow the
 * function's memory), and for the same source text; otherwise it rejects the cache and compiles
 * as if there were none. The loader skips reading the cache when the V8 version differs from the
 * one that wrote it, and logs one warning line when V8 rejects it anyway.
 *
 * The bundle is CommonJS run through `vm.Script` (the only Node API that can create a cache after
 * the module scope has run), in a function wrapper like Node's own, on its own line so that the
 * bundle's line and column numbers stay those of `handler.cjs` (and of its source map).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';

/** The V8 version of the Node that wrote the cache, set by the build (esbuild `define`). */
declare const __CODE_CACHE_V8__: string;

export type CodeCacheState = 'accepted' | 'rejected' | 'absent';

const bundleFile = fileURLToPath(new URL('./handler.cjs', import.meta.url));
const cacheFile = `${bundleFile}.cache`;

function readCache(): Buffer | undefined {
  if (process.versions.v8 !== __CODE_CACHE_V8__) return undefined;
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

const cachedData = readCache();
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {\n${readFileSync(bundleFile, 'utf8')}\n})`,
  {
    filename: bundleFile,
    lineOffset: -1,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  },
);

/** What became of the cache at this cold start. */
export const codeCache: CodeCacheState = !cachedData ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted';

if (codeCache === 'rejected') {
  // One line, in the shape of the handlers' JSON logs; nothing else is known yet to log with.
  console.warn(
    JSON.stringify({
      level: 'WARN',
      message: 'V8 rejected the code cache (different V8 flags): this cold start compiled the bundle',
      v8: process.versions.v8,
      execArgv: process.execArgv,
    }),
  );
}

const bundle: { exports: Record<string, unknown> } = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  bundle.exports,
  createRequire(bundleFile),
  bundle,
  bundleFile,
  dirname(bundleFile),
);

export const handler = bundle.exports.handler;

/**
 * Build time only: writes the cache of everything compiled so far (the bundle's module scope).
 * Run in a fresh process with the function's own V8 flags, right after this module's import.
 */
export function writeCodeCache(): void {
  writeFileSync(cacheFile, script.createCachedData());
}
