/**
 * Builds the SDK: `dist/index.js` (core), `dist/react.js` (React bindings, importing the core
 * from `./index.js` and `react` from the app) and `dist/tabs.js` (the tab sharing the core
 * imports only with `shareAcrossTabs`), minified ESM with no dependencies, plus `.d.ts`
 * (tsc emits the client's and the contract's declarations under `dist/types/`, so a consumer
 * needs nothing outside `dist`). Run with `npm run build` at the root.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const CLIENT = fileURLToPath(new URL('.', import.meta.url));

/**
 * Keeps a sibling entry point a runtime import instead of inlining it: the React entry shares the
 * core's module (one client class, one bundle), and the core loads the tab sharing on demand.
 */
const sibling = (entry: string, importer: string): Plugin => ({
  name: `external-${entry}`,
  setup(b) {
    b.onResolve({ filter: new RegExp(`^\\./${entry}\\.js$`) }, (args) =>
      args.importer.endsWith(importer) ? { path: `./${entry}.js`, external: true } : undefined,
    );
  },
});

const common: BuildOptions = {
  absWorkingDir: CLIENT,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  metafile: true,
};

/** esbuild options of both entry points; tests rebuild with them in memory to inspect the inputs. */
export const bundles = {
  core: { ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', plugins: [sibling('tabs', 'client.ts')] },
  react: {
    ...common,
    entryPoints: ['src/react.ts'],
    outfile: 'dist/react.js',
    external: ['react'],
    plugins: [sibling('index', 'react.ts')],
  },
  tabs: { ...common, entryPoints: ['src/tabs.ts'], outfile: 'dist/tabs.js' },
} satisfies Record<string, BuildOptions>;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The debug console as one self-contained HTML page (client/console/: the page, its CSS, and its
 * script bundled with the SDK). Its Content-Security-Policy allows only its own inline script and
 * style (by hash) and connections to a backend: no font, image or script from anywhere else.
 * `npm start` serves the same page at /console (bin/local/console.ts).
 */
export async function buildConsole(): Promise<string> {
  const out = await build({
    absWorkingDir: CLIENT,
    entryPoints: ['console/console.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const script = (out.outputFiles[0]?.text ?? '').replace(/<\/script/gi, '<\\/script');
  const style = readFileSync(`${CLIENT}console/console.css`, 'utf8').replace(/<\/style/gi, '<\\/style');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    'connect-src ws: wss: http: https:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const fill: Record<string, string> = { __CSP__: csp, '/*__STYLE__*/': style, '/*__SCRIPT__*/': script };
  // A function replacer: `$` in the script is not a replacement pattern.
  return readFileSync(`${CLIENT}console/index.html`, 'utf8').replace(
    /\/\*__[A-Z]+__\*\/|__CSP__/g,
    (key) => fill[key] ?? key,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(`${CLIENT}dist`, { recursive: true, force: true });
  const [html] = await Promise.all([buildConsole(), ...Object.values(bundles).map((options) => build(options))]);
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: CLIENT, stdio: 'inherit' });
  // The console's own check (DOM types, which the root project leaves out).
  execFileSync(process.execPath, [tsc, '-p', 'console/tsconfig.json'], { cwd: CLIENT, stdio: 'inherit' });
  writeFileSync(`${CLIENT}dist/console.html`, html as string);
  writeFileSync(`${CLIENT}dist/index.d.ts`, "export * from './types/client/src/index.js';\n");
  writeFileSync(`${CLIENT}dist/react.d.ts`, "export * from './types/client/src/react.js';\n");
  console.log(`client built in ${Date.now() - started} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
