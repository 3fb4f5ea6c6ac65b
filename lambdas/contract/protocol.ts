/**
 * The wire protocol's plain names: server message types, error codes, the envelope's shape and
 * the builders of every control message. Imports only routes.ts (no zod), so the client SDK can
 * bundle it; the handlers import the same definitions.
 *
 * Every control message is `{type, data, timestamp}`; errors carry `data.code` and `data.message`.
 */
import type { Priority, SubscriptionFilter } from './event-types.js';
import { mockContext, PONG_TEMPLATE, renderMockReply } from './routes.js';

export const ServerMessageType = {
  authSuccess: 'auth.success',
  authError: 'auth.error',
  authExpired: 'auth.expired',
  pong: 'pong',
  subscribeSuccess: 'subscribe.success',
  unsubscribeSuccess: 'unsubscribe.success',
  resumeSuccess: 'resume.success',
  resumeError: 'resume.error',
  error: 'error',
} as const;
export type ServerMessageTypeName = (typeof ServerMessageType)[keyof typeof ServerMessageType];

/** `auth.error` codes. */
export const AuthErrorCode = {
  /** Malformed, bad signature, disallowed algorithm, wrong issuer or audience, not a string. */
  invalidToken: 'invalid_token',
  /** `exp` is in the past (beyond the clock tolerance). `nbf` in the future is `invalid_token`. */
  tokenExpired: 'token_expired',
  /** Missing or invalid tenant claim or `sub`. */
  invalidClaims: 'invalid_claims',
  /** Re-auth on an authenticated connection with another tenant or user. */
  tenantMismatch: 'tenant_mismatch',
  /** Sent just before a pending connection is closed for missing its auth deadline. */
  authTimeout: 'auth_timeout',
} as const;
export type AuthErrorCodeName = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** `error` codes. */
export const ErrorCode = {
  /** Not JSON, not an object, or a field fails its schema (the message names the field). */
  badRequest: 'bad_request',
  /** `action` missing or not a known action. */
  unknownAction: 'unknown_action',
  /** The action needs an authenticated connection. */
  notAuthenticated: 'not_authenticated',
  /** The server could not process the message; the connection stays usable. */
  internal: 'internal_error',
} as const;
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

/** `resume.error` codes. */
export const ResumeErrorCode = {
  /** Unknown id, another tenant's id, older than retention, or more than the replay cap missed. */
  gap: 'gap',
  /** Too many `resume` requests on this connection; retry after `data.retryAfterMs`. */
  rateLimited: 'rate_limited',
} as const;
export type ResumeErrorCodeName = (typeof ResumeErrorCode)[keyof typeof ResumeErrorCode];

/** `auth.expired` reason codes. */
export const ExpiredCode = { tokenExpired: 'token_expired' } as const;

export interface ServerMessage<T extends ServerMessageTypeName = ServerMessageTypeName, D = Record<string, unknown>> {
  type: T;
  data: D;
  timestamp: string;
}

/** Prefix of every event id (followed by the EventBridge event id). */
export const EVENT_ID_PREFIX = 'evt_';

/**
 * Extra envelope field set to `true` on the frames a `resume` replays, so a client can tell
 * them from live frames that arrive while the replay is still running. Live frames omit it.
 */
export const REPLAY_FLAG = 'replay';

/** What every client receives for a domain event (seed 002's five fields). */
export interface Envelope<T extends string = string, D = Record<string, unknown>> {
  /** The EventBridge detail-type, dot notation. */
  type: T;
  /** The EventBridge detail, unchanged but for the reserved `audience` key. */
  data: D;
  /** Event time, ISO 8601. */
  timestamp: string;
  /** Stable id: the same for every delivery of one EventBridge event; a resume point. */
  eventId: string;
  tenantId: string;
  /** The EventBridge `source` (absent only on events logged before sources were recorded). */
  source?: string;
  /** `detail.priority`, or `normal` when the event named none (absent only on older logged events: `normal`). */
  priority?: Priority;
  /** Present (`true`) only on frames replayed by `resume`. */
  [REPLAY_FLAG]?: true;
}

export type AuthSuccessData = {
  connectionId: string;
  tenantId: string;
  userId: string;
  expiresAt: string;
  /** The tenant's newest logged event when the connection became visible to fan-out, or null. */
  lastEventId: string | null;
};

export type ResumeSuccessData = {
  /** Envelopes replayed by this `resume` (one page). */
  replayed: number;
  /** Continue from here: the last replayed envelope's id, or the cursor when none was replayed. */
  lastEventId: string;
  /** True when more events follow: send `resume` again from `lastEventId`. */
  more: boolean;
};

const at = (now: number) => new Date(now).toISOString();

/** Builders for every control message; `now` is epoch milliseconds. */
export const serverMessage = {
  authSuccess: (now: number, data: AuthSuccessData) =>
    ({ type: ServerMessageType.authSuccess, data, timestamp: at(now) }) satisfies ServerMessage,
  authError: (now: number, code: AuthErrorCodeName, message: string) =>
    ({ type: ServerMessageType.authError, data: { code, message }, timestamp: at(now) }) satisfies ServerMessage,
  authExpired: (now: number, message = 'The token has expired; reconnect and authenticate again.') =>
    ({
      type: ServerMessageType.authExpired,
      data: { code: ExpiredCode.tokenExpired, message },
      timestamp: at(now),
    }) satisfies ServerMessage,
  /** What API Gateway's MOCK integration answers (`PONG_TEMPLATE` in routes.ts). */
  pong: (now: number) => JSON.parse(renderMockReply(PONG_TEMPLATE, mockContext(now))) as ServerMessage,
  /** `data` is the connection's filter after the change. */
  subscribeSuccess: (now: number, filter: SubscriptionFilter) =>
    ({ type: ServerMessageType.subscribeSuccess, data: filter, timestamp: at(now) }) satisfies ServerMessage,
  unsubscribeSuccess: (now: number, filter: SubscriptionFilter) =>
    ({ type: ServerMessageType.unsubscribeSuccess, data: filter, timestamp: at(now) }) satisfies ServerMessage,
  resumeSuccess: (now: number, data: ResumeSuccessData) =>
    ({ type: ServerMessageType.resumeSuccess, data, timestamp: at(now) }) satisfies ServerMessage,
  resumeError: (now: number, message: string) =>
    ({
      type: ServerMessageType.resumeError,
      data: { code: ResumeErrorCode.gap, message },
      timestamp: at(now),
    }) satisfies ServerMessage,
  resumeRateLimited: (now: number, retryAfterMs: number) =>
    ({
      type: ServerMessageType.resumeError,
      data: {
        code: ResumeErrorCode.rateLimited,
        message: `Too many resume requests on this connection; retry in ${retryAfterMs} ms.`,
        retryAfterMs,
      },
      timestamp: at(now),
    }) satisfies ServerMessage,
  error: (now: number, code: ErrorCodeName, message: string) =>
    ({ type: ServerMessageType.error, data: { code, message }, timestamp: at(now) }) satisfies ServerMessage,
};
