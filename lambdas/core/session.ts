/**
 * Connection lifecycle logic: connect, authenticate, ping, subscribe/unsubscribe, resume.
 * Each function takes its dependencies and returns the reply to send (or a connect verdict).
 */
import {
  AuthErrorCode,
  CONNECTION_TTL_SECONDS,
  ErrorCode,
  MAX_EVENT_ID_BYTES,
  MAX_SUBSCRIPTIONS,
  type ServerMessage,
  serverMessage,
} from '../contract/index.js';
import { AuthError } from './errors.js';
import { addPatterns, inAudience, matchesSubscriptions, removePatterns } from './matching.js';
import type { Clock, ConnectionStore, EventLog, Identity, Sender, TokenVerifier } from './ports.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

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

/** What `auth` replies: `auth.success` with the session, or `auth.error` with its code. */
export type AuthReply = ReturnType<typeof serverMessage.authSuccess> | ReturnType<typeof serverMessage.authError>;

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
  // Used only if the record is gone (the store keeps an existing TTL).
  const ttl = seconds(deps.clock()) + CONNECTION_TTL_SECONDS;
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
  // The store's condition (pending, or this same tenant and user) is the one tenant check: no
  // read first, so two racing auth messages cannot both pass it.
  if (!(await deps.store.authenticate(connectionId, identity, ttl))) return mismatch();
  return success;
}

// ---------------------------------------------------------------- subscribe / unsubscribe

export interface SubscribeDeps {
  store: ConnectionStore;
  clock: Clock;
}

/** Adds (`subscribe`) or removes (`unsubscribe`) patterns and replies with the resulting set. */
export async function changeSubscriptions(
  deps: SubscribeDeps,
  connectionId: string,
  mode: 'subscribe' | 'unsubscribe',
  patterns: readonly string[],
): Promise<ServerMessage> {
  const record = await deps.store.get(connectionId);
  if (record?.tenantId === undefined) return notAuthenticated(deps.clock);
  const current = record.subscriptions ?? [];
  const next = mode === 'subscribe' ? addPatterns(current, patterns) : removePatterns(current, patterns);
  if (next.length > MAX_SUBSCRIPTIONS) {
    return serverMessage.error(
      deps.clock(),
      ErrorCode.badRequest,
      `eventTypes: a connection may hold at most ${MAX_SUBSCRIPTIONS} patterns`,
    );
  }
  if (!(await deps.store.setSubscriptions(connectionId, next))) return notAuthenticated(deps.clock);
  return mode === 'subscribe'
    ? serverMessage.subscribeSuccess(deps.clock(), next)
    : serverMessage.unsubscribeSuccess(deps.clock(), next);
}

export function notAuthenticated(clock: Clock): ServerMessage {
  return serverMessage.error(
    clock(),
    ErrorCode.notAuthenticated,
    'authenticate first: {"action":"auth","token":"<JWT>"}',
  );
}

// ---------------------------------------------------------------- resume

export interface ResumeDeps {
  store: ConnectionStore;
  log: EventLog;
  sender: Sender;
  clock: Clock;
  maxReplay: number;
}

/**
 * Replays, in log order, the tenant's events after `lastEventId` that this connection's
 * subscriptions and the events' audiences allow; then replies `resume.success`. An unknown,
 * foreign or expired id, or more than `maxReplay` missed events, answers `resume.error` `gap`.
 */
export async function resume(
  deps: ResumeDeps,
  connectionId: string,
  lastEventId: string,
): Promise<ServerMessage | undefined> {
  const record = await deps.store.get(connectionId);
  if (record?.tenantId === undefined) return notAuthenticated(deps.clock);
  // An id longer than any we issue is unknown by definition (and must not reach the key limit).
  const events =
    new TextEncoder().encode(lastEventId).length > MAX_EVENT_ID_BYTES
      ? undefined
      : await deps.log.after(record.tenantId, lastEventId, deps.maxReplay + 1, seconds(deps.clock()));
  if (events === undefined) {
    return serverMessage.resumeError(
      deps.clock(),
      'unknown or expired lastEventId for this tenant: refetch state, then resume from a newer event',
    );
  }
  if (events.length > deps.maxReplay) {
    return serverMessage.resumeError(deps.clock(), `more than ${deps.maxReplay} events were missed: refetch state`);
  }
  let replayed = 0;
  for (const { envelope, audience } of events) {
    if (!matchesSubscriptions(record.subscriptions, envelope.type) || !inAudience(audience, record)) continue;
    if ((await deps.sender.post(connectionId, JSON.stringify(envelope))) === 'gone') return undefined;
    replayed++;
  }
  return serverMessage.resumeSuccess(deps.clock(), {
    replayed,
    lastEventId: events.at(-1)?.envelope.eventId ?? lastEventId,
    more: false,
  });
}
