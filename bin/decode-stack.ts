/**
 * `npm run decode-stack -- <handler.cjs.map> [file]`: maps the `handler.cjs:line:column` positions of
 * a stack trace (from CloudWatch; stdin or `file`) back to source files and lines.
 *
 * The functions run without `--enable-source-maps` (it parses the map on every cold start; README,
 * "Cold start"), so a stack trace in their logs names positions in the minified bundle. The map
 * is built beside each bundle and shipped with it: take it from `cdk.out` after `npm run synth`
 * of the deployed commit, or from the function's code package.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { isMain, runCli, UsageError } from './local/cli.js';

const USAGE = `usage: npm run decode-stack -- <handler.cjs.map> [stack.txt]   (the stack on stdin without a file)`;

/** A bundle position in a stack frame: `…/handler.cjs:12:345` (1-based line and column). */
const BUNDLE_POSITION = /(?:file:\/\/)?[^\s()]*handler\.cjs:(\d+):(\d+)/g;

/**
 * The project-relative form of a map's source path (`../../work/repo/lambdas/x.ts` →
 * `lambdas/x.ts`): from the first `node_modules/` or `lambdas/` on.
 */
export function projectPath(source: string): string {
  const at = source.search(/(?:^|\/)(?:node_modules|lambdas)\//);
  return at < 0 ? source : source.slice(source[at] === '/' ? at + 1 : at);
}

/** Replaces every bundle position in `stack` by `source:line:column`; unknown ones stay. */
export function decodeStack(stack: string, map: SourceMap): string {
  return stack.replace(BUNDLE_POSITION, (whole, line: string, column: string) => {
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
    return `${projectPath(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** A source map file as Node's `SourceMap`. */
export function loadSourceMap(file: string): SourceMap {
  return new SourceMap(JSON.parse(readFileSync(file, 'utf8')));
}

if (isMain(import.meta.url)) {
  runCli(async () => {
    const [mapFile, stackFile] = process.argv.slice(2);
    if (!mapFile) throw new UsageError('the source map file is required');
    const stack = readFileSync(stackFile ?? 0, 'utf8');
    process.stdout.write(decodeStack(stack, loadSourceMap(mapFile)));
  }, USAGE);
}
