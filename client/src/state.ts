/** The connection state machine: which reason moves which state where (`transition`, a pure function). */

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

/** The pure reducer: the next state, or undefined when `reason` does not apply to `state`. */
export function transition(state: ConnectionState, reason: StateReason): ConnectionState | undefined {
  if (state === 'closed') return; // final
  switch (reason) {
    case 'close':
    case 'fatal':
      return 'closed';
    case 'takeover':
      return 'connecting';
    case 'connect':
      return state === 'idle' ? 'connecting' : undefined;
    case 'retry':
    case 'online':
      return state === 'reconnecting' ? 'connecting' : undefined;
    case 'open':
      return state === 'connecting' ? 'authenticating' : undefined;
    case 'authenticated':
      return state === 'authenticating' ? 'connected' : undefined;
    case 'rotated':
    case 'switched':
      return state === 'connected' ? state : undefined;
    default:
      // The rest are the reasons a connection is lost (a new reason must be one, or get a case),
      // from connecting, authenticating or connected (closed returned above).
      reason satisfies LostReason;
      return state === 'idle' || state === 'reconnecting' ? undefined : 'reconnecting';
  }
}
