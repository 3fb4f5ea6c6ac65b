/** Helpers shared by the small command-line tools (`npm run token`, `npm run emit`). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** A bad command line: the message is printed with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `a, b,,c` → `['a', 'b', 'c']`. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Runs a CLI main: any error exits 1 with one line; usage errors add the usage. */
export function runCli(main: () => Promise<void>, usage: string): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
    } else {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exitCode = 1;
  });
}

/**
 * The AWS SDK warns on every run that its 2027 releases need Node 22; irrelevant to a local
 * dev tool, so it is silenced unless the variable is set.
 */
export function silenceSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
