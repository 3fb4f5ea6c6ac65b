/** Named errors that keep the original as `cause`. */
import type { AuthErrorCodeName } from '../contract/index.js';

/** A token was refused. `message` is safe to show the client; it never contains the token. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCodeName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A PostToConnection/DeleteConnection call failed for a reason other than 410 Gone. */
export class SendError extends Error {
  override readonly name = 'SendError';
  constructor(
    message: string,
    /** HTTP status, when there was a response. */
    readonly status: number | undefined,
    /** Throttling (429) and server errors (5xx) are worth retrying. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuration is missing or malformed; names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Connections missed an event for good and could be neither closed nor marked broken (DynamoDB
 * failed too): the broadcast fails so that it is retried, rather than leave them receiving later
 * events as if nothing happened.
 */
export class UnresolvedDeliveryError extends Error {
  override readonly name = 'UnresolvedDeliveryError';
  constructor(
    readonly connectionIds: readonly string[],
    cause: unknown,
  ) {
    super(`${connectionIds.length} connection(s) missed the event and could not be closed or marked`, { cause });
  }
}
