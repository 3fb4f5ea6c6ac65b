/** The connection state machine as data: which reason moves which state where. */

export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'connected' | 'reconnecting' | 'closed';

/** Why the connection was lost; the client reconnects after each of these. */
export type LostReason =
  /** The socket closed (see `closeCode`): the server, the network, or a delivery the server gave up on. */
  | 'socket_closed'
  /** Close code 1001: API Gateway's idle or 2-hour limit, or a server shutdown. Reconnects at once. */
  | 'going_away'
  /** No socket open, reply or `pong` within `timeoutMs`: treated as half-open and replaced. */
  | 'timeout'
  /** `auth.error` that a new token may fix (`invalid_token`, `token_expired`, `auth_timeout`). */
  | 'auth_error'
  /** `auth.expired`: the session outlived its token (a refresh failed or came too late). */
  | 'auth_expired'
  /** `getToken()` threw or rejected. */
  | 'token_error'
  /** The server could not serve a request the connection depends on (`internal_error`). */
  | 'server_error';

export type StateReason =
  /** `connect()`: idle → connecting. */
  | 'connect'
  /** The backoff delay ran out: reconnecting → connecting. */
  | 'retry'
  /** The platform reported `online` while waiting to reconnect: reconnecting → connecting at once. */
  | 'online'
  /** `shareAcrossTabs`: the leader tab went away and this tab took the lock; it connects now (→ connecting). */
  | 'takeover'
  /** The socket opened: connecting → authenticating. */
  | 'open'
  /** `auth.success`: authenticating → connected. */
  | 'authenticated'
  /** Make-before-break rotation: connected stays connected, on a new connection. */
  | 'rotated'
  /** Polling → WebSocket: a WebSocket authenticated and resumed, then polling stopped; connected stays connected. */
  | 'switched'
  | LostReason
  /** `close()`: any state → closed. */
  | 'close'
  /** An error no retry can fix (`invalid_claims`, `tenant_mismatch`): see `info.error` → closed. */
  | 'fatal';

const live: readonly ConnectionState[] = ['connecting', 'authenticating', 'connected'];
const notClosed: readonly ConnectionState[] = ['idle', 'connecting', 'authenticating', 'connected', 'reconnecting'];

/** For each reason: the target state and the states it may leave. */
const TABLE: Record<StateReason, readonly [ConnectionState, readonly ConnectionState[]]> = {
  connect: ['connecting', ['idle']],
  retry: ['connecting', ['reconnecting']],
  online: ['connecting', ['reconnecting']],
  takeover: ['connecting', notClosed],
  open: ['authenticating', ['connecting']],
  authenticated: ['connected', ['authenticating']],
  rotated: ['connected', ['connected']],
  switched: ['connected', ['connected']],
  socket_closed: ['reconnecting', live],
  going_away: ['reconnecting', live],
  timeout: ['reconnecting', live],
  auth_error: ['reconnecting', live],
  auth_expired: ['reconnecting', live],
  token_error: ['reconnecting', live],
  server_error: ['reconnecting', live],
  close: ['closed', notClosed],
  fatal: ['closed', notClosed],
};

/** The pure reducer: the next state, or undefined when `reason` does not apply to `state`. */
export function transition(state: ConnectionState, reason: StateReason): ConnectionState | undefined {
  const [to, from] = TABLE[reason];
  return from.includes(state) ? to : undefined;
}
