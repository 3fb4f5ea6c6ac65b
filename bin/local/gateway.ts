/**
 * A local API Gateway WebSocket API: one HTTP server carries the WebSocket endpoint and the
 * management API (`/@connections/{id}`), as `wss://{api}.execute-api…/{stage}` and
 * `https://{api}.execute-api…/{stage}/@connections` do in AWS.
 *
 * Semantics mirrored from API Gateway:
 * - `$connect` runs during the handshake; a non-2xx status (or a failure: 500) refuses it.
 * - Route selection on `$request.body.action`; binary frames always go to `$default`.
 * - A route with a route response sends the handler's `body` back; a failing handler sends
 *   `{"message":"Internal server error",…}` and the connection stays open.
 * - Messages over 128 KB close the connection with 1009; protocol pings are not answered and
 *   do not count as activity; idle (10 min) and maximum duration (2 h) close with 1001.
 * - `$disconnect` runs once per connection, however it ended.
 * - The management API answers 410 GoneException for unknown connections, 413 for payloads
 *   over 128 KB.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  IDLE_TIMEOUT_SECONDS,
  MAX_CONNECTION_SECONDS,
  MAX_MESSAGE_BYTES,
  Route,
  type RouteKey,
} from '../../lambdas/contract/index.js';
import {
  apiGatewayId,
  type ConnectionInfo,
  connectEvent,
  disconnectEvent,
  errorFrame,
  messageEvent,
  selectRoute,
  type WebSocketProxyEvent,
} from './apigw-events.js';
import {
  clearFaultPlan,
  type FaultPlan,
  FaultPlanJsonSchema,
  faultPlanToJson,
  type ManagementOperation,
  nextFault,
  setFaultPlan,
} from './faults.js';
import { BodyTooLargeError, closeServer, createLocalServer, listen, readBody, sendAwsError, sendJson } from './http.js';
import { invokeLambda, type LambdaHandler, LambdaTimeoutError } from './lambda.js';
import { log as defaultLog, errorMessage, type Log } from './log.js';
import { KeyedSerialQueue, settlesWithin } from './queue.js';

export type WebSocketHandler = LambdaHandler<WebSocketProxyEvent, unknown>;

export interface RouteBinding {
  handler: WebSocketHandler;
  /** The handler's `body` is sent back to the client (API Gateway route response). */
  returnResponse: boolean;
  /** Lambda function name in the context and logs; defaults to the route key. */
  functionName?: string;
}

/** Handlers by route; a frame selects only routes present here. */
export type RouteTable = Partial<Record<RouteKey, RouteBinding>>;

export interface GatewayOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  stage: string;
  /** The route table, or a promise of it (requests wait until it is ready). */
  routes: RouteTable | Promise<RouteTable>;
  /** Fractions allowed (tests). */
  idleTimeoutSeconds?: number;
  maxConnectionSeconds?: number;
  /** API Gateway's integration timeout. */
  handlerTimeoutMs?: number;
  /** Frames waiting per connection before new ones are refused with a throttling frame. */
  maxQueuedMessages?: number;
  /** Enables fault injection and its control endpoint `/_local/faults`. */
  faults?: FaultPlan;
  /** How long `close()` waits for `$disconnect` handlers. */
  shutdownGraceMs?: number;
  log?: Log;
}

export interface Gateway {
  port: number;
  /** `ws://host:port` */
  url: string;
  /** Management API endpoint for the SDK client: `http://host:port`. */
  managementUrl: string;
  connectionIds(): string[];
  /** Resolves when no handler invocation is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const MANAGEMENT_OPERATIONS = new Map<string, ManagementOperation>([
  ['POST', 'post'],
  ['GET', 'get'],
  ['DELETE', 'delete'],
]);

interface CloseCause {
  code: number;
  reason: string;
}

/** Close codes and reasons API Gateway uses when it ends a connection. */
const CLOSE = {
  idle: { code: 1001, reason: 'Going away' },
  maxDuration: { code: 1001, reason: 'Going away' },
  shutdown: { code: 1001, reason: 'Going away' },
  deleted: { code: 1000, reason: '' },
  tooBig: { code: 1009, reason: 'Message too big' },
  droppedDuringConnect: { code: 1006, reason: 'Connection closed abnormally' },
} as const satisfies Record<string, CloseCause>;

/** `disconnectReason` for a close the client started. */
function clientCloseReason(code: number, reason: string): string {
  if (reason) return reason;
  if (code === 1005) return 'Client-side close frame status not set';
  if (code === 1006) return 'Connection closed abnormally';
  return '';
}

interface Connection {
  info: ConnectionInfo;
  ws: WebSocket;
  lastActiveAt: number;
  idleTimer: NodeJS.Timeout;
  maxTimer: NodeJS.Timeout;
  /** Set when the gateway (not the client) ends the connection. */
  closeCause?: CloseCause;
  closed: Promise<void>;
}

/** The status of a `$connect` result; a result without a numeric status counts as 200. */
function statusOf(result: unknown): number {
  const status = (result as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) ? status : 200;
}

function bodyOf(result: unknown): string | undefined {
  const body = (result as { body?: unknown } | null | undefined)?.body;
  return typeof body === 'string' ? body : undefined;
}

/** The subprotocol a `$connect` result selects with a `Sec-WebSocket-Protocol` header. */
function selectedProtocol(result: unknown): string | undefined {
  const headers = (result as { headers?: unknown } | null | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'sec-websocket-protocol' && typeof value === 'string') return value;
  }
  return undefined;
}

function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, body = ''): void {
  if (socket.destroyed) return;
  const text = body || JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/** The checks `ws` makes before accepting a handshake, done before `$connect` runs. */
function isWebSocketHandshake(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    /^[+/0-9A-Za-z]{22}==$/.test(req.headers['sec-websocket-key'] ?? '') &&
    (req.headers['sec-websocket-version'] === '13' || req.headers['sec-websocket-version'] === '8')
  );
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.log ?? defaultLog;
  const idleMs = (options.idleTimeoutSeconds ?? IDLE_TIMEOUT_SECONDS) * 1000;
  const maxMs = (options.maxConnectionSeconds ?? MAX_CONNECTION_SECONDS) * 1000;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 29_000;
  const maxQueued = options.maxQueuedMessages ?? 1000;
  const faults = options.faults;

  const routesReady = Promise.resolve(options.routes);
  // A rejected route table is reported per request; keep it from being an unhandled rejection.
  routesReady.catch(() => undefined);

  const connections = new Map<string, Connection>();
  /** Ids in use: connections from `$connect` until their `$disconnect` has run. */
  const usedIds = new Set<string>();
  const lanes = new KeyedSerialQueue();
  const protocols = new WeakMap<IncomingMessage, string>();
  /** Sockets whose `$connect` is still running. */
  const handshaking = new Set<Duplex>();
  let closing = false;
  let port = 0;
  const domainName = () => `${options.host}:${port}`;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES, // ws closes with 1009 beyond it, as API Gateway does
    autoPong: false, // API Gateway does not answer protocol pings
    perMessageDeflate: false,
    handleProtocols: (offered, req) => {
      const chosen = protocols.get(req);
      return chosen !== undefined && offered.has(chosen) ? chosen : false;
    },
  });
  wss.on('error', (err) => log.warn('WebSocket server error', err));

  async function invoke(routeKey: RouteKey, binding: RouteBinding, event: WebSocketProxyEvent): Promise<unknown> {
    return invokeLambda(binding.handler, event, binding.functionName ?? routeKey, handlerTimeoutMs);
  }

  function newConnectionId(): string {
    let id = apiGatewayId();
    while (usedIds.has(id)) id = apiGatewayId();
    usedIds.add(id);
    return id;
  }

  /** Any frame, in either direction, resets the idle timer. */
  function touch(conn: Connection): void {
    conn.lastActiveAt = Date.now();
    conn.idleTimer.refresh();
  }

  /** Starts a gateway-side close; the connection answers 410 from now on. */
  function closeConnection(conn: Connection, cause: CloseCause): void {
    conn.closeCause ??= cause;
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(cause.code, cause.reason);
  }

  /** Sends a text frame; resolves false if the connection is no longer open. */
  function sendFrame(conn: Connection, text: string | Buffer): Promise<boolean> {
    if (conn.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    touch(conn);
    return new Promise((resolve) => conn.ws.send(text, { binary: false }, (err) => resolve(!err)));
  }

  async function runDisconnect(info: ConnectionInfo, cause: CloseCause): Promise<void> {
    const routes = await routesReady;
    const binding = routes[Route.disconnect];
    if (!binding) return;
    try {
      await invoke(Route.disconnect, binding, disconnectEvent(info, cause.code, cause.reason));
    } catch (err) {
      log.error(`$disconnect handler failed for ${info.connectionId}`, err);
    }
  }

  function register(ws: WebSocket, info: ConnectionInfo): void {
    let resolveClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const conn: Connection = {
      info,
      ws,
      lastActiveAt: Date.now(),
      // Unref'd: open sockets keep the process alive, these timers alone must not.
      idleTimer: setTimeout(() => closeConnection(conn, CLOSE.idle), idleMs).unref(),
      maxTimer: setTimeout(() => closeConnection(conn, CLOSE.maxDuration), maxMs).unref(),
      closed,
    };
    connections.set(info.connectionId, conn);

    ws.on('message', (data, isBinary) => onMessage(conn, toBuffer(data), isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.closeCause ??= CLOSE.tooBig;
      else log.warn(`connection ${info.connectionId}: ${errorMessage(err)}`);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(conn.idleTimer);
      clearTimeout(conn.maxTimer);
      connections.delete(info.connectionId);
      const cause = conn.closeCause ?? { code, reason: clientCloseReason(code, reason.toString()) };
      // Queued after the connection's pending messages, so `$disconnect` runs last.
      const job = () => runDisconnect(info, cause).finally(() => usedIds.delete(info.connectionId));
      lanes.push(info.connectionId, job, (err) => log.error('$disconnect failed', err));
      resolveClosed();
    });
  }

  function onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    touch(conn);
    const { connectionId } = conn.info;
    if (lanes.size(connectionId) >= maxQueued) {
      void sendFrame(conn, errorFrame('Too Many Requests', connectionId, apiGatewayId()));
      return;
    }
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    lanes.push(
      connectionId,
      () => dispatchMessage(conn, body, isBinary),
      (err) => log.error(`message on ${connectionId} failed`, err),
    );
  }

  async function dispatchMessage(conn: Connection, body: string, isBinary: boolean): Promise<void> {
    const { connectionId } = conn.info;
    const requestId = apiGatewayId();
    let routes: RouteTable;
    try {
      routes = await routesReady;
    } catch {
      await sendFrame(conn, errorFrame('Internal server error', connectionId, requestId));
      return;
    }
    const routeKey = isBinary ? Route.default : selectRoute(body, new Set(Object.keys(routes) as RouteKey[]));
    const binding = routes[routeKey];
    if (!binding) {
      // No matching route and no `$default`: API Gateway answers Forbidden.
      await sendFrame(conn, errorFrame('Forbidden', connectionId, requestId));
      return;
    }
    try {
      const result = await invoke(routeKey, binding, messageEvent(conn.info, routeKey, requestId, body, isBinary));
      const reply = binding.returnResponse ? bodyOf(result) : undefined;
      if (reply !== undefined) await sendFrame(conn, reply);
    } catch (err) {
      log.error(`${routeKey} handler failed for ${connectionId}`, err);
      const message = err instanceof LambdaTimeoutError ? 'Endpoint request timed out' : 'Internal server error';
      await sendFrame(conn, errorFrame(message, connectionId, requestId));
    }
  }

  /** `$connect` first; the handshake completes only if it answers 2xx. */
  async function handshake(req: IncomingMessage, socket: Duplex, head: Buffer, info: ConnectionInfo): Promise<void> {
    let routes: RouteTable;
    try {
      routes = await routesReady;
    } catch (err) {
      log.error('route table unavailable', err);
      usedIds.delete(info.connectionId);
      refuseUpgrade(socket, 500);
      return;
    }
    const binding = routes[Route.connect];
    let result: unknown;
    let status = 200;
    if (binding) {
      try {
        result = await invoke(Route.connect, binding, connectEvent(info, req));
        status = statusOf(result);
      } catch (err) {
        log.error(`$connect handler failed for ${info.connectionId}`, err);
        status = 500;
      }
    }
    if (status < 200 || status > 299) {
      usedIds.delete(info.connectionId);
      return refuseUpgrade(socket, status, bodyOf(result));
    }
    if (closing || socket.destroyed || !socket.readable || !socket.writable) {
      // Accepted by `$connect` but gone before the upgrade: still report the disconnect.
      socket.destroy();
      await runDisconnect(info, CLOSE.droppedDuringConnect);
      usedIds.delete(info.connectionId);
      return;
    }
    const protocol = selectedProtocol(result);
    if (protocol !== undefined) protocols.set(req, protocol);
    wss.handleUpgrade(req, socket, head, (ws) => register(ws, info));
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy()); // ECONNRESET and friends: the socket just goes
    if (closing) {
      refuseUpgrade(socket, 503);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/+$/, '');
    if (path !== '' && path !== `/${options.stage}`) {
      refuseUpgrade(socket, 404);
      return;
    }
    if (!isWebSocketHandshake(req)) {
      refuseUpgrade(socket, 400);
      return;
    }
    const info: ConnectionInfo = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      sourceIp: sourceIpOf(req),
      domainName: domainName(),
      stage: options.stage,
    };
    const userAgent = req.headers['user-agent'];
    if (userAgent !== undefined) info.userAgent = userAgent;
    handshaking.add(socket);
    const job = () => handshake(req, socket, head, info).finally(() => handshaking.delete(socket));
    lanes.push(info.connectionId, job, (err) => {
      log.error('handshake failed', err);
      refuseUpgrade(socket, 500);
    });
  }

  // ------------------------------------------------------------------ management API

  const managementPath = /^(?:\/([^/]+))?\/@connections\/([^/]+)\/?$/;

  async function onManagement(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void> {
    const operation = MANAGEMENT_OPERATIONS.get(req.method ?? '');
    if (!operation) return sendAwsError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported`);
    const fault = faults ? nextFault(faults, operation, connectionId) : { delayMs: 0 };
    let payload: Buffer | undefined;
    if (operation === 'post') {
      try {
        payload = await readBody(req, MAX_MESSAGE_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError)
          return sendAwsError(res, 413, 'PayloadTooLargeException', 'Request Entity Too Large');
        throw err;
      }
    } else {
      req.resume();
    }
    if (fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault.error) return sendAwsError(res, fault.error.status, fault.error.type, fault.error.message);

    const conn = connections.get(connectionId);
    if (!conn || conn.ws.readyState !== WebSocket.OPEN) return sendAwsError(res, 410, 'GoneException', 'Gone');
    switch (operation) {
      case 'post':
        if (!(await sendFrame(conn, payload ?? Buffer.alloc(0))))
          return sendAwsError(res, 410, 'GoneException', 'Gone');
        res.writeHead(200, { 'Content-Length': 0 }).end();
        return;
      case 'get':
        // Field names as the service sends them (the SDK maps them to ConnectedAt, Identity…).
        return sendJson(res, 200, {
          connectedAt: new Date(conn.info.connectedAt).toISOString(),
          identity: { sourceIp: conn.info.sourceIp, userAgent: conn.info.userAgent ?? '' },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
      case 'delete':
        closeConnection(conn, CLOSE.deleted);
        res.writeHead(204).end();
        return;
    }
  }

  async function onFaultControl(req: IncomingMessage, res: ServerResponse, plan: FaultPlan): Promise<void> {
    if (req.method === 'GET') return sendJson(res, 200, faultPlanToJson(plan));
    if (req.method === 'DELETE') {
      clearFaultPlan(plan);
      return sendJson(res, 200, faultPlanToJson(plan));
    }
    if (req.method !== 'POST')
      return sendAwsError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported`);
    let json: unknown;
    try {
      json = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8'));
    } catch (err) {
      return sendAwsError(res, 400, 'BadRequestException', `body must be JSON: ${errorMessage(err)}`);
    }
    const parsed = FaultPlanJsonSchema.safeParse(json);
    if (!parsed.success) return sendAwsError(res, 400, 'BadRequestException', parsed.error.message);
    setFaultPlan(plan, parsed.data);
    return sendJson(res, 200, faultPlanToJson(plan));
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (faults && path === '/_local/faults') return onFaultControl(req, res, faults);
    const match = managementPath.exec(path);
    const [, stage, encodedId] = match ?? [];
    if (!match || encodedId === undefined || (stage !== undefined && stage !== options.stage)) {
      req.resume();
      return sendAwsError(res, 404, 'NotFoundException', 'Not Found');
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(encodedId);
    } catch {
      req.resume();
      return sendAwsError(res, 400, 'BadRequestException', 'Invalid connection id');
    }
    return onManagement(req, res, connectionId);
  }

  const server = createLocalServer(onRequest, (err) => log.warn('management API request failed', err));
  server.on('upgrade', onUpgrade);
  port = await listen(server, 'WebSocket gateway', options.host, options.port);

  return {
    port,
    url: `ws://${options.host}:${port}`,
    managementUrl: `http://${options.host}:${port}`,
    connectionIds: () =>
      [...connections.values()].filter((c) => c.ws.readyState === WebSocket.OPEN).map((c) => c.info.connectionId),
    idle: () => lanes.idle(),
    close: async () => {
      closing = true;
      const open = [...connections.values()];
      for (const conn of open) {
        conn.closeCause ??= CLOSE.shutdown;
        conn.ws.terminate();
      }
      await Promise.all(open.map((c) => c.closed));
      if (!(await settlesWithin(lanes.idle(), options.shutdownGraceMs ?? 5000))) {
        log.warn('gateway closed with handler invocations still running');
      }
      for (const socket of handshaking) socket.destroy();
      wss.close();
      await closeServer(server);
    },
  };
}
