/**
 * The functions run without `--enable-source-maps`, so their stack traces name positions in the
 * minified bundle; `npm run decode-stack` maps them back with the map built beside the bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeStack, loadSourceMap, projectPath } from '../../bin/decode-stack.js';
import { BUNDLE_OPTIONS, SHARED_ENVIRONMENT } from '../../lib/constructs/node-function.js';

const TABLES = fileURLToPath(new URL('../../lambdas/contract/tables.ts', import.meta.url));

describe('decode-stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-stack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a bundle stack trace, as Lambda prints it, back to the source line', async () => {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, `import { eventLogTimeMs } from ${JSON.stringify(TABLES)};\neventLogTimeMs('nope');\n`);
    const outfile = join(dir, 'out', 'index.mjs');
    await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile, logLevel: 'error' });
    let stack = '';
    try {
      execFileSync(process.execPath, [outfile], {
        env: { PATH: process.env.PATH ?? '', ...SHARED_ENVIRONMENT },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (err) {
      stack = String((err as { stderr?: string }).stderr);
    }
    expect(stack).toContain('not an event-log sort key: nope');
    expect(stack).toMatch(/index\.mjs:\d+:\d+/);
    expect(stack).not.toContain('tables.ts');

    const decoded = decodeStack(stack, loadSourceMap(`${outfile}.map`));
    expect(decoded).toMatch(/lambdas\/contract\/tables\.ts:184:\d+/);
    expect(decoded).not.toMatch(/index\.mjs:\d+:\d+/);
  });

  it('names sources from the project root', () => {
    expect(projectPath('../../../work/repo/lambdas/core/x.ts')).toBe('lambdas/core/x.ts');
    expect(projectPath('../../repo/node_modules/@smithy/core/dist-es/a.js')).toBe(
      'node_modules/@smithy/core/dist-es/a.js',
    );
    expect(projectPath('lambdas/a.ts')).toBe('lambdas/a.ts');
  });
});
