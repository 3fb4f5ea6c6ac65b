/**
 * The HTTP API's logic: bearer authentication with the same verifier as the WebSocket `auth`
 * route, the four routes, and the one page function behind `GET /events`. Pure: the handler
 * passes in the verifier, the event log, the connection store, the clock and the settings, and
 * turns the reply into an API Gateway response.
 */
import {
  bearerChallenge,
  type HealthResponse,
  HTTP_ROUTES,
  type HttpErrorBody,
  HttpErrorCode,
  type HttpErrorCodeName,
  HttpQuery,
  HttpRoute,
  httpRouteByKey,
  MAX_TOKEN_LENGTH,
  NOT_FOUND_BODY,
  type PresenceResponse,
  type StatusResponse,
} from '../contract/index.js';
import { AuthError } from './errors.js';
import { DEFAULT_POLL_LIMITS, type PollLimits, parseEventsQuery, pollEvents } from './poll-events.js';
import type { Clock, ConnectionStore, EventLog, EventLogScan, Identity, TokenVerifier } from './ports.js';

export * from './poll-events.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

// ---------------------------------------------------------------- dependencies and shapes

export interface HttpApiSettings {
  /** Deployment stage, reported by `GET /health`. */
  stage: string;
  /** Release, reported by `GET /health`. */
  version: string;
  /** Role a token must hold for `GET /status` and `GET /health?deep=1`. */
  statusRole: string;
  /** How long the event log keeps events: `since` older than this is a gap. */
  eventRetentionHours: number;
}

/** Bounds of one `GET /events`; tests shrink them. */

export interface HttpApiDeps {
  verifier: TokenVerifier;
  log: EventLogScan & Pick<EventLog, 'latest'>;
  /** Only the tenant index query: presence never scans. */
  store: Pick<ConnectionStore, 'recipients'>;
  clock: Clock;
  settings: HttpApiSettings;
  limits?: PollLimits;
}

export interface HttpRequest {
  /** API Gateway's route key, e.g. `GET /events`. */
  routeKey: string;
  /** Header names lowercased (payload 2.0). */
  headers: Readonly<Record<string, string | undefined>>;
  /** Query parameters; repeated keys comma-joined (payload 2.0). */
  query: Readonly<Record<string, string | undefined>>;
}

export interface HttpReply {
  statusCode: number;
  body: object;
  headers?: Record<string, string>;
  /** For the handler's log line: the caller's tenant, once authenticated. */
  tenantId?: string;
  /** For the handler's log line: what failed behind a 503. */
  error?: unknown;
}

function errorReply(statusCode: number, code: HttpErrorCodeName, message: string): HttpReply {
  return { statusCode, body: { code, message } satisfies HttpErrorBody };
}

const badRequest = (message: string) => errorReply(400, HttpErrorCode.badRequest, message);

// ---------------------------------------------------------------- authentication

/**
 * The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or
 * undefined when there is none: no header, another scheme, or nothing after the scheme.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

function unauthorized(tokenPresent: boolean, code: HttpErrorCodeName, message: string): HttpReply {
  return {
    ...errorReply(401, code, message),
    headers: { 'WWW-Authenticate': bearerChallenge(tokenPresent) },
  };
}

const AUTH_CODES = new Set<string>([
  HttpErrorCode.invalidToken,
  HttpErrorCode.tokenExpired,
  HttpErrorCode.invalidClaims,
]);

type Authenticated = { ok: true; identity: Identity } | { ok: false; reply: HttpReply };

/** Verifies the bearer token exactly as the WebSocket `auth` route does (same verifier). */
export async function authenticateRequest(verifier: TokenVerifier, request: HttpRequest): Promise<Authenticated> {
  const token = bearerToken(request.headers.authorization);
  if (token === undefined) {
    return {
      ok: false,
      reply: unauthorized(false, HttpErrorCode.invalidToken, 'send the JWT as "Authorization: Bearer <token>"'),
    };
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    return {
      ok: false,
      reply: unauthorized(true, HttpErrorCode.invalidToken, `token must be at most ${MAX_TOKEN_LENGTH} characters`),
    };
  }
  try {
    return { ok: true, identity: await verifier.verify(token) };
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    const code = AUTH_CODES.has(err.code) ? (err.code as HttpErrorCodeName) : HttpErrorCode.invalidToken;
    return { ok: false, reply: unauthorized(true, code, err.message) };
  }
}

function forbidden(statusRole: string): HttpReply {
  return errorReply(403, HttpErrorCode.forbidden, `this needs the "${statusRole}" role`);
}

// ---------------------------------------------------------------- routes

/** Answers one request; an unknown route key is API Gateway's 404. Unexpected failures throw. */
export async function handleHttpRequest(deps: HttpApiDeps, request: HttpRequest): Promise<HttpReply> {
  const route = httpRouteByKey(request.routeKey);
  if (route === undefined) return { statusCode: 404, body: NOT_FOUND_BODY };
  if (route === HttpRoute.health) return health(deps, request);

  const auth = await authenticateRequest(deps.verifier, request);
  if (!auth.ok) return auth.reply;
  const { identity } = auth;
  const tenantId = identity.tenantId;
  if (HTTP_ROUTES[route].access === 'status' && !identity.roles.includes(deps.settings.statusRole))
    return { ...forbidden(deps.settings.statusRole), tenantId };

  const now = deps.clock();
  switch (route) {
    case HttpRoute.events: {
      const query = parseEventsQuery(request.query);
      if (!query.ok) return { ...badRequest(query.message), tenantId };
      const result = await pollEvents(
        deps.log,
        tenantId,
        {
          types: query.value.types,
          sources: query.value.sources,
          minPriority: query.value.minPriority,
          userId: identity.userId,
          roles: identity.roles,
        },
        query.value,
        now,
        deps.settings.eventRetentionHours,
        deps.limits ?? DEFAULT_POLL_LIMITS,
      );
      if (!result.ok) return { ...errorReply(410, HttpErrorCode.gap, result.message), tenantId };
      return { statusCode: 200, body: result.response, tenantId };
    }
    case HttpRoute.presence:
      return { statusCode: 200, body: await presence(deps.store, tenantId, seconds(now)), tenantId };
    case HttpRoute.status: {
      const [seen, lastEventId] = await Promise.all([
        presence(deps.store, tenantId, seconds(now)),
        deps.log.latest(tenantId, seconds(now)),
      ]);
      const body: StatusResponse = {
        tenantId,
        connections: seen.connections,
        users: seen.users.length,
        lastEventId: lastEventId ?? null,
        eventsRetainedHours: deps.settings.eventRetentionHours,
      };
      return { statusCode: 200, body, tenantId };
    }
  }
}

/**
 * `GET /health`: no database call and no authentication. `deep=1` needs the status role and
 * times one cheap DynamoDB query (the caller's tenant's newest event).
 */
async function health(deps: HttpApiDeps, request: HttpRequest): Promise<HttpReply> {
  const { stage, version, statusRole } = deps.settings;
  const deep = request.query[HttpQuery.deep];
  if (deep !== undefined && deep !== '0' && deep !== '1') return badRequest(`${HttpQuery.deep}: must be 1 or 0`);
  if (deep !== '1') return { statusCode: 200, body: { status: 'ok', stage, version } satisfies HealthResponse };

  const auth = await authenticateRequest(deps.verifier, request);
  if (!auth.ok) return auth.reply;
  const { tenantId, roles } = auth.identity;
  if (!roles.includes(statusRole)) return { ...forbidden(statusRole), tenantId };
  const started = deps.clock();
  try {
    await deps.log.latest(tenantId, seconds(started));
  } catch (error) {
    const check = { status: 'error' as const, latencyMs: deps.clock() - started, message: 'the DynamoDB query failed' };
    return {
      statusCode: 503,
      body: {
        code: HttpErrorCode.unavailable,
        message: 'a dependency failed its check',
        status: 'error',
        stage,
        version,
        checks: { dynamodb: check },
      } satisfies HealthResponse & HttpErrorBody,
      tenantId,
      error,
    };
  }
  const check = { status: 'ok' as const, latencyMs: deps.clock() - started };
  const body: HealthResponse = { status: 'ok', stage, version, checks: { dynamodb: check } };
  return { statusCode: 200, body, tenantId };
}

// ---------------------------------------------------------------- GET /presence

/**
 * The tenant's authenticated connections per user, from the tenant index (a query, never a
 * scan). Connections whose token has expired are about to be closed and are not counted.
 */
export async function presence(
  store: Pick<ConnectionStore, 'recipients'>,
  tenantId: string,
  nowSeconds: number,
): Promise<PresenceResponse> {
  const perUser = new Map<string, number>();
  let connections = 0;
  for await (const page of store.recipients(tenantId)) {
    for (const r of page) {
      if (r.tenantId !== tenantId || r.userId === undefined) continue;
      if (r.tokenExpiresAt !== undefined && r.tokenExpiresAt <= nowSeconds) continue;
      connections++;
      perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    }
  }
  const users = [...perUser.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([userId, count]) => ({ userId, connections: count }));
  return { connections, users };
}
