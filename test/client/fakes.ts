/**
 * A fake WebSocket and a scripted server side for the client's unit tests: no network, driven
 * by the test (open, frames, closes) under vitest's fake timers.
 */
import { vi } from 'vitest';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '../../client/src/index.js';
import {
  type AuthSuccessData,
  type Envelope,
  type Priority,
  REPLAY_FLAG,
  type ResumeSuccessData,
  type SubscriptionFilter,
  serverMessage,
} from '../../lambdas/contract/plain.js';

type Frame = { action: string; [field: string]: unknown };

export class FakeSocket {
  static all: FakeSocket[] = [];
  static get last(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error('no socket was opened');
    return s;
  }

  readyState = 0;
  onopen: ((ev: object) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: object) => void) | null = null;
  readonly sent: Frame[] = [];
  /** Set when the client closed it. */
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(JSON.parse(data) as Frame);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the server's side

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  /** The server (or the network) ends the connection. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  actions(): string[] {
    return this.sent.map((f) => f.action);
  }

  lastSent(action?: string): Frame {
    const frame = [...this.sent].reverse().find((f) => action === undefined || f.action === action);
    if (!frame) throw new Error(`no ${action ?? ''} frame sent; sent ${JSON.stringify(this.actions())}`);
    return frame;
  }

  get isClosed(): boolean {
    return this.readyState === 3;
  }
}

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const HOUR = 3_600_000;

/** Lets promise callbacks (getToken, request replies) run; fake time does not move. */
export const tick = () => vi.advanceTimersByTimeAsync(0);

export function envelope(n: number, extra: Partial<Envelope> & { replay?: true } = {}): Envelope {
  return {
    type: 'goal.created',
    data: { tenantId: 't1', goalId: `g${n}` },
    timestamp: new Date(T0).toISOString(),
    eventId: `evt_${n}`,
    tenantId: 't1',
    ...extra,
  };
}

export const replayed = (n: number, extra: Partial<Envelope> = {}) => envelope(n, { ...extra, [REPLAY_FLAG]: true });

export function authSuccess(data: Partial<AuthSuccessData> = {}, ttlMs = HOUR) {
  const now = Date.now();
  return serverMessage.authSuccess(now, {
    connectionId: `c${FakeSocket.all.length}`,
    tenantId: 't1',
    userId: 'u1',
    expiresAt: new Date(now + ttlMs).toISOString(),
    lastEventId: null,
    ...data,
  });
}

export const resumeSuccess = (data: ResumeSuccessData) => serverMessage.resumeSuccess(Date.now(), data);

/** A whole filter, as `subscribe.success` and `unsubscribe.success` carry it (and a restore frame sends it). */
export const filter = (
  eventTypes: string[] = [],
  sources: string[] = [],
  minPriority: Priority = 'low',
): SubscriptionFilter => ({
  eventTypes,
  sources,
  minPriority,
});
export const subscribed = (f: SubscriptionFilter) => serverMessage.subscribeSuccess(Date.now(), f);
export const unsubscribed = (f: SubscriptionFilter) => serverMessage.unsubscribeSuccess(Date.now(), f);

export interface Harness {
  client: RealtimeClient;
  states: Array<[string, string]>;
  events: string[];
  errors: Array<{ code: string; message: string }>;
  gaps: unknown[];
  getToken: ReturnType<typeof vi.fn<() => Promise<string>>>;
}

/** A client on fake sockets that records what the app would see. */
export function harness(options: Partial<RealtimeClientOptions> = {}): Harness {
  let n = 0;
  const getToken = vi.fn(async () => `token-${++n}`);
  const client = createRealtimeClient({
    url: 'wss://example.test/dev',
    getToken,
    WebSocket: FakeSocket,
    onlineEvents: null,
    ...options,
  });
  const h: Harness = { client, states: [], events: [], errors: [], gaps: [], getToken };
  client.on('state', (state, info) => h.states.push([state, info.reason]));
  client.on('event', (e) => h.events.push(e.eventId));
  client.on('error', (e) => h.errors.push({ code: e.code, message: e.message }));
  client.on('gap', (g) => h.gaps.push(g));
  return h;
}

/** Opens the newest socket and answers its auth; returns the socket. */
export async function accept(auth: Partial<AuthSuccessData> = {}, ttlMs = HOUR): Promise<FakeSocket> {
  const ws = FakeSocket.last;
  ws.open();
  await tick();
  if (ws.lastSent().action !== 'auth') throw new Error(`expected auth, got ${JSON.stringify(ws.actions())}`);
  ws.receive(authSuccess(auth, ttlMs));
  await tick();
  return ws;
}
