/**
 * The built package: no zod (nor any server module) in the bundle, declarations that need
 * nothing outside `dist`, the size budget, and entry points that load. `npm test` builds the
 * client first (`npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundles } from '../../client/build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'client');
const DIST = join(CLIENT, 'dist');
const CORE_BUDGET = 6 * 1024;
const REACT_BUDGET = 1.5 * 1024;
/** The tab sharing, loaded by the core only with `shareAcrossTabs`. */
const TABS_BUDGET = 1.5 * 1024;

/** The contract modules the client may bundle: the zod-free half. */
const ALLOWED_INPUT =
  /^(src\/[a-z-]+\.ts|\.\.\/lambdas\/contract\/(plain|protocol|routes|limits|event-types|filter|http)\.ts)$/;

async function inputsOf(options: (typeof bundles)[keyof typeof bundles]) {
  const result = await build({ ...options, write: false, logLevel: 'silent' });
  return {
    inputs: Object.keys(result.metafile?.inputs ?? {}),
    text: result.outputFiles.map((f) => f.text).join('\n'),
  };
}

/** What a bundle must not contain: zod's files or its code. */
function zodIn(bundle: { inputs: string[]; text: string }): string[] {
  return [
    ...bundle.inputs.filter((p) => p.includes('node_modules/zod/')),
    ...(/zod|ZodError|\$ZodType/i.test(bundle.text) ? ['"zod" in the output'] : []),
  ];
}

describe('bundle contents', () => {
  it('the core, the React entry and the tab sharing bundle only the client and the zod-free contract', async () => {
    for (const options of [bundles.core, bundles.react, bundles.tabs]) {
      const bundle = await inputsOf(options);
      expect(zodIn(bundle)).toEqual([]);
      expect(bundle.inputs.filter((p) => !ALLOWED_INPUT.test(p))).toEqual([]);
    }
  });

  it('the zod check catches zod when the full contract is imported (so it would fail if zod entered)', async () => {
    const probe = await build({
      absWorkingDir: CLIENT,
      stdin: { contents: "export { Envelope } from '../lambdas/contract/index.js';", resolveDir: CLIENT, loader: 'ts' },
      bundle: true,
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const bundle = {
      inputs: Object.keys(probe.metafile.inputs),
      text: probe.outputFiles.map((f) => f.text).join(''),
    };
    expect(zodIn(bundle).length).toBeGreaterThan(0);
  });

  it('the React entry imports the core and react, and inlines neither', () => {
    const react = readFileSync(join(DIST, 'react.js'), 'utf8');
    const imports = [...react.matchAll(/from\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['./index.js', 'react']);
    expect(react).not.toContain('auth.success');
  });
});

describe('built files', () => {
  beforeAll(() => {
    if (!existsSync(join(DIST, 'index.js'))) throw new Error('client/dist is missing: run `npm run build` first');
  });

  it(`fits the size budget: core ≤ ${CORE_BUDGET} B, React bindings ≤ ${REACT_BUDGET} B more, tab sharing ≤ ${TABS_BUDGET} B more (min+gzip)`, () => {
    const gz = (file: string) => gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length;
    const core = gz('index.js');
    const react = gz('react.js');
    const tabs = gz('tabs.js');
    console.log(`client bundle sizes (min+gzip): core ${core} B, react ${react} B, tabs ${tabs} B`);
    expect(core).toBeLessThanOrEqual(CORE_BUDGET);
    expect(react).toBeLessThanOrEqual(REACT_BUDGET);
    expect(tabs).toBeLessThanOrEqual(TABS_BUDGET);
  });

  it('the core imports the tab sharing on demand (dist/tabs.js), and carries none of it', () => {
    const core = readFileSync(join(DIST, 'index.js'), 'utf8');
    const tabs = readFileSync(join(DIST, 'tabs.js'), 'utf8');
    expect([...core.matchAll(/import\("(\.[^"]+)"\)/g)].map((m) => m[1])).toEqual(['./tabs.js']);
    expect(tabs).toContain('tenant-realtime ');
    expect(core).not.toContain('tenant-realtime ');
    expect(core).not.toContain('postMessage');
    // The tab sharing imports nothing: not the core either (it gets the client passed in).
    expect(tabs).not.toMatch(/\bimport\s*[({"']/);
  });

  it('console.html is one self-contained page: inline script and style only, allowed by hash in its CSP', () => {
    const html = readFileSync(join(DIST, 'console.html'), 'utf8');
    // Nothing loaded from a file or another origin: no external script, stylesheet, font or image.
    expect(html).not.toMatch(/<script[^>]+src=|<link\b|<img\b|<iframe\b/i);
    const script = /<script type="module">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(style).not.toMatch(/@import|url\(|@font-face/);
    expect(script).toContain('auth.success'); // the SDK, bundled in
    expect(style).toContain('prefers-color-scheme');
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(csp.split('; ')).toEqual([
      "default-src 'none'",
      `script-src ${hash(script)}`,
      `style-src ${hash(style)}`,
      'connect-src ws: wss: http: https:',
      "base-uri 'none'",
      "form-action 'none'",
    ]);
    expect(html).not.toContain('zod');
  });

  it('declarations import nothing outside dist but react (so never zod)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.d.ts')) files.push(path);
      }
    };
    walk(DIST);
    expect(files.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (!spec) continue;
        if (spec === 'react') continue;
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.d.ts'));
        if (!spec.startsWith('.') || !target.startsWith(DIST) || !existsSync(target))
          problems.push(`${file}: imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
    expect(readFileSync(join(DIST, 'index.d.ts'), 'utf8')).toContain('./types/client/src/index.js');
  });

  it('the ESM entry points load, and React bindings share the core module', async () => {
    const core = await import(pathToFileURL(join(DIST, 'index.js')).href);
    expect(typeof core.createRealtimeClient).toBe('function');
    expect(typeof core.RealtimeError).toBe('function');
    const tabs = await import(pathToFileURL(join(DIST, 'tabs.js')).href);
    expect(Object.keys(tabs).sort()).toEqual(['shareKey', 'tabs']);
    const react = await import(pathToFileURL(join(DIST, 'react.js')).href);
    expect(Object.keys(react).sort()).toEqual([
      'RealtimeProvider',
      'useConnectionState',
      'useRealtimeClient',
      'useRealtimeEvent',
    ]);
  });

  it("the README's frontend examples type-check in an app against the built package (strict, no skipLibCheck)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## For frontends'), readme.indexOf('## Client protocol'));
    const tsx = [...section.matchAll(/```tsx\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const ts = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(tsx).toHaveLength(2);
    const app = mkdtempSync(join(tmpdir(), 'sdk-consumer-'));
    try {
      mkdirSync(join(app, 'node_modules/@tenant-realtime'), { recursive: true });
      mkdirSync(join(app, 'node_modules/@types'));
      mkdirSync(join(app, 'src'));
      symlinkSync(CLIENT, join(app, 'node_modules/@tenant-realtime/client'));
      symlinkSync(join(ROOT, 'node_modules/react'), join(app, 'node_modules/react'));
      symlinkSync(join(ROOT, 'node_modules/@types/react'), join(app, 'node_modules/@types/react'));
      writeFileSync(join(app, 'package.json'), '{"type":"module","private":true}');
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'bundler',
            jsx: 'react-jsx',
            strict: true,
            lib: ['ES2022', 'DOM'],
            types: [],
            noEmit: true,
            skipLibCheck: false,
          },
          include: ['src'],
        }),
      );
      // Vite's import.meta.env, and the one function the plain example leaves to the app.
      const env = 'declare global { interface ImportMeta { env: Record<string, string | undefined> } }\n';
      writeFileSync(join(app, 'src/realtime.ts'), env + tsx[0]);
      writeFileSync(join(app, 'src/App.tsx'), tsx[1] ?? '');
      writeFileSync(
        join(app, 'src/plain.ts'),
        `import { realtime } from './realtime';\ndeclare function render(...a: unknown[]): void;\n${ts[0]}`,
      );
      // The multi-tab and polling-fallback examples: each a module of its own.
      expect(ts).toHaveLength(3);
      for (const [i, example] of ts.slice(1).entries()) writeFileSync(join(app, `src/example${i + 1}.ts`), example);
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], { stdio: 'pipe' });
    } catch (err) {
      const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
      throw new Error(`the README example does not type-check:\n${out || String(err)}`);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
