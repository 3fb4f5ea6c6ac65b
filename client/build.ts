/**
 * Builds the SDK: `dist/index.js` (core) and `dist/react.js` (React bindings, importing the core
 * from `./index.js` and `react` from the app), minified ESM with no dependencies, plus `.d.ts`
 * (tsc emits the client's and the contract's declarations under `dist/types/`, so a consumer
 * needs nothing outside `dist`). Run with `npm run build` at the root.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const CLIENT = fileURLToPath(new URL('.', import.meta.url));

/** The React entry shares the core's module (one client class, one bundle) instead of inlining it. */
const coreExternal: Plugin = {
  name: 'core-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/index\.js$/ }, (args) =>
      args.importer.endsWith('react.ts') ? { path: './index.js', external: true } : undefined,
    );
  },
};

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
  core: { ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' },
  react: {
    ...common,
    entryPoints: ['src/react.ts'],
    outfile: 'dist/react.js',
    external: ['react'],
    plugins: [coreExternal],
  },
} satisfies Record<string, BuildOptions>;

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(`${CLIENT}dist`, { recursive: true, force: true });
  await Promise.all([build(bundles.core), build(bundles.react)]);
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'],
    {
      cwd: CLIENT,
      stdio: 'inherit',
    },
  );
  writeFileSync(`${CLIENT}dist/index.d.ts`, "export * from './types/client/src/index.js';\n");
  writeFileSync(`${CLIENT}dist/react.d.ts`, "export * from './types/client/src/react.js';\n");
  console.log(`client built in ${Date.now() - started} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
