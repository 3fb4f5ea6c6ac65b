/**
 * A local API Gateway HTTP API: the contract's HTTP routes (`HTTP_ROUTES`), served by the same
 * handler module Lambda runs, with payload format 2.0 events and responses, on `HTTP_PORT`.
 *
 * Semantics mirrored from API Gateway HTTP APIs:
 * - A route matches `METHOD /path` exactly; any other path or method answers 404
 *   `{"message":"Not Found"}` without invoking the function.
 * - CORS is the gateway's: it answers every OPTIONS request itself (204), with the CORS headers
 *   when the Origin and the requested method and headers are allowed, and sets
 *   `access-control-allow-origin` on responses to allowed origins (`*` when every origin is).
 * - The event: `version` "2.0", `routeKey`, `rawPath`, `rawQueryString`, `cookies`, header names
 *   lowercased with repeated headers comma-joined, `queryStringParameters` decoded with repeated
 *   keys comma-joined (absent without a query string), `requestContext` with `http` {method,
 *   path, protocol, sourceIp, userAgent}, `requestId`, `routeKey`, `stage` "$default", `time`,
 *   `timeEpoch`; a body is base64-encoded unless it is text.
 * - The response: an object with a `statusCode` gives status, `headers`, `cookies` and `body`
 *   (decoded when `isBase64Encoded`); anything else (an object without `statusCode`, a string)
 *   is 200 `application/json` with that value as the body.
 * - A function that throws answers 500 `{"message":"Internal Server Error"}`; one that runs past
 *   the integration timeout answers 503 `{"message":"Service Unavailable"}`.
 * - Every response carries `apigw-requestid`. Stage throttling is not emulated.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type HandlerName,
  HTTP_CORS,
  HTTP_ROUTE_NAMES,
  HTTP_ROUTES,
  NOT_FOUND_BODY,
} from '../../lambdas/contract/index.js';
import { apiGatewayId, requestTime } from './apigw-events.js';
import { LOCAL_ACCOUNT } from './defaults.js';
import { BodyTooLargeError, closeServer, createLocalServer, listen, readBody } from './http.js';
import { invokeLambda, type LambdaHandler, LambdaTimeoutError } from './lambda.js';
import { log as defaultLog, type Log } from './log.js';
import { settlesWithin } from './queue.js';

/** The release the handlers report (`APP_VERSION`), as the stack sets it: package.json's version. */
export const LOCAL_APP_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** API Gateway HTTP API's request payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** The apiId of every local event. */
const LOCAL_HTTP_API_ID = 'local-http';

export interface HttpApiEvent {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface HttpApiOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** The handler module of a contract handler name (every HTTP route names `http`). */
  handlerFor: (name: HandlerName) => LambdaHandler;
  /** Lambda function name in the context and logs. */
  functionName?: (name: HandlerName) => string;
  /** CORS origins; empty allows any origin (the stack's `allowedOrigins`, locally ALLOWED_ORIGINS). */
  allowedOrigins: readonly string[];
  /** API Gateway's integration timeout. */
  handlerTimeoutMs?: number;
  /**
   * Local-only pages and tools served on the same port before the contract's routes (the debug
   * console, bin/local/console.ts); resolves true when it answered. A deployed API has none.
   */
  local?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  log?: Log;
}

export interface HttpApiEmulator {
  port: number;
  /** `http://host:port` (the `$default` stage has no path). */
  url: string;
  close(): Promise<void>;
}

function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Header names lowercased, repeated headers comma-joined, cookies apart, as payload 2.0 has them. */
function headersOf(req: IncomingMessage): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return { headers, cookies };
}

/** Decoded query parameters, repeated keys comma-joined; undefined without a query string. */
export function queryParametersOf(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString))
    params[name] = params[name] === undefined ? value : `${params[name]},${value}`;
  return params;
}

function isText(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^(text\/|application\/(json|xml|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))/i.test(contentType);
}

/** The CORS `access-control-allow-origin` value for this Origin, or undefined when not allowed. */
export function allowedOriginFor(origin: string | undefined, allowedOrigins: readonly string[]): string | undefined {
  if (allowedOrigins.length === 0) return '*';
  return origin !== undefined && allowedOrigins.includes(origin) ? origin : undefined;
}

/** CORS headers of an answer to a request from `origin` (none without an Origin, or for one not allowed). */
export function responseCorsHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  const allowOrigin = origin === undefined ? undefined : allowedOriginFor(origin, allowedOrigins);
  if (allowOrigin === undefined) return {};
  return { 'access-control-allow-origin': allowOrigin, ...(allowOrigin === '*' ? {} : { vary: 'origin' }) };
}

/** The preflight answer's CORS headers, or none when the Origin, method or headers are not allowed. */
export function preflightHeaders(
  origin: string | undefined,
  method: string | undefined,
  requestedHeaders: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  const allowOrigin = origin === undefined ? undefined : allowedOriginFor(origin, allowedOrigins);
  if (allowOrigin === undefined || method === undefined) return {};
  if (!(HTTP_CORS.allowMethods as readonly string[]).includes(method.toUpperCase())) return {};
  const asked = (requestedHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (!asked.every((h) => (HTTP_CORS.allowHeaders as readonly string[]).includes(h))) return {};
  return {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': HTTP_CORS.allowMethods.join(','),
    'access-control-allow-headers': HTTP_CORS.allowHeaders.join(','),
    'access-control-max-age': String(HTTP_CORS.maxAgeSeconds),
    ...(allowOrigin === '*' ? {} : { vary: 'origin' }),
  };
}

interface ShapedResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/** Payload 2.0 response handling. */
export function shapeResponse(result: unknown): ShapedResponse {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const r = result as {
      statusCode: unknown;
      headers?: unknown;
      cookies?: unknown;
      body?: unknown;
      isBase64Encoded?: unknown;
    };
    const statusCode = typeof r.statusCode === 'number' && Number.isInteger(r.statusCode) ? r.statusCode : 500;
    const headers: Record<string, string> = {};
    if (typeof r.headers === 'object' && r.headers !== null)
      for (const [name, value] of Object.entries(r.headers)) headers[name.toLowerCase()] = String(value);
    const cookies = Array.isArray(r.cookies) ? r.cookies.map(String) : [];
    const text = typeof r.body === 'string' ? r.body : '';
    const body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    return { statusCode, headers, cookies, body };
  }
  const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(text, 'utf8'),
  };
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApiEmulator> {
  const log = options.log ?? defaultLog;
  const timeoutMs = options.handlerTimeoutMs ?? 29_000;
  const routes = new Map<string, HandlerName>(
    HTTP_ROUTE_NAMES.map((name) => [HTTP_ROUTES[name].routeKey, HTTP_ROUTES[name].handler]),
  );
  const inFlight = new Set<Promise<unknown>>();
  let port = 0;

  function send(
    res: ServerResponse,
    req: IncomingMessage,
    requestId: string,
    shaped: ShapedResponse,
    cors: Record<string, string>,
  ): void {
    const headers: Record<string, string | string[]> = {
      ...shaped.headers,
      ...cors,
      'apigw-requestid': requestId,
      'content-length': String(shaped.body.length),
    };
    if (shaped.cookies.length > 0) headers['set-cookie'] = shaped.cookies;
    res.writeHead(shaped.statusCode, headers);
    res.end(req.method === 'HEAD' ? undefined : shaped.body);
  }

  const gatewayAnswer = (statusCode: number, body: object): ShapedResponse => ({
    statusCode,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(JSON.stringify(body)),
  });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.local && (await options.local(req, res))) return;
    const requestId = apiGatewayId();
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const origin = req.headers.origin;
    if (method === 'OPTIONS') {
      req.resume();
      const cors = preflightHeaders(
        origin,
        req.headers['access-control-request-method'],
        req.headers['access-control-request-headers'],
        options.allowedOrigins,
      );
      return send(res, req, requestId, { statusCode: 204, headers: {}, cookies: [], body: Buffer.alloc(0) }, cors);
    }
    const cors = responseCorsHeaders(origin, options.allowedOrigins);
    const routeKey = `${method} ${url.pathname}`;
    const handlerName = routes.get(routeKey);
    if (handlerName === undefined) {
      req.resume();
      return send(res, req, requestId, gatewayAnswer(404, NOT_FOUND_BODY), cors);
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        return send(res, req, requestId, gatewayAnswer(413, { message: 'Request Entity Too Large' }), cors);
      throw err;
    }
    const { headers, cookies } = headersOf(req);
    const port_ = String(port);
    headers['x-forwarded-for'] ??= sourceIpOf(req);
    headers['x-forwarded-port'] ??= port_;
    headers['x-forwarded-proto'] ??= 'http';
    headers['x-amzn-trace-id'] ??=
      `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${apiGatewayId().slice(0, 12)}`;
    const rawQueryString = url.search.startsWith('?') ? url.search.slice(1) : '';
    const queryStringParameters = queryParametersOf(rawQueryString);
    const text = isText(headers['content-type']);
    const now = Date.now();
    const domainName = headers.host ?? `${options.host}:${port_}`;
    const event: HttpApiEvent = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString,
      ...(cookies.length > 0 ? { cookies } : {}),
      headers,
      ...(queryStringParameters ? { queryStringParameters } : {}),
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: LOCAL_HTTP_API_ID,
        domainName,
        domainPrefix: domainName.split('.')[0] ?? domainName,
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: sourceIpOf(req),
          userAgent: headers['user-agent'] ?? '',
        },
        requestId,
        routeKey,
        stage: '$default',
        time: requestTime(now),
        timeEpoch: now,
      },
      ...(raw.length > 0 ? { body: text ? raw.toString('utf8') : raw.toString('base64') } : {}),
      isBase64Encoded: raw.length > 0 && !text,
    };

    const invocation = invokeLambda(
      options.handlerFor(handlerName),
      event,
      options.functionName?.(handlerName) ?? handlerName,
      timeoutMs,
    );
    inFlight.add(invocation);
    let shaped: ShapedResponse;
    try {
      shaped = shapeResponse(await invocation);
    } catch (err) {
      if (err instanceof LambdaTimeoutError) {
        log.error(`${routeKey}: integration timed out`, err);
        shaped = gatewayAnswer(503, { message: 'Service Unavailable' });
      } else {
        log.error(`${routeKey} handler failed`, err);
        shaped = gatewayAnswer(500, { message: 'Internal Server Error' });
      }
    } finally {
      inFlight.delete(invocation);
    }
    // API Gateway's CORS headers replace the function's own.
    for (const name of Object.keys(shaped.headers)) if (name.startsWith('access-control-')) delete shaped.headers[name];
    return send(res, req, requestId, shaped, cors);
  }

  const server = createLocalServer(onRequest, (err) => log.warn('HTTP API request failed', err));
  port = await listen(server, 'HTTP API', options.host, options.port);

  return {
    port,
    url: `http://${options.host}:${port}`,
    close: async () => {
      if (!(await settlesWithin(Promise.all(inFlight), 5000)))
        log.warn('HTTP API closed with handler invocations still running');
      await closeServer(server);
    },
  };
}
