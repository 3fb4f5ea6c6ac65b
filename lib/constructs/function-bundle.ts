/**
 * What a handler becomes in its function's code package, built by one function for the stack, the
 * bench and the tests, so that what is measured is what is deployed:
 *
 * | file | what |
 * |---|---|
 * | `index.mjs` | the module Lambda imports (`handler: 'index.handler'`): lambdas/entry/code-cache-loader.ts |
 * | `handler.cjs` | the handler and everything it imports, one minified CommonJS bundle |
 * | `handler.cjs.map` | its source map, without the sources' text (`npm run decode-stack`) |
 * | `handler.cjs.cache` | V8's code cache of the bundle's module scope, written by running it |
 *
 * The cache is written by a fresh `node` started with the V8 flags Lambda's Node.js bootstrap
 * uses for the function's memory (`lambdaNodeFlags`); V8 accepts it only under the same V8 version
 * and flags (README, "Cold start").
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, buildSync } from 'esbuild';
import { Handler, type HandlerName, METRICS_NAMESPACE, SERVICE_NAME, SETTINGS } from '../../lambdas/contract/index.js';

/** Handler sources: `lambdas/handlers/<HandlerName>.ts`, each exporting `handler`. */
const HANDLERS_DIR = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));
const LOADER_ENTRY = fileURLToPath(new URL('../../lambdas/entry/code-cache-loader.ts', import.meta.url));

/** Every handler the stack deploys. */
export const HANDLER_NAMES = Object.values(Handler) as HandlerName[];

/** The handler setting Lambda resolves to `index.mjs`'s `handler` export. */
export const LAMBDA_HANDLER = 'index.handler';

/** The files of a function's code package. */
export const BundleFile = {
  entry: 'index.mjs',
  bundle: 'handler.cjs',
  sourceMap: 'handler.cjs.map',
  codeCache: 'handler.cjs.cache',
} as const;

/** Memory of every function that does not set its own (`npm run cost` prices them with it). */
export const DEFAULT_MEMORY_MB = 256;
/** The broadcaster's default (option `broadcasterMemoryMb`): fan-out is CPU-bound, and Lambda's CPU share grows with memory. */
export const BROADCASTER_MEMORY_MB = SETTINGS.broadcasterMemoryMb.default;

/** Each function's memory: the heap flags Lambda starts its `node` with, and so its code cache, follow it. */
export const FUNCTION_MEMORY_MB: Readonly<Record<HandlerName, number>> = Object.fromEntries(
  HANDLER_NAMES.map((h) => [h, h === Handler.broadcaster ? BROADCASTER_MEMORY_MB : DEFAULT_MEMORY_MB]),
) as Record<HandlerName, number>;

/**
 * Environment every function gets; a caller's value for the same name wins. No
 * `NODE_OPTIONS=--enable-source-maps`: with it Node reads and parses the bundle's source map on
 * every cold start, a fifth of a bundle's module init (README, "Cold start"). A stack trace in
 * CloudWatch then names `handler.cjs:line:column`; `npm run decode-stack` maps it back to the
 * sources with the `handler.cjs.map` shipped beside the bundle.
 */
export const SHARED_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

/**
 * Module swaps applied to every bundle. Lambda gives a function its credentials in the
 * environment, so the SDK's default provider chain is replaced by the environment provider
 * alone (lambdas/adapters/env-credentials.ts): a quarter of a DynamoDB bundle's bytes.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': fileURLToPath(
    new URL('../../lambdas/adapters/env-credentials.ts', import.meta.url),
  ),
};

/**
 * How every handler is bundled, as esbuild options. CommonJS, because a code cache can be made
 * only for a script (`vm.Script`), not for an ES module; the sources stay ES modules
 * (`mainFields` `module` first, so dependencies' ESM builds are shaken too).
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  // A map for decoding stack traces offline; without the sources' text (a third of the bytes),
  // which the decoder reads from the checkout of the deployed commit.
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  alias: BUNDLE_ALIASES,
} as const satisfies BuildOptions;

/** The source file of a handler. */
export function handlerEntry(handlerName: HandlerName): string {
  return `${HANDLERS_DIR}${handlerName}.ts`;
}

/**
 * The flags Lambda's Node.js bootstrap (`/var/runtime/bootstrap`) starts `node` with for a
 * function of `memoryMb`: a tenth of the memory is new space (two semi-spaces), the rest old
 * space. The heap flags and `--expose-gc` are V8 flags, part of what a code cache must match.
 */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

/**
 * What a function's module scope may read when it runs outside Lambda (to write the cache, or in
 * the bench): the shared environment and dummy values for the rest. Nothing is called at import;
 * clients are only constructed.
 */
export const MODULE_SCOPE_ENV: Readonly<Record<string, string>> = {
  ...SHARED_ENVIRONMENT,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDMODULESCOPE',
  AWS_SECRET_ACCESS_KEY: 'module-scope',
  AWS_SESSION_TOKEN: 'module-scope',
  AWS_LAMBDA_FUNCTION_NAME: 'module-scope',
};

/** A child process's environment: PATH and HOME only, then `MODULE_SCOPE_ENV`, then `extra`. */
export function moduleScopeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PATH, HOME } = process.env;
  return { ...(PATH ? { PATH } : {}), ...(HOME ? { HOME } : {}), ...MODULE_SCOPE_ENV, ...extra };
}

export interface FunctionAsset {
  readonly handler: HandlerName;
  readonly dir: string;
  /** `index.mjs`: what Lambda (and the bench) imports. */
  readonly entry: string;
  /** Bytes of `handler.cjs`. */
  readonly bundleBytes: number;
  /** Bytes of the code cache; 0 without one. */
  readonly codeCacheBytes: number;
}

export interface BuildFunctionOptions {
  /** The function's memory, which sets the flags the code cache is written under. */
  readonly memoryMb: number;
  /** @default true */
  readonly codeCache?: boolean;
  /** Another source to bundle instead of the handler's (tests). */
  readonly entryPoint?: string;
}

/**
 * Builds `handler`'s code package into `dir` (synchronous: CDK's local bundling is): the bundle,
 * its map, the loader and, by running the loader once, the code cache.
 */
export function buildFunctionAsset(handler: HandlerName, dir: string, options: BuildFunctionOptions): FunctionAsset {
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, BundleFile.bundle);
  const entry = join(dir, BundleFile.entry);
  buildSync({
    ...BUNDLE_OPTIONS,
    entryPoints: [options.entryPoint ?? handlerEntry(handler)],
    outfile: bundle,
    logLevel: 'error',
  });
  buildSync({
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE_OPTIONS.target,
    minify: true,
    entryPoints: [LOADER_ENTRY],
    outfile: entry,
    define: { __CODE_CACHE_V8__: JSON.stringify(process.versions.v8) },
    logLevel: 'error',
  });
  const withCache = options.codeCache ?? true;
  if (withCache) writeCodeCache(entry, options.memoryMb);
  return {
    handler,
    dir,
    entry,
    bundleBytes: statSync(bundle).size,
    codeCacheBytes: withCache ? statSync(join(dir, BundleFile.codeCache)).size : 0,
  };
}

/** Imports the loader in a fresh `node` with Lambda's flags for `memoryMb`, then writes the cache. */
export function writeCodeCache(entry: string, memoryMb: number): void {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(entry).href)}); m.writeCodeCache();`;
  execFileSync(process.execPath, [...lambdaNodeFlags(memoryMb), '--input-type=module', '-e', script], {
    env: moduleScopeEnv(),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
