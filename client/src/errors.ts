import {
  type AuthErrorCodeName,
  ErrorCode,
  type ErrorCodeName,
  type HttpErrorCodeName,
  type ResumeErrorCodeName,
} from '../../lambdas/contract/plain.js';

/** Codes the client raises itself (the others are the server's own codes). */
export type ClientErrorCode =
  /** `getToken()` threw or rejected. */
  | 'token_error'
  /** No socket open, reply or `pong` within `timeoutMs`. */
  | 'timeout'
  /** An `on…` handler threw; the original is the `cause`. */
  | 'handler_error'
  /** A frame that is not a JSON object. */
  | 'protocol_error'
  /** The connection a request was sent on ended before its reply; an HTTP request got no answer. */
  | 'disconnected';

export type RealtimeErrorCode =
  | AuthErrorCodeName
  | ErrorCodeName
  | ResumeErrorCodeName
  /** `presence()`: the HTTP API's codes (`forbidden`, `unavailable` besides the ones above). */
  | HttpErrorCodeName
  | ClientErrorCode;

/** Every error the client reports: `code` is the server's code or a client-side one. */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  // Declared, not defined: the constructor assigns them (and the bundle carries no field list).
  declare readonly code: RealtimeErrorCode;
  /** The server message's `data`, when the error came from the server. */
  declare readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: RealtimeErrorCode, message: string, data?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.data = data;
  }
}

/**
 * The error a server's answer describes (an error frame's `data`, an HTTP error body): its `code`
 * (`internal_error` when it has none) and `message` (else `fallback`, else the code).
 */
export function serverError(body: Record<string, unknown> | null | undefined, fallback?: unknown): RealtimeError {
  const code = (typeof body?.code === 'string' ? body.code : ErrorCode.internal) as RealtimeErrorCode;
  return new RealtimeError(code, String(body?.message ?? fallback ?? code), body ?? undefined);
}
