/**
 * The functions run without `--enable-source-maps`, so their stack traces name positions in the
 * minified bundle; `npm run decode-stack` maps them back with the map built beside the bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeStack, loadSourceMap, projectPath } from '../../bin/decode-stack.js';
import { buildFunctionAsset, moduleScopeEnv } from '../../lib/constructs/function-bundle.js';

const TABLES = fileURLToPath(new URL('../../lambdas/contract/tables.ts', import.meta.url));

describe('decode-stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-stack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a stack trace of a function, as Lambda prints it, back to the source line', () => {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, `import { eventLogTimeMs } from ${JSON.stringify(TABLES)};\neventLogTimeMs('nope');\n`);
    // A code package as deployed (the loader runs the bundle), without a cache: its module scope throws.
    const pkg = buildFunctionAsset('default', join(dir, 'out'), { memoryMb: 256, codeCache: false, entryPoint: entry });
    let stack = '';
    try {
      execFileSync(process.execPath, [pkg.entry], { env: moduleScopeEnv(), encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      stack = String((err as { stderr?: string }).stderr);
    }
    expect(stack).toContain('not an event-log sort key: nope');
    expect(stack).toMatch(/handler\.cjs:\d+:\d+/);
    expect(stack).not.toContain('tables.ts');

    const decoded = decodeStack(stack, loadSourceMap(join(pkg.dir, 'handler.cjs.map')));
    expect(decoded).toMatch(/lambdas\/contract\/tables\.ts:184:\d+/);
    expect(decoded).not.toMatch(/handler\.cjs:\d+:\d+/);
  });

  it('names sources from the project root', () => {
    expect(projectPath('../../../work/repo/lambdas/core/x.ts')).toBe('lambdas/core/x.ts');
    expect(projectPath('../../repo/node_modules/@smithy/core/dist-es/a.js')).toBe(
      'node_modules/@smithy/core/dist-es/a.js',
    );
    expect(projectPath('lambdas/a.ts')).toBe('lambdas/a.ts');
  });
});
