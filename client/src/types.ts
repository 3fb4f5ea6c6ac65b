/** The client's public types. Protocol types come from the contract (`lambdas/contract/plain.ts`). */
import type {
  BaseDetail,
  Envelope,
  EventDetailMap,
  KnownEventType,
  PresenceResponse,
  Priority,
  SubscriptionFilter,
} from '../../lambdas/contract/plain.js';
import type { RealtimeError } from './errors.js';
import type { FetchLike } from './polling.js';
import type { ConnectionState, StateReason } from './state.js';
import type { TransportName, WebSocketConstructor } from './transport.js';

export interface RealtimeClientOptions {
  /** The stack's `WebSocketUrl` output (`wss://…/prod`), or `ws://localhost:3001` for `npm start`. Required unless `transport` is `'polling'`. */
  readonly url?: string | undefined;
  /** Returns a JWT. Called for every auth: each (re)connect and each refresh. */
  readonly getToken: () => string | Promise<string>;
  /** Server-side subscription (exact types or `prefix.*`), restored after every reconnect. @default every type */
  readonly eventTypes?: readonly string[];
  /** Exact EventBridge sources to receive (at most 20), restored after every reconnect. @default every source */
  readonly sources?: readonly string[];
  /** The lowest priority to receive (`low`, `normal`, `high`, `critical`), restored after every reconnect. @default 'low' (every event) */
  readonly minPriority?: Priority;
  /** Resume point: the `eventId` of the last event the app processed (e.g. saved in storage). */
  readonly lastEventId?: string;
  /** WebSocket constructor, for runtimes without a global one (Node 20: `ws`) and tests. @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /** First reconnect delay cap; the delay doubles per failed attempt, with full jitter. @default 500 */
  readonly initialDelayMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxDelayMs?: number;
  /** Re-authenticate on the open connection this long before the token's `expiresAt`. @default 60000 */
  readonly refreshBeforeMs?: number;
  /** Application ping interval (API Gateway closes connections idle for 10 minutes). @default 480000 */
  readonly pingIntervalMs?: number;
  /** Longest wait for the socket to open or for any reply (including `pong`) before replacing the connection. @default 10000 */
  readonly timeoutMs?: number;
  /** How many recent event ids are remembered to drop duplicates. @default 1000 */
  readonly dedupeWindow?: number;
  /**
   * Age at which a connection is replaced make-before-break (a new one authenticates and resumes
   * before the old one closes), ahead of API Gateway's 2-hour limit. `0` disables. @default 115 minutes
   */
  readonly rotateAfterMs?: number;
  /** Source of the `online` event that triggers an immediate reconnect; `null` disables. @default globalThis, when it has one */
  readonly onlineEvents?: OnlineEventTarget | null;
  /** Random numbers in [0, 1) for the backoff jitter. @default Math.random */
  readonly random?: () => number;
  // ---- HTTP polling fallback and presence (polling.ts)
  /** The stack's `HttpApiUrl` output, or `http://localhost:3003` for `npm start`: enables the polling fallback and `presence()`. */
  readonly httpUrl?: string | undefined;
  /**
   * `'auto'`: the WebSocket, falling back to polling `httpUrl` (when set) after `fallbackAfterAttempts`
   * failed connects in a row, and back to the WebSocket as soon as one connects; `'websocket'`: never
   * polls; `'polling'`: polls from the start and never opens a socket (`url` not needed). @default 'auto'
   */
  readonly transport?: 'auto' | 'websocket' | 'polling';
  /** Consecutive failed WebSocket connects after which `'auto'` polls. @default 3 */
  readonly fallbackAfterAttempts?: number;
  /** Pause between polls of `GET /events` (none while an answer says `more`). @default 5000 */
  readonly pollIntervalMs?: number;
  /** `fetch` for polling and `presence()` (tests, or a runtime without a global one). @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /**
   * One connection for all tabs of this origin with the same `url` and user: they elect a leader
   * with a Web Lock, and only the leader holds a socket; the others get its states and events
   * over a BroadcastChannel (`info.role`). `true` keys the lock by the first token's claims
   * (decoded, not verified) minus `iat`, `exp`, `nbf` and `jti`; a string is used as that key
   * instead. Without Web Locks or BroadcastChannel, or if that token is not a JWT, each tab
   * keeps its own connection. @default false
   */
  readonly shareAcrossTabs?: boolean | string;
}

/** The filter parts `subscribe()` and `unsubscribe()` take besides the event types. */
export interface SubscribeOptions {
  /** Sources added (`subscribe`) or removed (`unsubscribe`); an empty set means every source. */
  readonly sources?: readonly string[];
  /** Replaces the lowest priority received, in either call. */
  readonly minPriority?: Priority;
}

export interface OnlineEventTarget {
  addEventListener(type: 'online', listener: () => void): void;
  removeEventListener(type: 'online', listener: () => void): void;
}

/** Reported with every state change; new fields may be added (e.g. by other transports). */
export interface StateInfo {
  readonly state: ConnectionState;
  readonly reason: StateReason;
  /** The connection's transport; while `reconnecting`, the next attempt's. */
  readonly transport: TransportName;
  /** The server's connection id (`connected` over the WebSocket; polling has none). */
  readonly connectionId?: string | undefined;
  /** Close code of the socket that ended (`reconnecting`). */
  readonly closeCode?: number | undefined;
  /** What went wrong (`reconnecting`, `closed` with reason `fatal`). */
  readonly error?: RealtimeError | undefined;
  /** Delay before the next attempt (`reconnecting`). */
  readonly delayMs?: number | undefined;
  /** Consecutive attempts without a stable connection (`connecting`, `reconnecting`). */
  readonly attempt?: number | undefined;
  /**
   * `solo`: this client's own connection. With `shareAcrossTabs`: `leader` (this tab holds the
   * shared connection) or `follower` (the state is the leader's, and `connectionId` its connection).
   */
  readonly role: 'solo' | 'leader' | 'follower';
}

export interface GapInfo {
  /** `gap`: the server could not replay (unknown or expired id, too many missed events).
   *  `no_resume_point`: events were logged while away but the client had no event id to resume from. */
  readonly code: 'gap' | 'no_resume_point';
  readonly message: string;
  /** The resume point that could not be filled. */
  readonly lastEventId: string | null;
}

export interface RealtimeEventMap {
  state: [state: ConnectionState, info: StateInfo];
  event: [envelope: Envelope];
  gap: [info: GapInfo];
  error: [error: RealtimeError];
  /** A `pong` answered this client's ping (every `pingIntervalMs`): the round trip in ms. */
  pong: [roundTripMs: number];
}

type Known = KnownEventType;
type KnownEnvelope<K> = K extends Known ? Envelope<K, EventDetailMap[K]> : never;

/**
 * The envelope a pattern receives: a catalog type's own data; for `prefix.*`, the catalog's
 * types under the prefix (other types under it are delivered too, typed by the catalog's base).
 */
export type EventFor<P extends string> = P extends Known
  ? KnownEnvelope<P>
  : P extends `${infer Prefix}.*`
    ? [Extract<Known, `${Prefix}.${string}`>] extends [never]
      ? Envelope<string, BaseDetail>
      : KnownEnvelope<Extract<Known, `${Prefix}.${string}`>>
    : Envelope<P, BaseDetail>;

/** An event type or pattern, with the catalog's types offered first. */
export type EventPattern = Known | `${string}.*` | (string & {});

export interface RealtimeClient {
  /** The current state; see `on('state')`. */
  readonly state: ConnectionState;
  /** The last state change's details (the same object `on('state')` received). */
  readonly stateInfo: StateInfo;
  /** The resume point: the last event delivered, or the server's newest when none was yet. Save it to resume after a reload. */
  readonly lastEventId: string | undefined;
  /** The server's id of the current connection, once authenticated (undefined while polling). */
  readonly connectionId: string | undefined;
  /** The transport in use, as in `stateInfo.transport`: `'websocket'` or `'polling'`. */
  readonly transport: TransportName;
  /** The server-side subscription set (empty: every event type): `filter.eventTypes`. */
  readonly subscriptions: readonly string[];
  /** The whole server-side filter: event types, sources (empty: every source) and the lowest priority. */
  readonly filter: SubscriptionFilter;
  /** Subscribes to a client event; returns a function that unsubscribes. */
  on<K extends keyof RealtimeEventMap>(name: K, handler: (...args: RealtimeEventMap[K]) => void): () => void;
  /** Events of one type or pattern (`goal.created`, `goal.*`), typed from the catalog. Local filter only. */
  onEvent<P extends EventPattern>(pattern: P, handler: (envelope: EventFor<P>) => void): () => void;
  /** Starts connecting (from `idle` only; otherwise does nothing). */
  connect(): void;
  /** Final: closes the socket and clears every timer and listener of the platform. */
  close(): void;
  /**
   * Adds patterns (and `sources`) to the server-side filter, and sets `minPriority` when given;
   * resolves with the resulting event types (the whole filter is `filter`).
   */
  subscribe(patterns: readonly string[], options?: SubscribeOptions): Promise<string[]>;
  /** Removes patterns (and `sources`), and sets `minPriority` when given; an empty set means every event type (or source) again. */
  unsubscribe(patterns: readonly string[], options?: SubscribeOptions): Promise<string[]>;
  /**
   * `GET /presence` on `httpUrl` with a fresh token: the tenant's authenticated connections per user.
   * Rejects with a `RealtimeError` carrying the server's code (`disconnected` when no answer came).
   */
  presence(): Promise<PresenceResponse>;
}
