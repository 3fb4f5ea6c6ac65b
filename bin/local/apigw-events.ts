/**
 * API Gateway WebSocket: ids, route selection and the Lambda proxy events, shaped like the ones
 * API Gateway sends (CONNECT carries the handshake headers and query string, MESSAGE the frame,
 * DISCONNECT the close code and reason); how it reads a handler's result; the close codes and
 * reasons it uses.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { MOCK_ROUTES, ROUTES, Route, type RouteKey, requestTime } from '../../lambdas/contract/index.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * An id shaped like API Gateway's connection, request and message ids: 15 base64-like
 * characters and a trailing `=` (e.g. `L0SM9cOFvHcCIhw=`). Alphanumeric, so the `=` is the only
 * character a client must URL-encode, as with the real ids.
 */
export function apiGatewayId(): string {
  const bytes = randomBytes(15);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${id}=`;
}

/** Header name as API Gateway spells it: `Sec-WebSocket-Key`, `User-Agent`, `X-Forwarded-For`. */
export function canonicalHeaderName(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((part) => (part === 'websocket' ? 'WebSocket' : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('-');
}

/** `requestTime` in API Gateway's (CLF) format; defined in the contract (MOCK replies use it). */
export { requestTime } from '../../lambdas/contract/index.js';

function isRouteKey(value: string): value is RouteKey {
  return Object.hasOwn(ROUTES, value) || Object.hasOwn(MOCK_ROUTES, value);
}

/**
 * Route selection with `$request.body.action`: a JSON object frame whose string `action` names a
 * defined route selects it; anything else (no JSON, no object, no or unknown action) goes to
 * `$default`. `$connect`/`$disconnect` are never selected by a frame.
 */
export function selectRoute(body: string, defined: ReadonlySet<RouteKey>): RouteKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return Route.default;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return Route.default;
  const action: unknown = (parsed as Record<string, unknown>).action;
  if (typeof action !== 'string' || !isRouteKey(action)) return Route.default;
  if (action === Route.connect || action === Route.disconnect || !defined.has(action)) return Route.default;
  return action;
}

/** What the gateway knows about a connection, used in every event's requestContext. */
export interface ConnectionInfo {
  connectionId: string;
  /** Epoch ms. */
  connectedAt: number;
  sourceIp: string;
  userAgent?: string;
  /** `host:port` the client connected to. */
  domainName: string;
  stage: string;
}

function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** The connection a handshake request opens, connected now. */
export function connectionInfo(
  req: IncomingMessage,
  connectionId: string,
  domainName: string,
  stage: string,
): ConnectionInfo {
  const info: ConnectionInfo = { connectionId, connectedAt: Date.now(), sourceIp: sourceIpOf(req), domainName, stage };
  const userAgent = req.headers['user-agent'];
  if (userAgent !== undefined) info.userAgent = userAgent;
  return info;
}

export type WebSocketEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

export interface WebSocketRequestContext {
  routeKey: RouteKey;
  eventType: WebSocketEventType;
  connectionId: string;
  domainName: string;
  stage: string;
  apiId: string;
  requestId: string;
  extendedRequestId: string;
  requestTime: string;
  requestTimeEpoch: number;
  connectedAt: number;
  messageDirection: 'IN';
  identity: { sourceIp: string; userAgent?: string };
  messageId?: string;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export interface WebSocketProxyEvent {
  requestContext: WebSocketRequestContext;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  body?: string;
  isBase64Encoded: boolean;
}

/** The apiId of every local event. */
export const LOCAL_API_ID = 'local';

function requestContext(
  conn: ConnectionInfo,
  routeKey: RouteKey,
  eventType: WebSocketEventType,
  requestId: string,
): WebSocketRequestContext {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    connectionId: conn.connectionId,
    domainName: conn.domainName,
    stage: conn.stage,
    apiId: LOCAL_API_ID,
    requestId,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    requestTimeEpoch: now,
    connectedAt: conn.connectedAt,
    messageDirection: 'IN',
    identity:
      conn.userAgent === undefined
        ? { sourceIp: conn.sourceIp }
        : { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
  };
}

/** Handshake headers, single- and multi-valued, with API Gateway's forwarding headers added. */
function handshakeHeaders(
  req: IncomingMessage,
  conn: ConnectionInfo,
): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = canonicalHeaderName(req.rawHeaders[i] ?? '');
    (multiValueHeaders[name] ??= []).push(req.rawHeaders[i + 1] ?? '');
  }
  const port = conn.domainName.slice(conn.domainName.lastIndexOf(':') + 1);
  const forwarded: Record<string, string> = {
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    'X-Forwarded-For': conn.sourceIp,
    'X-Forwarded-Port': port,
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(forwarded)) multiValueHeaders[name] ??= [value];
  // Single-valued view: the last value of each header.
  const headers = Object.fromEntries(
    Object.entries(multiValueHeaders).map(([name, values]) => [name, values[values.length - 1] ?? '']),
  );
  return { headers, multiValueHeaders };
}

/** Query string parameters; absent (not empty) when the URL has none, as API Gateway does. */
function queryParameters(
  req: IncomingMessage,
): Pick<WebSocketProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const params = new URL(req.url ?? '/', 'http://local').searchParams;
  const multi: Record<string, string[]> = {};
  for (const [name, value] of params) (multi[name] ??= []).push(value);
  if (Object.keys(multi).length === 0) return {};
  return {
    queryStringParameters: Object.fromEntries(
      Object.entries(multi).map(([name, values]) => [name, values[values.length - 1] ?? '']),
    ),
    multiValueQueryStringParameters: multi,
  };
}

export function connectEvent(conn: ConnectionInfo, req: IncomingMessage): WebSocketProxyEvent {
  return {
    requestContext: requestContext(conn, Route.connect, 'CONNECT', apiGatewayId()),
    ...handshakeHeaders(req, conn),
    ...queryParameters(req),
    isBase64Encoded: false,
  };
}

/** A frame: text as is; binary frames base64-encoded with `isBase64Encoded: true`. */
export function messageEvent(
  conn: ConnectionInfo,
  routeKey: RouteKey,
  requestId: string,
  body: string,
  isBase64Encoded: boolean,
): WebSocketProxyEvent {
  return {
    requestContext: { ...requestContext(conn, routeKey, 'MESSAGE', requestId), messageId: apiGatewayId() },
    body,
    isBase64Encoded,
  };
}

export function disconnectEvent(conn: ConnectionInfo, statusCode: number, reason: string): WebSocketProxyEvent {
  const headers = { Host: conn.domainName, 'X-Forwarded-For': conn.sourceIp };
  return {
    requestContext: {
      ...requestContext(conn, Route.disconnect, 'DISCONNECT', apiGatewayId()),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    isBase64Encoded: false,
  };
}

/** API Gateway's error frame for a failed integration: `{"message": …, connectionId, requestId}`. */
export function errorFrame(message: string, connectionId: string, requestId: string): string {
  return JSON.stringify({ message, connectionId, requestId });
}

// ------------------------------------------------------------------ handler results

/** The status of a `$connect` result; a result without a numeric status counts as 200. */
export function resultStatus(result: unknown): number {
  const status = (result as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) ? status : 200;
}

/** The result's string `body`: a route response, or the body of a refused handshake. */
export function resultBody(result: unknown): string | undefined {
  const body = (result as { body?: unknown } | null | undefined)?.body;
  return typeof body === 'string' ? body : undefined;
}

/** The subprotocol a `$connect` result selects with a `Sec-WebSocket-Protocol` header. */
export function selectedProtocol(result: unknown): string | undefined {
  const headers = (result as { headers?: unknown } | null | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'sec-websocket-protocol' && typeof value === 'string') return value;
  }
  return undefined;
}

// ------------------------------------------------------------------ closes

export interface CloseCause {
  code: number;
  reason: string;
}

/** Close codes and reasons API Gateway uses when it ends a connection. */
export const CLOSE = {
  idle: { code: 1001, reason: 'Going away' },
  maxDuration: { code: 1001, reason: 'Going away' },
  shutdown: { code: 1001, reason: 'Going away' },
  deleted: { code: 1000, reason: '' },
  tooBig: { code: 1009, reason: 'Message too big' },
  droppedDuringConnect: { code: 1006, reason: 'Connection closed abnormally' },
} as const satisfies Record<string, CloseCause>;

/** `disconnectReason` for a close the client started. */
export function clientCloseReason(code: number, reason: string): string {
  if (reason) return reason;
  if (code === 1005) return 'Client-side close frame status not set';
  if (code === 1006) return 'Connection closed abnormally';
  return '';
}
