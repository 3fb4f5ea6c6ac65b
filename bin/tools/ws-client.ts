/**
 * The WebSocket test client: a `ws` socket that records every frame it receives and lets the
 * caller wait for one. The e2e tests (through the harness) and the local runtime tests use it.
 */
import WebSocket from 'ws';

export type Frame = {
  type: string;
  data: Record<string, unknown>;
  timestamp?: string;
  eventId?: string;
  tenantId?: string;
  [k: string]: unknown;
};

export interface CloseInfo {
  code: number;
  reason: string;
}

/** `ws` client options, plus the subprotocols to offer. */
export interface ConnectOptions extends WebSocket.ClientOptions {
  protocols?: string[];
}

/** The server answered the handshake with a plain HTTP response instead of 101. */
export class HandshakeRefusedError extends Error {
  override readonly name = 'HandshakeRefusedError';
  constructor(readonly status: number | undefined) {
    super(`handshake refused: ${status}`);
  }
}

export class Client {
  /** Every text frame as received, in order. */
  readonly raw: string[] = [];
  /** Every frame parsed as JSON, in order (`type: '<non-json>'` for anything else). */
  readonly frames: Frame[] = [];
  /** Set once the socket has closed. */
  closeCode: number | undefined;
  /** Resolves with the close code and reason once the socket has closed. */
  readonly closed: Promise<CloseInfo>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.notify();
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        this.frames.push({ type: '<non-json>', data: { text } });
      }
      this.notify();
    });
  }

  private notify() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Opens a client; rejects with `HandshakeRefusedError` (and its `status`) when the handshake is refused. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<Client> {
    const { protocols = [], ...clientOptions } = options;
    const ws = new WebSocket(url, protocols, clientOptions);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      // Also keeps a later socket error from going unhandled; the close that follows is recorded.
      ws.on('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        reject(new HandshakeRefusedError(res.statusCode));
        ws.terminate();
      });
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves once `probe` returns a value other than undefined, re-checking on every frame and on close. */
  private async until<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until a frame satisfies `pred` (checking frames already received first). */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5_000, label = 'frame'): Promise<Frame> {
    return this.until(
      () => this.frames.find(pred),
      timeoutMs,
      () => `${label}; got ${JSON.stringify(this.frames.map((f) => f.type))}`,
    );
  }

  /** Resolves with the text of the n-th (1-based) frame once received. */
  nth(n: number, timeoutMs = 5_000): Promise<string> {
    return this.until(
      () => this.raw[n - 1],
      timeoutMs,
      () => `frame ${n}; got ${this.raw.length}`,
    );
  }

  /** Sends a message and waits for the next frame of one of `types`. */
  async request(message: unknown, types: string[], timeoutMs = 5_000): Promise<Frame> {
    const seen = this.frames.length;
    this.send(message);
    return this.waitFor((f) => this.frames.indexOf(f) >= seen && types.includes(f.type), timeoutMs, types.join('|'));
  }

  /** Resolves with the close code once the socket has closed. */
  waitClosed(timeoutMs = 5_000): Promise<number> {
    return this.until(
      () => this.closeCode,
      timeoutMs,
      () => 'close',
    );
  }

  /** Domain events received (frames carrying an eventId). */
  events(): Frame[] {
    return this.frames.filter((f) => typeof f.eventId === 'string');
  }

  /** Starts a normal close. */
  close(): void {
    this.ws.close();
  }

  /** Closes (if still open) and waits for the close to complete. */
  async closeAndWait(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }
}
