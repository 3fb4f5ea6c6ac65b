/**
 * Shared helpers for the local runtime tests: quiet logs and polling. The WebSocket client they
 * use is `bin/tools/ws-client.ts`, shared with the e2e tests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { silenceSdkNodeVersionWarning } from '../../bin/local/cli.js';
import type { Log } from '../../bin/local/log.js';

// The SDK's "Node 22 required from 2027" notice would repeat in every test file's output.
silenceSdkNodeVersionWarning();

/** Collects log lines instead of printing them. */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string, err?: unknown) => {
    lines.push(`${level} ${message}${err === undefined ? '' : ` ${String(err)}`}`);
  };
  return { lines, info: push('INFO'), warn: push('WARN'), error: push('ERROR') };
}

/** Polls `probe` until it returns a value other than undefined. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(10);
  }
}
