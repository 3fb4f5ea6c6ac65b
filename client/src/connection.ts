/**
 * One connection of the client: a socket (a WebSocket, or the polling "socket" of polling.ts),
 * its request queue (one request on the wire at a time, so replies need no ids) and its timers.
 * It parses frames and hands envelopes, losses and unrequested errors to its `Client`.
 */
import { type Envelope, ServerMessageType as T } from '../../lambdas/contract/plain.js';
import type { Client } from './client.js';
import { RealtimeError, serverError } from './errors.js';
import { pollingSocket } from './polling.js';
import { Timers } from './timers.js';
import type { SocketLike, Transport } from './transport.js';

export interface Msg {
  type?: string;
  data?: Record<string, unknown>;
  timestamp?: string;
  eventId?: unknown;
  message?: unknown;
}
type Frame = { action: string; [field: string]: unknown };
interface Request {
  /** The frame as sent, serialized when queued: what the caller changes after that is not sent. */
  data: string;
  action: string;
  expect: string;
  resolve: (m: Msg) => void;
  reject: (e: RealtimeError) => void;
}

export const noop = () => {};
export const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** One socket: its request queue (one request on the wire at a time, so replies need no ids) and its timers. */
export class Connection {
  readonly timers = new Timers();
  readonly openedAt = Date.now();
  declare readonly token: Promise<string | RealtimeError>;
  declare readonly socket: SocketLike;
  /** Live frames that arrived before the resume finished, delivered after the replayed ones. */
  held: Envelope[] = [];
  // The flags start unset (undefined: false), which costs the bundle nothing.
  /** `held` hit its bound and was dropped: resume once more from the last delivered event. */
  declare overflow?: boolean;
  declare authed?: boolean;
  declare live?: boolean;
  declare dead?: boolean;
  declare id: string | undefined;
  refreshFailures = 0;
  #queue: Request[] = [];

  readonly #c: Client;
  declare readonly polling: boolean;

  constructor(c: Client, polling = false) {
    this.#c = c;
    this.polling = polling;
    this.token = c.fetchToken();
    const s = (this.socket = polling ? pollingSocket(c) : (c.ws as Transport)(c.url));
    this.timers.set('open', c.timeoutMs, () =>
      c.lost(this, 'timeout', new RealtimeError('timeout', `the socket did not open within ${c.timeoutMs} ms`)),
    );
    s.onopen = () => {
      this.timers.clear('open');
      c.opened(this);
    };
    s.onmessage = (ev: { data: unknown }) => this.#frame(String(ev.data));
    s.onclose = (ev: { code: number }) =>
      c.lost(this, ev.code === 1001 ? 'going_away' : 'socket_closed', undefined, ev.code);
    s.onerror = noop; // always followed by close, which carries the only useful detail
  }

  request(frame: Frame, expect: string): Promise<Msg> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new RealtimeError('disconnected', 'the connection closed'));
      const data = JSON.stringify(frame);
      if (this.#queue.push({ data, action: frame.action, expect, resolve, reject }) === 1) this.#sendHead();
    });
  }

  #sendHead(): void {
    const head = this.#queue[0];
    if (!head) return;
    this.#arm();
    try {
      this.socket.send(head.data);
    } catch (err) {
      this.#c.lost(this, 'socket_closed', new RealtimeError('disconnected', `send failed: ${describe(err)}`));
    }
  }

  /** (Re)starts the reply deadline of the request on the wire; any frame counts as a sign of life. */
  #arm(): void {
    const action = this.#queue[0]?.action;
    if (action === undefined) return;
    this.timers.set('reply', this.#c.timeoutMs, () =>
      this.#c.lost(
        this,
        'timeout',
        new RealtimeError('timeout', `no reply to "${action}" within ${this.#c.timeoutMs} ms`),
      ),
    );
  }

  #settle(m: Msg, error?: RealtimeError): void {
    const head = this.#queue.shift();
    this.timers.clear('reply');
    this.#sendHead();
    if (error) head?.reject(error);
    else head?.resolve(m);
  }

  #frame(text: string): void {
    let m: Msg | null = null;
    try {
      m = JSON.parse(text) as Msg | null;
    } catch {
      // reported below
    }
    const head = this.#queue[0];
    if (!m || typeof m !== 'object') {
      this.#c.report(new RealtimeError('protocol_error', `not a JSON object: ${text.slice(0, 80)}`));
      return;
    }
    this.#arm();
    if (typeof m.eventId === 'string') {
      this.#c.envelope(this, m as unknown as Envelope);
    } else if (m.type === T.authExpired) {
      this.#c.lost(this, 'auth_expired');
    } else if (head && m.type === head.expect) {
      this.#settle(m);
    } else if (m.type === undefined || m.type === T.error || m.type === T.authError || m.type === T.resumeError) {
      // `error`, `auth.error`, `resume.error`, or API Gateway's `{"message":"Internal server error"}`.
      const error = serverError(m.data ?? {}, m.message);
      if (head) this.#settle(m, error);
      else this.#c.report(error);
    }
    // Anything else (a late pong, a future message type) is not for us.
  }

  dispose(code = 1000, reason = ''): void {
    if (this.dead) return;
    this.dead = true;
    this.timers.dispose();
    const s = this.socket;
    s.onopen = s.onmessage = s.onclose = s.onerror = noop;
    try {
      if (s.readyState < 2) s.close(code, reason);
    } catch {
      // already closing
    }
    for (const r of this.#queue.splice(0)) r.reject(new RealtimeError('disconnected', 'the connection closed'));
  }
}
