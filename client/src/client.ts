/**
 * The client: one class wiring the pure pieces (state table, backoff, dedupe window) to sockets
 * and timers. A `Connection` (connection.ts) is one socket with its own request queue and
 * timers; the client owns at most two (the current one, and its successor while rotating) and
 * the shared state: resume point, subscription filter, dedupe window, handlers.
 *
 * With `shareAcrossTabs`, `tabs` (tabs.ts, imported on demand) hooks in at a few places: the
 * leader posts its states, deliveries, resume point and gaps to the other tabs, subscribes to
 * their union, and a follower mirrors the leader through `state`/`stateInfo` and `emit`,
 * `deliver` and `gap`. Members that are neither `#private` nor part of `RealtimeClient` are these
 * internals. (`#private` names and `declare`d fields keep the minified bundle small: the former
 * minify, the latter are assigned in the constructor instead of listed as class fields.)
 */
import {
  AuthErrorCode,
  type AuthSuccessData,
  CLIENT_PING_INTERVAL_SECONDS,
  changeFilter,
  type Envelope,
  ErrorCode,
  type FilterParts,
  HttpPath,
  LOWEST_PRIORITY,
  MAX_CONNECTION_SECONDS,
  MAX_REPLAY_EVENTS,
  matchesSubscriptions,
  type PresenceResponse,
  passesFilter,
  REPLAY_FLAG,
  ResumeErrorCode,
  type ResumeSuccessData,
  Route,
  type SubscriptionFilter,
  ServerMessageType as T,
} from '../../lambdas/contract/plain.js';
import { backoff } from './backoff.js';
import { check } from './check.js';
import { Connection, describe, type Msg, noop } from './connection.js';
import { dedupeWindow } from './dedupe.js';
import { RealtimeError } from './errors.js';
import { type FetchLike, get } from './polling.js';
import { type ConnectionState, type LostReason, type StateReason, transition } from './state.js';
import type { Tabs } from './tabs.js';
import { Timers } from './timers.js';
import { type Transport, type TransportName, webSocketTransport } from './transport.js';
import type {
  EventFor,
  EventPattern,
  GapInfo,
  OnlineEventTarget,
  RealtimeClient,
  RealtimeClientOptions,
  RealtimeEventMap,
  StateInfo,
  SubscribeOptions,
} from './types.js';

/** A connection that stayed live this long resets the backoff: a flapping server cannot make a tight loop. */
export const STABLE_AFTER_MS = 2000;
/** Codes no new token can fix: the client stops. */
const FATAL: readonly string[] = [AuthErrorCode.invalidClaims, AuthErrorCode.tenantMismatch];

export class Client implements RealtimeClient {
  state: ConnectionState = 'idle';
  declare stateInfo: StateInfo;
  declare readonly url: string;
  /** Undefined with `transport: 'polling'`, which never opens a socket. */
  declare readonly ws: Transport | undefined;
  declare readonly timeoutMs: number;
  // ---- polling (polling.ts): the HTTP API's URL ('' when unset), `fetch`, and which transport is in use
  declare readonly httpUrl: string;
  declare readonly fetch: FetchLike;
  declare readonly pollIntervalMs: number;
  /** Failed WebSocket connects in a row before polling: Infinity without `httpUrl` or with `transport: 'websocket'`. */
  readonly #fallbackAfter: number;
  /** Consecutive WebSocket connects that failed before going live. */
  #wsFails = 0;
  /** The current connection's transport, or the next attempt's while reconnecting. */
  #via: TransportName;
  /** Aborts `presence()` requests at `close()`. */
  readonly #abort = new AbortController();
  readonly #getToken: () => string | Promise<string>;
  readonly #initial: number;
  readonly #max: number;
  readonly #refreshBefore: number;
  readonly #pingInterval: number;
  readonly #rotateAfter: number;
  readonly #holdLimit: number;
  readonly #random: () => number;
  readonly #onlineEvents: OnlineEventTarget | null;
  declare readonly seen: (id: string) => boolean;
  readonly timers = new Timers();
  readonly #handlers = new Map<string, Set<(...args: never) => void>>();
  readonly #onOnline = () => this.#online();
  /** Resume point; null: the log was empty at the first auth and nothing arrived since. */
  declare cursor: string | null | undefined;
  /** This client's own filter (with `shareAcrossTabs`, the leader's connection holds the union of the tabs'). */
  declare subs: SubscriptionFilter;
  /** `shareAcrossTabs`, where the platform can: the election and the channel to the other tabs (tabs.ts). */
  declare tabs: Tabs | undefined;
  #share: boolean | string | undefined;
  #started?: boolean;
  #conn: Connection | undefined;
  /** The successor while rotating. */
  #next: Connection | undefined;
  #attempt = 0;

  constructor(o: RealtimeClientOptions) {
    const mode = o?.transport ?? 'auto';
    if (!/^(auto|websocket|polling)$/.test(mode)) throw new TypeError('transport must be auto, websocket or polling');
    const polling = mode === 'polling';
    if (!polling && (typeof o?.url !== 'string' || !/^wss?:\/\//i.test(o.url)))
      throw new TypeError(`url must be a ws:// or wss:// URL, got ${JSON.stringify(o?.url)}`);
    if ((o.httpUrl !== undefined || polling) && !/^https?:\/\//i.test(String(o.httpUrl)))
      throw new TypeError(`httpUrl must be an http(s):// URL, got ${JSON.stringify(o.httpUrl)}`);
    if (typeof o.getToken !== 'function') throw new TypeError('getToken must be a function returning a JWT');
    check(o);
    this.url = o.url ?? '';
    this.#getToken = o.getToken;
    this.ws = polling ? undefined : webSocketTransport(o.WebSocket);
    this.httpUrl = (o.httpUrl ?? '').replace(/\/+$/, '');
    this.fetch = o.fetch ?? ((url, init) => fetch(url, init));
    this.pollIntervalMs = o.pollIntervalMs ?? 5000;
    this.#fallbackAfter = mode === 'websocket' || !this.httpUrl ? Infinity : (o.fallbackAfterAttempts ?? 3);
    this.#via = polling ? 'polling' : 'websocket';
    this.subs = changeFilter({}, true, o);
    this.cursor = o.lastEventId;
    this.#initial = o.initialDelayMs ?? 500;
    this.#max = o.maxDelayMs ?? 30_000;
    this.#refreshBefore = o.refreshBeforeMs ?? 60_000;
    this.#pingInterval = o.pingIntervalMs ?? CLIENT_PING_INTERVAL_SECONDS * 1000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.#rotateAfter = o.rotateAfterMs ?? (MAX_CONNECTION_SECONDS - 5 * 60) * 1000;
    const window = o.dedupeWindow ?? 1000;
    this.seen = dedupeWindow(window);
    if (o.lastEventId) this.seen(o.lastEventId); // the app has it already
    this.#holdLimit = window + MAX_REPLAY_EVENTS;
    this.#random = o.random ?? Math.random;
    const platform = globalThis as Partial<OnlineEventTarget> & {
      navigator?: { locks?: unknown };
      BroadcastChannel?: unknown;
    };
    this.#onlineEvents =
      o.onlineEvents !== undefined
        ? o.onlineEvents
        : typeof platform.addEventListener === 'function'
          ? (platform as OnlineEventTarget)
          : null;
    this.stateInfo = { state: 'idle', reason: 'connect', transport: this.#via, role: 'solo' };
    // Web Locks exist in secure contexts only (https, localhost); without them each tab keeps its own connection.
    if (platform.navigator?.locks && platform.BroadcastChannel) this.#share = o.shareAcrossTabs;
  }

  get transport(): TransportName {
    return this.#via;
  }

  get lastEventId(): string | undefined {
    return this.cursor ?? undefined;
  }
  get connectionId(): string | undefined {
    return this.#conn?.id;
  }
  get subscriptions(): readonly string[] {
    return [...this.subs.eventTypes];
  }
  get filter(): SubscriptionFilter {
    return changeFilter(this.subs, true, {}); // a copy
  }

  on<K extends keyof RealtimeEventMap>(name: K, handler: (...args: RealtimeEventMap[K]) => void): () => void {
    const set = this.#handlers.get(name) ?? new Set();
    this.#handlers.set(name, set);
    set.add(handler);
    return () => void set.delete(handler);
  }

  onEvent<P extends EventPattern>(pattern: P, handler: (envelope: EventFor<P>) => void): () => void {
    check({ eventTypes: [pattern] });
    return this.on('event', (e) => {
      if (matchesSubscriptions([pattern], e.type)) handler(e as unknown as EventFor<P>);
    });
  }

  connect(): void {
    if (this.state !== 'idle' || this.#started) return;
    this.#started = true;
    this.#onlineEvents?.addEventListener('online', this.#onOnline);
    const share = this.#share;
    if (!share) this.dial('connect');
    else
      import('./tabs.js').then(
        (m) => (this.tabs = m.tabs(this, share, RealtimeError)).start(),
        () => this.dial('connect'), // could not load: this tab keeps its own connection
      );
  }

  close(): void {
    this.#shutdown('close');
  }

  subscribe(patterns: readonly string[], options?: SubscribeOptions): Promise<string[]> {
    return this.#change(true, patterns, options);
  }

  unsubscribe(patterns: readonly string[], options?: SubscribeOptions): Promise<string[]> {
    return this.#change(false, patterns, options);
  }

  async presence(): Promise<PresenceResponse> {
    if (!this.httpUrl) throw new TypeError('presence() needs httpUrl');
    const token = await this.fetchToken();
    if (token instanceof RealtimeError) throw token;
    return get(this.fetch, this.httpUrl + HttpPath.presence, token, this.#abort.signal);
  }

  // ------------------------------------------------------------ internals (used by Connection and tabs.ts)

  fetchToken(): Promise<string | RealtimeError> {
    return Promise.resolve()
      .then(this.#getToken)
      .catch((err: unknown) => new RealtimeError('token_error', `getToken failed: ${describe(err)}`, undefined, err));
  }

  report(error: RealtimeError): void {
    this.emit('error', error);
  }

  async opened(conn: Connection): Promise<void> {
    if (conn === this.#conn) this.#set('open');
    const token = await conn.token;
    if (conn.dead) return;
    if (token instanceof RealtimeError) this.lost(conn, 'token_error', token);
    else this.#auth(conn, token, false);
  }

  envelope(conn: Connection, e: Envelope): void {
    if (conn.live || e[REPLAY_FLAG] === true) this.deliver(e);
    else if (conn.held.push(e) > this.#holdLimit) {
      conn.held = [];
      conn.overflow = true;
    }
  }

  /** `conn` ended (or must be replaced): the successor is retried later, the current one reconnects. */
  lost(conn: Connection, reason: LostReason, error?: RealtimeError, closeCode?: number): void {
    if (conn.dead) return;
    conn.dispose(4000, reason);
    if (!conn.polling && !conn.live) this.#wsFails++;
    if (error) this.report(error);
    if (conn === this.#next) {
      this.#next = undefined;
      if (this.#conn?.polling) this.#scheduleRotation(this.#conn);
      else this.timers.set('rotate', this.timeoutMs, () => this.#rotate());
    } else if (conn === this.#conn) {
      this.#conn = undefined;
      this.#reconnect(reason, error, closeCode, conn.polling && !conn.live);
    }
  }

  // ------------------------------------------------------------ lifecycle

  dial(reason: 'connect' | 'retry' | 'online' | 'takeover'): void {
    this.#set(reason, { attempt: this.#attempt });
    if (this.state !== 'connecting') return; // a state handler closed the client
    try {
      this.#conn = new Connection(this, this.#via === 'polling');
    } catch (err) {
      const error = new RealtimeError('disconnected', `could not open a socket: ${describe(err)}`, undefined, err);
      this.report(error);
      this.#wsFails++;
      this.#reconnect('socket_closed', error);
    }
  }

  #reconnect(reason: LostReason, error?: RealtimeError, closeCode?: number, pollFailed = false): void {
    this.#next?.dispose();
    this.#next = undefined;
    this.timers.clearAll();
    // Polling after `fallbackAfter` failed WebSocket connects in a row; the WebSocket again after a failed poll.
    this.#via = !this.ws || (!pollFailed && this.#wsFails >= this.#fallbackAfter) ? 'polling' : 'websocket';
    // API Gateway's limits (1001) and an expired session reconnect at once, unless the last connection was short-lived.
    const now = (reason === 'going_away' || reason === 'auth_expired') && this.#attempt === 0;
    const delayMs = now ? 0 : backoff(this.#attempt, this.#initial, this.#max, this.#random);
    this.#attempt++;
    this.#set(reason, { delayMs, attempt: this.#attempt, closeCode, error });
    this.timers.set('retry', delayMs, () => this.dial('retry'));
  }

  #online(): void {
    if (this.timers.has('retry')) {
      this.timers.clear('retry');
      this.dial('online');
    } else if (this.#conn?.live) {
      this.#ping(this.#conn); // the network changed: prove the socket still works
    }
  }

  #shutdown(reason: 'close' | 'fatal', error?: RealtimeError): void {
    if (this.state === 'closed') return;
    this.tabs?.stop();
    this.timers.dispose();
    this.#conn?.dispose();
    this.#next?.dispose();
    this.#conn = this.#next = undefined;
    this.#onlineEvents?.removeEventListener('online', this.#onOnline);
    this.#abort.abort();
    this.#set(reason, { error });
  }

  #set(reason: StateReason, extra: Partial<Omit<StateInfo, 'state' | 'reason' | 'transport'>> = {}): void {
    const state = transition(this.state, reason);
    if (!state) return;
    this.state = state;
    this.stateInfo = { ...extra, state, reason, transport: this.#via, role: this.tabs?.role ?? 'solo' };
    this.tabs?.state();
    this.emit('state', state, this.stateInfo);
  }

  // ------------------------------------------------------------ auth and refresh

  #auth(conn: Connection, token: string, refresh: boolean): void {
    conn.request({ action: Route.auth, token }, T.authSuccess).then(
      (m) => this.#authed(conn, m, refresh),
      (error: RealtimeError) => {
        if (conn.dead) return;
        if (FATAL.includes(error.code)) {
          this.report(error);
          return this.#shutdown('fatal', error);
        }
        if (!refresh) return this.lost(conn, error.code === ErrorCode.internal ? 'server_error' : 'auth_error', error);
        this.report(error);
        this.#retryRefresh(conn);
      },
    );
  }

  #authed(conn: Connection, m: Msg, refresh: boolean): void {
    if (conn.dead) return;
    const d = m.data as AuthSuccessData;
    conn.id = d.connectionId;
    conn.refreshFailures = 0;
    // Both instants are the server's, so the local clock's skew does not matter.
    const ttl = Date.parse(d.expiresAt) - (Date.parse(String(m.timestamp)) || Date.now());
    if (ttl > 0)
      conn.timers.set('refresh', Math.max(ttl - this.#refreshBefore, ttl / 2, 1000), () => void this.#refresh(conn));
    if (refresh) return;
    conn.authed = true;
    conn.timers.set('ping', this.#pingInterval, () => this.#ping(conn));
    if (conn === this.#conn) {
      this.#set('authenticated', { connectionId: d.connectionId });
      this.#scheduleRotation(conn);
    }
    // Requests go out one at a time: the subscription is in place before the resume reads the log.
    // A new connection starts with no filter: the restore is a `subscribe` with the whole filter.
    const wire = this.tabs?.wire() ?? this.subs;
    if (wire.eventTypes.length || wire.sources.length || wire.minPriority !== LOWEST_PRIORITY)
      conn
        .request({ action: Route.subscribe, ...wire }, T.subscribeSuccess)
        .catch((e: RealtimeError) => conn.dead || this.report(e));
    this.#resume(conn, d.lastEventId);
  }

  async #refresh(conn: Connection): Promise<void> {
    const token = await this.fetchToken();
    if (conn.dead) return;
    if (token instanceof RealtimeError) {
      this.report(token);
      return this.#retryRefresh(conn);
    }
    this.#auth(conn, token, true);
  }

  #retryRefresh(conn: Connection): void {
    const delay = backoff(conn.refreshFailures++, this.#initial, this.#max, this.#random);
    conn.timers.set('refresh', delay, () => void this.#refresh(conn));
  }

  #ping(conn: Connection): void {
    const sent = Date.now();
    conn.request({ action: Route.ping }, T.pong).then(
      () => {
        this.emit('pong', Date.now() - sent);
        conn.timers.set('ping', this.#pingInterval, () => this.#ping(conn));
      },
      noop, // a missing pong is handled by the reply deadline
    );
  }

  // ------------------------------------------------------------ resume and delivery

  #resume(conn: Connection, serverLast: string | null): void {
    const from = this.cursor;
    if (typeof from === 'string') {
      this.#page(conn, from, serverLast);
      return;
    }
    if (from === null && serverLast !== null && (conn === this.#conn || this.#conn?.polling)) {
      this.gap({
        code: 'no_resume_point',
        message: 'events were logged while away, with no event id to resume from',
        lastEventId: null,
      });
    }
    // The starting point counts as seen: a later resume's overlap may replay it.
    if (serverLast !== null) this.seen(serverLast);
    this.cursor = serverLast;
    this.#goLive(conn);
  }

  /** One `resume` request; the server answers one page and `more` while the log goes on. */
  #page(conn: Connection, from: string, serverLast: string | null): void {
    conn.request({ action: Route.resume, lastEventId: from }, T.resumeSuccess).then(
      (m) => {
        if (conn.dead) return;
        const d = m.data as ResumeSuccessData;
        if (d.more && d.lastEventId !== from) return this.#page(conn, d.lastEventId, serverLast);
        if (conn.overflow) {
          conn.overflow = false;
          return this.#page(conn, this.cursor ?? from, serverLast);
        }
        if (conn === this.#conn) this.cursor = d.lastEventId;
        this.#goLive(conn);
      },
      (error: RealtimeError) => {
        if (conn.dead) return;
        if (error.code === ResumeErrorCode.rateLimited) {
          const wait = Number(error.data?.retryAfterMs) || this.#initial;
          return conn.timers.set('resume', wait, () => this.#page(conn, from, serverLast));
        }
        if (error.code !== ResumeErrorCode.gap) return this.lost(conn, 'server_error', error);
        this.gap({ code: 'gap', message: error.message, lastEventId: from });
        if (conn === this.#conn) this.cursor = serverLast ?? from;
        this.#goLive(conn);
      },
    );
  }

  gap(info: GapInfo): void {
    this.tabs?.tell({ k: 'g', g: info });
    this.emit('gap', info);
  }

  /** The resume is done: deliver what was held, then frames as they come. */
  #goLive(conn: Connection): void {
    conn.live = true;
    if (!conn.polling) this.#wsFails = 0;
    for (const e of conn.held.splice(0)) {
      if (conn.dead) return;
      this.deliver(e);
    }
    if (conn === this.#conn) {
      this.tabs?.tell({ k: 'c', c: this.cursor });
      this.timers.set('stable', STABLE_AFTER_MS, () => (this.#attempt = 0));
    } else if (conn === this.#next) this.#promote(conn);
  }

  deliver(e: Envelope): void {
    if (this.seen(e.eventId)) return;
    this.cursor = e.eventId;
    this.tabs?.tell({ k: 'e', e });
    // Until the restored filter applies, the server sends every event: filter here too.
    if (passesFilter(this.subs, e)) this.emit('event', e);
  }

  // ------------------------------------------------------------ rotation (make-before-break)

  #scheduleRotation(conn: Connection): void {
    // While polling, a WebSocket on its backoff schedule; the first to authenticate and resume replaces the poll.
    if (conn.polling) {
      if (this.ws)
        this.timers.set('rotate', backoff(this.#wsFails, this.#initial, this.#max, this.#random), () => this.#rotate());
    } else if (this.#rotateAfter > 0)
      this.timers.set('rotate', conn.openedAt + this.#rotateAfter - Date.now(), () => this.#rotate());
  }

  #rotate(): void {
    if (this.#next || this.state !== 'connected') return;
    try {
      this.#next = new Connection(this);
    } catch (err) {
      this.report(new RealtimeError('disconnected', `could not open a socket: ${describe(err)}`, undefined, err));
      this.timers.set('rotate', this.timeoutMs, () => this.#rotate());
    }
  }

  /** The successor is authenticated and resumed: it becomes current, then the old one closes. */
  #promote(conn: Connection): void {
    const old = this.#conn;
    this.#conn = conn;
    this.#next = undefined;
    old?.dispose(1000, 'rotated');
    this.#via = 'websocket';
    this.#set(old?.polling ? 'switched' : 'rotated', { connectionId: conn.id });
    this.#scheduleRotation(conn);
    this.timers.set('stable', STABLE_AFTER_MS, () => (this.#attempt = 0));
  }

  // ------------------------------------------------------------ subscriptions

  /** `subscribe()` (`add`) or `unsubscribe()`: resolves with the event types the server holds after it. */
  async #change(add: boolean, patterns: readonly string[], options?: SubscribeOptions) {
    const change: FilterParts = { eventTypes: patterns, sources: options?.sources, minPriority: options?.minPriority };
    check(change);
    const before = this.subs;
    const after = changeFilter(before, add, change);
    check(after);
    this.subs = after;
    if (this.tabs) return this.tabs.change().then(() => [...after.eventTypes]);
    const sent = this.send(add, change);
    if (!sent) return [...after.eventTypes]; // applied when the next connection authenticates
    try {
      return (await sent).data?.eventTypes as string[];
    } catch (err) {
      const error = err as RealtimeError;
      if (error.code === 'disconnected') return [...this.subs.eventTypes]; // restored on the next connection
      this.subs = before;
      throw error;
    }
  }

  /** Sends `subscribe` (`add`) or `unsubscribe` on the authenticated connections; the current one's reply, if any. */
  send(add: boolean, change: FilterParts): Promise<Msg> | undefined {
    const sent = [this.#conn, this.#next]
      .filter((c): c is Connection => !!c?.authed)
      .map((c) =>
        c.request(
          { action: add ? Route.subscribe : Route.unsubscribe, ...change },
          add ? T.subscribeSuccess : T.unsubscribeSuccess,
        ),
      );
    for (const p of sent.slice(1)) p.catch(noop);
    return sent[0];
  }

  emit<K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]): void {
    for (const fn of [...(this.#handlers.get(name) ?? [])]) {
      try {
        (fn as unknown as (...a: RealtimeEventMap[K]) => void)(...args);
      } catch (cause) {
        const error = new RealtimeError(
          'handler_error',
          `an "${name}" handler threw: ${describe(cause)}`,
          undefined,
          cause,
        );
        if (name !== 'error' && this.#handlers.get('error')?.size) this.emit('error', error);
        else uncaught(error);
      }
    }
  }
}

/** Never swallowed: the platform's error reporting (window `error` event), else the console. */
function uncaught(error: RealtimeError): void {
  ((globalThis as { reportError?: (e: unknown) => void }).reportError ?? console.error)(error);
}

/** Creates a client; call `connect()` to start. */
export function createRealtimeClient(options: RealtimeClientOptions): RealtimeClient {
  return new Client(options);
}
