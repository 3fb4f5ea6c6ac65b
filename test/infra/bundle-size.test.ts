/**
 * Every Lambda bundle, built with the stack's own esbuild options, stays under a byte budget:
 * bytes are what a cold start compiles (see README, "Cold start"). A budget is the measured
 * size plus about 10 %; raise it only with a reason, in the same commit as the growth.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, buildBundles, HANDLER_NAMES } from '../../bin/tools/cold-start.js';
import type { HandlerName } from '../../lambdas/contract/index.js';

const KB = 1024;
/** Bytes of `index.mjs` per handler. */
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
  let bundles: BuiltBundle[] = [];
  beforeAll(async () => {
    bundles = await buildBundles(dir);
  }, 60_000);
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
