/**
 * Connection lifecycle logic: connect, authenticate, subscribe/unsubscribe (the filter; resume is in
 * `replay.ts`). Each function takes its dependencies and returns the reply to send (or a connect
 * verdict). Every action of an authenticated connection whose token has expired is refused with
 * `auth.expired`: the record is then due in the sweep index, and the sweeper (or `resume`, which
 * may manage connections) closes it.
 */
import {
  AuthErrorCode,
  CONNECTION_TTL_SECONDS,
  type ConnectionRecord,
  ErrorCode,
  type FilterChange,
  MAX_FILTER_SOURCES,
  MAX_SUBSCRIPTIONS,
  type ServerMessage,
  serverMessage,
} from '../contract/index.js';
import { AuthError } from './errors.js';
import { changeFilter, connectionTarget } from './matching.js';
import type { Clock, ConnectionStore, EventLog, Identity, TokenVerifier } from './ports.js';

export const seconds = (ms: number) => Math.floor(ms / 1000);

/** An authenticated record whose token expired at or before `nowSeconds` (as fan-out judges it). */
export function isExpired(record: ConnectionRecord, nowSeconds: number): boolean {
  return record.tenantId !== undefined && record.tokenExpiresAt !== undefined && record.tokenExpiresAt <= nowSeconds;
}

/** The connection's session, or the reply that refuses the action. */
export type Session =
  | { ok: true; record: ConnectionRecord & { tenantId: string } }
  | { ok: false; expired: boolean; reply: ServerMessage };

/** Reads the record: not authenticated → `not_authenticated`; token expired → `auth.expired`. */
export async function session(store: ConnectionStore, clock: Clock, connectionId: string): Promise<Session> {
  const record = await store.get(connectionId);
  if (record?.tenantId === undefined) return { ok: false, expired: false, reply: notAuthenticated(clock) };
  if (isExpired(record, seconds(clock())))
    return { ok: false, expired: true, reply: serverMessage.authExpired(clock()) };
  return { ok: true, record: record as ConnectionRecord & { tenantId: string } };
}

// ---------------------------------------------------------------- $connect

export interface ConnectDeps {
  store: ConnectionStore;
  clock: Clock;
  authTimeoutSeconds: number;
  /** Allowed `Origin` values; empty means any. */
  allowedOrigins: readonly string[];
}

export type ConnectVerdict = { accepted: true } | { accepted: false; statusCode: 403; reason: string };

/** Refuses a disallowed Origin; otherwise records the connection as pending. */
export async function connect(
  deps: ConnectDeps,
  connectionId: string,
  origin: string | undefined,
): Promise<ConnectVerdict> {
  if (deps.allowedOrigins.length > 0 && (origin === undefined || !deps.allowedOrigins.includes(origin))) {
    return { accepted: false, statusCode: 403, reason: origin === undefined ? 'missing Origin' : 'Origin not allowed' };
  }
  const now = seconds(deps.clock());
  const authDeadline = now + deps.authTimeoutSeconds;
  await deps.store.putPending({ connectionId, connectedAt: now, authDeadline, ttl: now + CONNECTION_TTL_SECONDS });
  return { accepted: true };
}

// ---------------------------------------------------------------- auth

export interface AuthDeps {
  store: ConnectionStore;
  log: EventLog;
  verifier: TokenVerifier;
  clock: Clock;
}

/**
 * What `auth` replies: `auth.success` with the session, `auth.error` with its code, or
 * `auth.expired` when it tries to refresh a session that has already expired.
 */
export type AuthReply =
  | ReturnType<typeof serverMessage.authSuccess>
  | ReturnType<typeof serverMessage.authError>
  | ReturnType<typeof serverMessage.authExpired>;

/** Verifies the token and authenticates (or refreshes) the connection. */
export async function authenticate(deps: AuthDeps, connectionId: string, token: string): Promise<AuthReply> {
  let identity: Identity;
  try {
    identity = await deps.verifier.verify(token);
  } catch (err) {
    if (err instanceof AuthError) return serverMessage.authError(deps.clock(), err.code, err.message);
    throw err;
  }
  const mismatch = () =>
    serverMessage.authError(
      deps.clock(),
      AuthErrorCode.tenantMismatch,
      'this connection is authenticated as another tenant or user; open a new connection',
    );
  // Read the resume point before the connection becomes visible to fan-out: every later event
  // is then either delivered live or replayable with `resume` from this id.
  const lastEventId = (await deps.log.latest(identity.tenantId, seconds(deps.clock()))) ?? null;
  // Build the reply before changing state, so nothing can fail between the write and the reply.
  const success = serverMessage.authSuccess(deps.clock(), {
    connectionId,
    tenantId: identity.tenantId,
    userId: identity.userId,
    expiresAt: new Date(identity.expiresAt * 1000).toISOString(),
    lastEventId,
  });
  // The store's condition (pending, or this same tenant and user with a live session) is the one
  // tenant check: no read first, so two racing auth messages cannot both pass it.
  const outcome = await deps.store.authenticate(connectionId, identity, seconds(deps.clock()));
  if (outcome === 'authenticated') return success;
  if (outcome === 'mismatch') return mismatch();
  if (outcome === 'expired') return serverMessage.authExpired(deps.clock());
  // The record is gone (deleted at the auth deadline, or on $disconnect) or marked broken: this
  // connection is being closed by the server; auth must not bring it back.
  return serverMessage.authError(
    deps.clock(),
    AuthErrorCode.authTimeout,
    'this connection has been closed by the server; open a new connection and authenticate',
  );
}

// ---------------------------------------------------------------- subscribe / unsubscribe

export interface SubscribeDeps {
  store: ConnectionStore;
  clock: Clock;
}

/** Read-modify-write attempts before a filter change gives up on concurrent changes. */
export const SUBSCRIBE_ATTEMPTS = 5;

/**
 * Applies a `subscribe` or `unsubscribe` to the connection's filter (event types, sources, minimum
 * priority) and replies with the resulting filter. The write is conditional on the filter's
 * version as read, so two concurrent changes cannot lose one another: the loser reads again and
 * reapplies its change. A resulting set over its cap is refused, naming the field.
 */
export async function changeSubscriptions(
  deps: SubscribeDeps,
  connectionId: string,
  mode: 'subscribe' | 'unsubscribe',
  change: FilterChange,
): Promise<ServerMessage> {
  for (let attempt = 0; attempt < SUBSCRIBE_ATTEMPTS; attempt++) {
    const current = await session(deps.store, deps.clock, connectionId);
    if (!current.ok) return current.reply;
    const { record } = current;
    const next = changeFilter(connectionTarget(record), mode === 'subscribe', change);
    if (next.eventTypes.length > MAX_SUBSCRIPTIONS) {
      return serverMessage.error(
        deps.clock(),
        ErrorCode.badRequest,
        `eventTypes: a connection may hold at most ${MAX_SUBSCRIPTIONS} patterns`,
      );
    }
    if (next.sources.length > MAX_FILTER_SOURCES) {
      return serverMessage.error(
        deps.clock(),
        ErrorCode.badRequest,
        `sources: a connection may hold at most ${MAX_FILTER_SOURCES} sources`,
      );
    }
    const version = record.subscriptionsVersion ?? 0;
    if (await deps.store.setFilter(connectionId, next, version, seconds(deps.clock()))) {
      return mode === 'subscribe'
        ? serverMessage.subscribeSuccess(deps.clock(), next)
        : serverMessage.unsubscribeSuccess(deps.clock(), next);
    }
    // The filter changed, the session expired or the record went away since the read: read again.
  }
  return serverMessage.error(
    deps.clock(),
    ErrorCode.internal,
    'the subscriptions kept changing concurrently; send the change again',
  );
}

export function notAuthenticated(clock: Clock): ServerMessage {
  return serverMessage.error(
    clock(),
    ErrorCode.notAuthenticated,
    'authenticate first: {"action":"auth","token":"<JWT>"}',
  );
}
