/**
 * A tiny static HTTP server for browser test pages, on 127.0.0.1 and a free port.
 *
 * Pages are served from `http://127.0.0.1:<port>`, a secure context, so Web Locks and
 * BroadcastChannel exist (they do not on `about:blank` or `setContent` pages). It serves:
 * - `/client/*`  the SDK's build output, `client/dist/*`, as built (ES modules, unbundled);
 * - `/pages/*`   the page scripts of `test/browser/pages/` (plain browser ES modules);
 * - `/bundle/*`  scripts bundled at test time with esbuild (`bundle()`), e.g. React pages;
 * - `/<name>.html` the HTML pages registered with `page()` (a script tag and a root element).
 * Everything is `no-store`; paths cannot leave their folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/**
 * The SDK build under test: client/dist, or BROWSER_TEST_CLIENT_DIST (another build of the same
 * package, e.g. to try these tests against a candidate before it lands in client/dist).
 */
export const CLIENT_DIST = resolve(process.env.BROWSER_TEST_CLIENT_DIST ?? join(ROOT, 'client', 'dist'));
export const PAGES_DIR = join(ROOT, 'test', 'browser', 'pages');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The files the SDK build must produce before a browser test can load it. */
export function assertClientBuilt(files = ['index.js', 'react.js']): void {
  const missing = files.filter((f) => !existsSync(join(CLIENT_DIST, f)));
  if (missing.length > 0) {
    throw new Error(
      `client/dist is missing ${missing.join(', ')}: run \`npm run build\` first (\`npm test\` does it before vitest)`,
    );
  }
}

export interface PageOptions {
  /** Module script URL, e.g. `/pages/core.js` or `/bundle/react-page.js`. */
  script: string;
  title?: string;
  /** Extra markup inside <body>, before the script. */
  body?: string;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Registers `/<name>.html` and returns its absolute URL (with `query`, if any). */
  page(name: string, options: PageOptions, query?: Record<string, string>): string;
  /** The absolute URL of a path on this server, with an optional query. */
  url(path: string, query?: Record<string, string>): string;
  /**
   * Bundles `entry` (a path relative to the repo root, or absolute) with esbuild for the browser,
   * and serves it at `/bundle/<name>.js`. Returns that path.
   */
  bundle(name: string, entry: string, options?: BundleOptions): Promise<string>;
  /** Requests served, for tests that check what a page loaded. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface BundleOptions {
  /** `process.env.NODE_ENV` for React and friends; default `development` (clearer errors). */
  nodeEnv?: 'development' | 'production';
}

/** The file `urlPath` names inside `dir`, or undefined when it is not a file there (or escapes it). */
function inside(dir: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = resolve(dir, normalize(`.${sep}${decoded}`));
  const rel = relative(dir, file);
  if (rel.startsWith('..') || rel === '' || resolve(dir, rel) !== file) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export async function startStaticServer(): Promise<StaticServer> {
  const pages = new Map<string, string>();
  const bundleDir = mkdtempSync(join(tmpdir(), 'tenant-realtime-browser-bundle-'));
  const requests: string[] = [];
  const mounts: Array<[prefix: string, dir: string]> = [
    ['/client/', CLIENT_DIST],
    ['/pages/', PAGES_DIR],
    ['/bundle/', bundleDir],
  ];

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push(path);
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed');
    if (path === '/favicon.ico') return send(204, 'text/plain', '');
    const html = pages.get(path);
    if (html !== undefined) return send(200, TYPES['.html']!, html);
    for (const [prefix, dir] of mounts) {
      if (!path.startsWith(prefix)) continue;
      const file = inside(dir, path.slice(prefix.length));
      if (!file) break;
      return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
    }
    send(404, 'text/plain', `not found: ${path}`);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve_, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve_());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const url = (path: string, query?: Record<string, string>) => {
    const u = new URL(path, origin);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u.href;
  };

  return {
    origin,
    requests,
    url,
    page(name, options, query) {
      const path = `/${name}.html`;
      pages.set(
        path,
        [
          '<!doctype html>',
          '<html lang="en">',
          '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
          `<title>${escapeHtml(options.title ?? name)}</title></head>`,
          `<body>${options.body ?? '<div id="root"></div>'}`,
          `<script type="module" src="${escapeHtml(options.script)}"></script>`,
          '</body></html>',
        ].join('\n'),
      );
      return url(path, query);
    },
    async bundle(name, entry, options = {}) {
      const { build } = await import('esbuild');
      await build({
        entryPoints: [resolve(ROOT, entry)],
        outfile: join(bundleDir, `${name}.js`),
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        jsx: 'automatic',
        sourcemap: 'linked',
        define: { 'process.env.NODE_ENV': JSON.stringify(options.nodeEnv ?? 'development') },
        logLevel: 'silent',
        absWorkingDir: ROOT,
        // Page scripts import the SDK by its package name, as apps do: the workspace link and the
        // package's `exports` lead to client/dist (or to BROWSER_TEST_CLIENT_DIST when set).
        nodePaths: [join(ROOT, 'node_modules')],
        ...(process.env.BROWSER_TEST_CLIENT_DIST
          ? {
              alias: {
                '@tenant-realtime/client/react': join(CLIENT_DIST, 'react.js'),
                '@tenant-realtime/client': join(CLIENT_DIST, 'index.js'),
              },
            }
          : {}),
      });
      return `/bundle/${name}.js`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve_) => server.close(() => resolve_()));
      rmSync(bundleDir, { recursive: true, force: true });
    },
  };
}
