/** The local runtime's own log lines (stderr, so stdout keeps the banner and the READY line). */

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

function write(level: string, message: string, err?: unknown): void {
  const suffix = err === undefined ? '' : `\n${describe(err)}`;
  process.stderr.write(`[local] ${level} ${message}${suffix}\n`);
}

export const log = {
  info: (message: string) => write('INFO', message),
  warn: (message: string, err?: unknown) => write('WARN', message, err),
  error: (message: string, err?: unknown) => write('ERROR', message, err),
};

export type Log = typeof log;

/** The message of anything thrown, for results and dead letters. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
