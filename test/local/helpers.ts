/** Shared helpers for the local runtime tests: quiet logs, WebSocket clients, polling. */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
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

export interface TestClient {
  ws: WebSocket;
  /** Text frames received so far. */
  messages: string[];
  /** Resolves with the n-th (1-based) message once received. */
  nth(n: number, timeoutMs?: number): Promise<string>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a client; rejects with the HTTP status when the handshake is refused. */
export function connect(
  url: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    const messages: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => messages.push(data.toString()));
    ws.on('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        closed,
        nth: (n, timeoutMs = 5000) => waitFor(() => messages[n - 1], timeoutMs),
      }),
    );
  });
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

/** Closes a client (if still open) and waits for the close to complete. */
export async function closeClient(client: TestClient): Promise<void> {
  if (client.ws.readyState === WebSocket.OPEN || client.ws.readyState === WebSocket.CONNECTING) client.ws.close();
  await client.closed;
}
