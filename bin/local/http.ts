/** Small HTTP helpers shared by the local servers (gateway, EventBridge endpoint, dynalite). */
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** A listen failure with the port and the variable that chose it, for a one-line message. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    const why =
      code === 'EADDRINUSE'
        ? 'is already in use'
        : code === 'EACCES'
          ? 'is not allowed'
          : `failed (${code ?? 'unknown error'})`;
    super(`${what}: port ${port} on ${host} ${why}`, options);
  }
}

/** Listens and resolves the bound port (useful with port 0). */
export function listen(server: Server, what: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new ListenError(what, host, port, err.code, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, drops every open (keep-alive) connection and resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Reads a request body. Past `limit` bytes the rest is drained (so the client can still read
 * our answer) and the promise rejects with `BodyTooLargeError`.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () =>
      tooLarge ? reject(new BodyTooLargeError(`body over ${limit} bytes`)) : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * An AWS service error the SDKs recognise by name: REST services read `x-amzn-ErrorType`,
 * JSON 1.1 services read `__type`; both are sent.
 */
export function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { __type: type, message }, { 'x-amzn-ErrorType': type });
}

/** Never lets a request handler's failure escape: answers 500 if nothing was sent yet. */
export function guard(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (err: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.on('error', onError);
    res.on('error', onError);
    handle(req, res).catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) sendAwsError(res, 500, 'InternalFailure', 'local runtime error');
      else res.destroy();
    });
  };
}

/**
 * Idle keep-alive sockets stay open this long. SDK clients reuse sockets; a short server
 * timeout (Node's default is 5 s) races with reuse and surfaces as sporadic ECONNRESET.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 60_000;

/** Applies the local servers' socket settings (also to dynalite's server). */
export function tuneServer(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Malformed requests and resets before a request is parsed: drop the socket quietly.
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

/** An HTTP server whose handler failures are logged and answered 500, never thrown. */
export function createLocalServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (err: unknown) => void,
): Server {
  return tuneServer(createServer(guard(handle, onError)));
}

/**
 * A request's path, as `new URL(target, base).pathname` gives it. Targets made only of path
 * characters URL leaves as they are (no query, dot, backslash, space or empty segment: what the SDK
 * sends for `@connections/{id}`) are their own path; anything else goes through URL.
 */
const PLAIN_PATH = /^\/(?:[\w\-~!$&'()*+,;=:@%]+\/)*[\w\-~!$&'()*+,;=:@%]*$/;
export function requestPath(target: string | undefined): string {
  if (target !== undefined && PLAIN_PATH.test(target)) return target;
  return new URL(target ?? '/', 'http://local').pathname;
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, body = ''): void {
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
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    /^[+/0-9A-Za-z]{22}==$/.test(req.headers['sec-websocket-key'] ?? '') &&
    (req.headers['sec-websocket-version'] === '13' || req.headers['sec-websocket-version'] === '8')
  );
}
