/**
 * Every Lambda code package, built as the stack builds it (`buildFunctionAsset`), stays under a
 * byte budget: bytes are what a cold start reads and compiles (see README, "Cold start"). A budget
 * is the measured size plus about 10 %; raise it only with a reason, in the same commit as the
 * growth. The package's V8 code cache is used by a runtime with the same V8 and flags, and only
 * then; without it the function still works.
 */
import { mkdtempSync, readFileSync, rmSync as removeFile, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, HANDLER_NAMES, importOnce } from '../../bin/tools/cold-start.js';
import type { HandlerName } from '../../lambdas/contract/index.js';
import {
  BundleFile,
  FUNCTION_MEMORY_MB,
  type FunctionAsset,
  lambdaNodeFlags,
} from '../../lib/constructs/function-bundle.js';

const KB = 1024;
/** Bytes of `handler.cjs` per handler. */
const BUDGET: Readonly<Record<HandlerName, number>> = {
  connect: 305 * KB,
  disconnect: 300 * KB,
  default: 75 * KB,
  auth: 350 * KB,
  subscribe: 310 * KB,
  resume: 345 * KB,
  broadcaster: 350 * KB,
  sweeper: 310 * KB,
  http: 355 * KB,
};

describe('Lambda bundle sizes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-size-'));
  let bundles: (FunctionAsset & { file: string; bytes: number })[] = [];
  beforeAll(() => {
    bundles = buildPackages(dir).map((p) => ({ ...p, file: join(p.dir, BundleFile.bundle), bytes: p.bundleBytes }));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds every handler the contract names', () => {
    expect(bundles.map((b) => b.handler).sort()).toEqual([...HANDLER_NAMES].sort());
  });

  it.each(HANDLER_NAMES)('%s stays within its budget', (handler) => {
    const bundle = bundles.find((b) => b.handler === handler);
    expect(bundle?.bytes).toBeLessThanOrEqual(BUDGET[handler]);
  });

  it('ships a source map for decoding stack traces offline, without the sources text', () => {
    for (const b of bundles) {
      const map = JSON.parse(readFileSync(`${b.file}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
      expect(map.sources.length, b.handler).toBeGreaterThan(0);
      expect(map.sourcesContent, b.handler).toBeUndefined();
    }
  });

  it('carries zod only where a schema is used, and then with its English messages', () => {
    for (const b of bundles) {
      const code = readFileSync(b.file, 'utf8');
      // Every zod schema has `_zod` internals; `zod/mini` has no locale of its own.
      if (code.includes('_zod')) expect(code, b.handler).toContain('Invalid input: expected');
    }
    // The sweeper parses nothing: the contract's schema modules are left out (lambdas/contract/package.json).
    const sweeper = bundles.find((b) => b.handler === 'sweeper');
    expect(sweeper && readFileSync(sweeper.file, 'utf8')).not.toContain('_zod');
  });

  it("ships a code cache that V8 uses under the function's own flags", () => {
    for (const b of bundles) {
      expect(b.codeCacheBytes, b.handler).toBeGreaterThan(b.bytes / 2);
      const loaded = importOnce(b.entry, lambdaNodeFlags(FUNCTION_MEMORY_MB[b.handler]));
      expect(loaded, b.handler).toMatchObject({ codeCache: 'accepted', handler: 'function' });
    }
  });

  it('still starts, compiling, when V8 refuses the cache (other flags) or the cache is missing', () => {
    const b = bundles.find((x) => x.handler === 'sweeper');
    if (!b) throw new Error('no sweeper package');
    // Lambda starts node with heap sizes that follow the memory: another size is another V8 flag set.
    const other = importOnce(b.entry, lambdaNodeFlags(FUNCTION_MEMORY_MB[b.handler] * 2));
    expect(other).toMatchObject({ codeCache: 'rejected', handler: 'function' });
    removeFile(join(b.dir, BundleFile.codeCache));
    const absent = importOnce(b.entry, lambdaNodeFlags(FUNCTION_MEMORY_MB[b.handler]));
    expect(absent).toMatchObject({ codeCache: 'absent', handler: 'function' });
  });

  it('leaves the SDK default credential chain out: environment credentials only', () => {
    for (const b of bundles) {
      const code = readFileSync(b.file, 'utf8');
      // Markers of the chain's other providers: container, SSO, web identity, process.
      for (const marker of ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'sso_start_url', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
        expect(code, b.handler).not.toContain(marker);
      }
    }
  });
});
