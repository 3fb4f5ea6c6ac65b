/**
 * A local API Gateway WebSocket API: one HTTP server carries the WebSocket endpoint and the
 * management API (`/@connections/{id}`), as `wss://{api}.execute-api…/{stage}` and
 * `https://{api}.execute-api…/{stage}/@connections` do in AWS. This file is the WebSocket side;
 * the management API is `management-api.ts` (it reaches connections through the gateway's
 * `ConnectionRegistry`), the event shapes and close codes are `apigw-events.ts`, and fault
 * control (`/_local/faults`) is `faults.ts`.
 *
 * Semantics mirrored from API Gateway:
 * - `$connect` runs during the handshake; a non-2xx status (or a failure: 500) refuses it.
 * - Route selection on `$request.body.action`; binary frames always go to `$default`.
 * - A MOCK route (the contract's `MOCK_ROUTES`: `ping`) is answered with its rendered template
 *   and invokes nothing.
 * - A route with a route response sends the handler's `body` back; a failing handler sends
 *   `{"message":"Internal server error",…}` and the connection stays open.
 * - Messages over 128 KB close the connection with 1009; protocol pings are not answered and
 *   do not count as activity; idle (10 min) and maximum duration (2 h) close with 1001.
 * - `$disconnect` runs once per connection, however it ended.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  IDLE_TIMEOUT_SECONDS,
  MAX_CONNECTION_SECONDS,
  MAX_MESSAGE_BYTES,
  MOCK_ROUTES,
  type MockRouteSpec,
  mockContext,
  Route,
  type RouteKey,
  renderMockReply,
} from '../../lambdas/contract/index.js';
import {
  apiGatewayId,
  CLOSE,
  type CloseCause,
  type ConnectionInfo,
  clientCloseReason,
  connectEvent,
  connectionInfo,
  disconnectEvent,
  errorFrame,
  messageEvent,
  resultBody,
  resultStatus,
  selectedProtocol,
  selectRoute,
  type WebSocketProxyEvent,
} from './apigw-events.js';
import { FAULTS_PATH, handleFaultControl } from './faults.js';
import type { Gateway, GatewayOptions, RouteBinding, RouteTable } from './gateway-options.js';
import { closeServer, createLocalServer, isWebSocketHandshake, listen, refuseUpgrade, requestPath } from './http.js';
import { invokeLambda, LambdaTimeoutError } from './lambda.js';
import { log as defaultLog, errorMessage } from './log.js';
import { type ConnectionRegistry, managementApi, type RegisteredConnection } from './management-api.js';
import { KeyedSerialQueue, settlesWithin } from './queue.js';
import { handleUsageControl, USAGE_PATH, usage } from './usage.js';

export type { Gateway, GatewayOptions, RouteBinding, RouteTable, WebSocketHandler } from './gateway-options.js';

interface Connection {
  info: ConnectionInfo;
  ws: WebSocket;
  lastActiveAt: number;
  idleTimer: NodeJS.Timeout;
  maxTimer: NodeJS.Timeout;
  /** Set when the gateway (not the client) ends the connection. */
  closeCause?: CloseCause;
  closed: Promise<void>;
  /** What the management API gets for it: built once, not per request. */
  handle: RegisteredConnection;
}

/** `ws.send` options of every frame the gateway sends (text; ws copies them). */
const TEXT_FRAME = { binary: false } as const;

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
  const mockRoutes: Partial<Record<RouteKey, MockRouteSpec>> = options.mockRoutes ?? MOCK_ROUTES;
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
    usage.messageOut(typeof text === 'string' ? Buffer.byteLength(text) : text.length);
    return new Promise((resolve) => conn.ws.send(text, TEXT_FRAME, (err) => resolve(!err)));
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
      handle: {
        info,
        get lastActiveAt() {
          return conn.lastActiveAt;
        },
        send: (data) => sendFrame(conn, data),
        close: () => closeConnection(conn, CLOSE.deleted),
      },
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
    usage.messageIn(data.length);
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
    const defined = new Set([...Object.keys(routes), ...Object.keys(mockRoutes)] as RouteKey[]);
    const routeKey = isBinary ? Route.default : selectRoute(body, defined);
    const mock = mockRoutes[routeKey];
    if (mock) {
      await sendFrame(conn, renderMockReply(mock.responseTemplate, mockContext(Date.now())));
      return;
    }
    const binding = routes[routeKey];
    if (!binding) {
      // No matching route and no `$default`: API Gateway answers Forbidden.
      await sendFrame(conn, errorFrame('Forbidden', connectionId, requestId));
      return;
    }
    try {
      const result = await invoke(routeKey, binding, messageEvent(conn.info, routeKey, requestId, body, isBinary));
      const reply = binding.returnResponse ? resultBody(result) : undefined;
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
        status = resultStatus(result);
      } catch (err) {
        log.error(`$connect handler failed for ${info.connectionId}`, err);
        status = 500;
      }
    }
    if (status < 200 || status > 299) {
      usedIds.delete(info.connectionId);
      return refuseUpgrade(socket, status, resultBody(result));
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
    const info = connectionInfo(req, newConnectionId(), domainName(), options.stage);
    handshaking.add(socket);
    const job = () => handshake(req, socket, head, info).finally(() => handshaking.delete(socket));
    lanes.push(info.connectionId, job, (err) => {
      log.error('handshake failed', err);
      refuseUpgrade(socket, 500);
    });
  }

  /** What the management API sees: open connections only. */
  const registry: ConnectionRegistry = {
    open(connectionId) {
      const conn = connections.get(connectionId);
      return conn && conn.ws.readyState === WebSocket.OPEN ? conn.handle : undefined;
    },
  };
  const management = managementApi({ stage: options.stage, registry, faults });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (faults && path === FAULTS_PATH) return handleFaultControl(req, res, faults);
    if (path === USAGE_PATH) return handleUsageControl(req, res);
    return management(req, res, path);
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
