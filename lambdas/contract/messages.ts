/**
 * Client → server messages (schemas) and server → client control messages (builders).
 * Every control message is `{type, data, timestamp}`; errors carry `data.code` and `data.message`.
 */
import * as z from 'zod';
import { SubscriptionPatternSchema } from './catalog.js';
import { MAX_SUBSCRIPTIONS, MAX_TOKEN_LENGTH } from './limits.js';
import { Route } from './routes.js';

// ---------------------------------------------------------------- client → server

export const AuthMessageSchema = z.object({
  action: z.literal(Route.auth),
  token: z.string().min(1, 'must not be empty').max(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`),
});
export const PingMessageSchema = z.object({ action: z.literal(Route.ping) });
export const SubscribeMessageSchema = z.object({
  action: z.literal(Route.subscribe),
  eventTypes: z
    .array(SubscriptionPatternSchema)
    .max(MAX_SUBSCRIPTIONS, `must hold at most ${MAX_SUBSCRIPTIONS} patterns`),
});
export const UnsubscribeMessageSchema = z.object({
  action: z.literal(Route.unsubscribe),
  eventTypes: z
    .array(SubscriptionPatternSchema)
    .max(MAX_SUBSCRIPTIONS, `must hold at most ${MAX_SUBSCRIPTIONS} patterns`),
});
export const ResumeMessageSchema = z.object({
  action: z.literal(Route.resume),
  lastEventId: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters'),
});

export const ClientMessageSchema = z.discriminatedUnion('action', [
  AuthMessageSchema,
  PingMessageSchema,
  SubscribeMessageSchema,
  UnsubscribeMessageSchema,
  ResumeMessageSchema,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type AuthMessage = z.infer<typeof AuthMessageSchema>;
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessageSchema>;
export type ResumeMessage = z.infer<typeof ResumeMessageSchema>;

/** The schema of each action's frame. */
export const ACTION_SCHEMAS = {
  [Route.auth]: AuthMessageSchema,
  [Route.ping]: PingMessageSchema,
  [Route.subscribe]: SubscribeMessageSchema,
  [Route.unsubscribe]: UnsubscribeMessageSchema,
  [Route.resume]: ResumeMessageSchema,
} as const;

// ---------------------------------------------------------------- server → client

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
} as const;

/** `auth.expired` reason codes. */
export const ExpiredCode = { tokenExpired: 'token_expired' } as const;

export interface ServerMessage<T extends ServerMessageTypeName = ServerMessageTypeName, D = Record<string, unknown>> {
  type: T;
  data: D;
  timestamp: string;
}

export interface ErrorData<C extends string = string> {
  code: C;
  message: string;
}

const at = (now: number) => new Date(now).toISOString();

/** Builders for every control message; `now` is epoch milliseconds. */
export const serverMessage = {
  /**
   * `lastEventId` is the tenant's newest logged event when the connection became visible to
   * fan-out (null if none): a resume point for a client that has not received anything yet.
   */
  authSuccess: (
    now: number,
    data: { connectionId: string; tenantId: string; userId: string; expiresAt: string; lastEventId: string | null },
  ) => ({ type: ServerMessageType.authSuccess, data, timestamp: at(now) }) satisfies ServerMessage,
  authError: (now: number, code: AuthErrorCodeName, message: string) =>
    ({ type: ServerMessageType.authError, data: { code, message }, timestamp: at(now) }) satisfies ServerMessage,
  authExpired: (now: number, message = 'The token has expired; reconnect and authenticate again.') =>
    ({
      type: ServerMessageType.authExpired,
      data: { code: ExpiredCode.tokenExpired, message },
      timestamp: at(now),
    }) satisfies ServerMessage,
  pong: (now: number) => ({ type: ServerMessageType.pong, data: {}, timestamp: at(now) }) satisfies ServerMessage,
  subscribeSuccess: (now: number, eventTypes: string[]) =>
    ({ type: ServerMessageType.subscribeSuccess, data: { eventTypes }, timestamp: at(now) }) satisfies ServerMessage,
  unsubscribeSuccess: (now: number, eventTypes: string[]) =>
    ({ type: ServerMessageType.unsubscribeSuccess, data: { eventTypes }, timestamp: at(now) }) satisfies ServerMessage,
  resumeSuccess: (now: number, replayed: number, lastEventId: string) =>
    ({
      type: ServerMessageType.resumeSuccess,
      data: { replayed, lastEventId },
      timestamp: at(now),
    }) satisfies ServerMessage,
  resumeError: (now: number, message: string) =>
    ({
      type: ServerMessageType.resumeError,
      data: { code: ResumeErrorCode.gap, message },
      timestamp: at(now),
    }) satisfies ServerMessage,
  error: (now: number, code: ErrorCodeName, message: string) =>
    ({ type: ServerMessageType.error, data: { code, message }, timestamp: at(now) }) satisfies ServerMessage,
};
