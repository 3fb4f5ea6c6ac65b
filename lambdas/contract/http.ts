/**
 * The HTTP API's contract: routes, query parameter names, limits, error codes and the shapes of
 * its answers. Imports nothing but other zod-free contract modules, so the client SDK can use it
 * for polling and `client.presence()`; the stack builds its routes from `HTTP_ROUTES`, the local
 * emulator serves the same table, and the `http` handler dispatches on the same route keys.
 */
import { MAX_REPLAY_EVENTS } from './limits.js';
import { AuthErrorCode, type Envelope, ErrorCode, ResumeErrorCode } from './protocol.js';
import { Handler, type HandlerName } from './routes.js';

/** The one method every route answers (API Gateway answers 404 for any other, OPTIONS is CORS). */
export const HTTP_METHOD = 'GET';

export const HttpRoute = {
  health: 'health',
  events: 'events',
  presence: 'presence',
  status: 'status',
} as const;
export type HttpRouteName = (typeof HttpRoute)[keyof typeof HttpRoute];

/** Who may call a route: anyone, any authenticated member of a tenant, or the status role. */
export type HttpAccess = 'public' | 'member' | 'status';

export interface HttpRouteSpec {
  readonly path: `/${string}`;
  readonly method: typeof HTTP_METHOD;
  /** API Gateway's route key: `GET /events`. */
  readonly routeKey: `${typeof HTTP_METHOD} /${string}`;
  readonly access: HttpAccess;
  readonly handler: HandlerName;
}

function route(path: `/${string}`, access: HttpAccess): HttpRouteSpec {
  return { path, method: HTTP_METHOD, routeKey: `${HTTP_METHOD} ${path}`, access, handler: Handler.http };
}

/** Each route's path: what a client needs (the SDK imports this alone; the table below adds the rest). */
export const HttpPath = {
  health: '/health',
  events: '/events',
  presence: '/presence',
  status: '/status',
} as const satisfies Record<HttpRouteName, `/${string}`>;

/** Every HTTP route. `GET /health?deep=1` needs the status role; plain `GET /health` needs nothing. */
export const HTTP_ROUTES: Readonly<Record<HttpRouteName, HttpRouteSpec>> = /* @__PURE__ */ (() => ({
  [HttpRoute.health]: route(HttpPath.health, 'public'),
  [HttpRoute.events]: route(HttpPath.events, 'member'),
  [HttpRoute.presence]: route(HttpPath.presence, 'member'),
  [HttpRoute.status]: route(HttpPath.status, 'status'),
}))();

export const HTTP_ROUTE_NAMES = /* @__PURE__ */ Object.keys(HTTP_ROUTES) as HttpRouteName[];

/** The route a route key (`GET /events`) names, if any. */
export function httpRouteByKey(routeKey: string): HttpRouteName | undefined {
  return HTTP_ROUTE_NAMES.find((name) => HTTP_ROUTES[name].routeKey === routeKey);
}

/**
 * CORS, as API Gateway applies it (it answers preflight requests itself) and as the local
 * emulator applies it: the allowed origins are `allowedOrigins`, or any origin when unset.
 */
export const HTTP_CORS = {
  allowMethods: [HTTP_METHOD, 'OPTIONS'],
  allowHeaders: ['authorization'],
  maxAgeSeconds: 3600,
} as const;

/** Query parameter names. */
export const HttpQuery = {
  /** `GET /events`: the last eventId the client has (any eventId of its tenant is a cursor). */
  after: 'after',
  /** `GET /events`: instead of `after`, every event logged at or after this time (ISO 8601 or epoch ms). */
  since: 'since',
  /** `GET /events`: comma-separated event types or `prefix.*` patterns, as in `subscribe`. */
  types: 'types',
  /** `GET /events`: comma-separated exact EventBridge sources (at most `MAX_FILTER_SOURCES`). */
  sources: 'sources',
  /** `GET /events`: `low`, `normal`, `high` or `critical`: events of at least this priority. */
  minPriority: 'minPriority',
  /** `GET /events`: most events in one answer. */
  limit: 'limit',
  /** `GET /health`: `1` runs a DynamoDB check (status role only). */
  deep: 'deep',
} as const;
export type HttpQueryName = (typeof HttpQuery)[keyof typeof HttpQuery];

/** `GET /events` without `limit`. */
export const DEFAULT_EVENTS_LIMIT = 20;
/** Largest `limit` of `GET /events`. */
export const MAX_EVENTS_LIMIT = 100;
/**
 * Most events after a cursor that one `GET /events` may find for the caller; more is `gap`
 * (refetch state), as for `resume`.
 */
export const MAX_POLL_EVENTS = MAX_REPLAY_EVENTS;
// MAX_POLL_SCAN_EVENTS, most log entries one `GET /events` reads, is in limits.ts (computed from
// MAX_REPLAY_EVENTS there, so the client SDK's bundle, which imports this module, drops it).
/**
 * Most bytes of envelopes in one answer (Lambda's synchronous response limit is 6 MB); a page
 * that would grow past it stops early with `more: true`.
 */
export const MAX_EVENTS_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Role allowed on `GET /status` and `GET /health?deep=1`, unless configured otherwise. */
export const DEFAULT_STATUS_ROLE = 'admin';

/**
 * The `code` of every HTTP error body; the auth codes are `auth.error`'s. (Built in a pure
 * function: bundles that do not use it, such as the client SDK's, drop it.)
 */
export const HttpErrorCode = /* @__PURE__ */ (() =>
  ({
    invalidToken: AuthErrorCode.invalidToken,
    tokenExpired: AuthErrorCode.tokenExpired,
    invalidClaims: AuthErrorCode.invalidClaims,
    /** Authenticated, but the route needs the status role. */
    forbidden: 'forbidden',
    /** A query parameter is malformed; the message names it. */
    badRequest: ErrorCode.badRequest,
    /** Unknown, expired or foreign `after`, `since` older than retention, or too many events missed. */
    gap: ResumeErrorCode.gap,
    internal: ErrorCode.internal,
    /** `GET /health?deep=1`: a dependency failed its check. */
    unavailable: 'unavailable',
  }) as const)();
export type HttpErrorCodeName = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** Every error answer of the handler. */
export interface HttpErrorBody {
  code: HttpErrorCodeName;
  message: string;
}

/** What API Gateway itself answers for an unknown route or a wrong method (404). */
export const NOT_FOUND_BODY = { message: 'Not Found' } as const;

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750): `error` only when a token was sent. */
export function bearerChallenge(tokenPresent: boolean): string {
  return tokenPresent ? 'Bearer error="invalid_token"' : 'Bearer';
}

// ---------------------------------------------------------------- answers

export interface HealthCheck {
  status: 'ok' | 'error';
  latencyMs: number;
  message?: string;
}

export interface HealthResponse {
  status: 'ok' | 'error';
  stage: string;
  version: string;
  /** Only with `deep=1`. */
  checks?: { dynamodb: HealthCheck };
}

export interface EventsResponse {
  /** Envelopes in log order, exactly as live delivery sends them. */
  events: Envelope[];
  /**
   * Poll again from here with `after`: the last event this answer covered (returned or
   * filtered out), `after` itself when nothing was newer, `null` when the tenant has no event.
   */
  lastEventId: string | null;
  /** True when more events follow `lastEventId`: poll again at once. */
  more: boolean;
}

export interface PresenceUser {
  userId: string;
  connections: number;
}

export interface PresenceResponse {
  /** Authenticated connections of the caller's tenant. */
  connections: number;
  /** Per user, sorted by `userId`. */
  users: PresenceUser[];
}

export interface StatusResponse {
  tenantId: string;
  connections: number;
  /** Distinct users with at least one authenticated connection. */
  users: number;
  lastEventId: string | null;
  eventsRetainedHours: number;
}
