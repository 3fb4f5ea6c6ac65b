/**
 * The local API Gateway management API: `{endpoint}/@connections/{connectionId}`, also under
 * `/{stage}`, as `https://{api}.execute-api…/{stage}/@connections` serves it in AWS.
 * PostToConnection (POST), GetConnection (GET) and DeleteConnection (DELETE), answered in the
 * shapes the AWS SDK's `ApiGatewayManagementApiClient` reads:
 * - 410 GoneException for connections that are unknown or no longer open;
 * - 413 PayloadTooLargeException for payloads over 128 KB;
 * - with a fault plan, the injected errors and latency of `faults.ts`.
 *
 * It knows connections only through a `ConnectionRegistry`; the gateway implements it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_MESSAGE_BYTES } from '../../lambdas/contract/index.js';
import type { ConnectionInfo } from './apigw-events.js';
import { type FaultPlan, type ManagementOperation, nextFault } from './faults.js';
import { BodyTooLargeError, readBody, sendAwsError, sendJson } from './http.js';

/** An open connection, as the management API sees it. */
export interface RegisteredConnection {
  readonly info: ConnectionInfo;
  /** Epoch ms of the last frame in either direction. */
  readonly lastActiveAt: number;
  /** Sends a text frame; resolves false if the connection is no longer open. */
  send(data: Buffer): Promise<boolean>;
  /** Closes the connection from the gateway side, as DeleteConnection does (1000). */
  close(): void;
}

/** The connections the management API can reach. */
export interface ConnectionRegistry {
  /** The connection if it is open; undefined is answered 410 GoneException. */
  open(connectionId: string): RegisteredConnection | undefined;
}

export interface ManagementApiOptions {
  /** A stage in the endpoint path must be this one. */
  stage: string;
  registry: ConnectionRegistry;
  /** Injected errors and latency; none when unset. */
  faults?: FaultPlan | undefined;
}

/** Answers one request for `path` (the URL's pathname); 404 NotFoundException off `@connections`. */
export type ManagementApi = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

const OPERATIONS = new Map<string, ManagementOperation>([
  ['POST', 'post'],
  ['GET', 'get'],
  ['DELETE', 'delete'],
]);

/** Without a fault plan, every request is answered as it comes. */
const NO_FAULT: Readonly<ReturnType<typeof nextFault>> = { delayMs: 0 };
/** Headers of a PostToConnection answer (Node reads, never changes, a headers object). */
const EMPTY_BODY = { 'Content-Length': 0 } as const;

const CONNECTION_PATH = /^(?:\/([^/]+))?\/@connections\/([^/]+)\/?$/;

export function managementApi({ stage, registry, faults }: ManagementApiOptions): ManagementApi {
  async function operate(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void> {
    const operation = OPERATIONS.get(req.method ?? '');
    if (!operation) return sendAwsError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported`);
    const fault = faults ? nextFault(faults, operation, connectionId) : NO_FAULT;
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

    const conn = registry.open(connectionId);
    if (!conn) return sendAwsError(res, 410, 'GoneException', 'Gone');
    switch (operation) {
      case 'post':
        if (!(await conn.send(payload ?? Buffer.alloc(0)))) return sendAwsError(res, 410, 'GoneException', 'Gone');
        res.writeHead(200, EMPTY_BODY).end();
        return;
      case 'get':
        // Field names as the service sends them (the SDK maps them to ConnectedAt, Identity…).
        return sendJson(res, 200, {
          connectedAt: new Date(conn.info.connectedAt).toISOString(),
          identity: { sourceIp: conn.info.sourceIp, userAgent: conn.info.userAgent ?? '' },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
      case 'delete':
        conn.close();
        res.writeHead(204).end();
        return;
    }
  }

  return async (req, res, path) => {
    const match = CONNECTION_PATH.exec(path);
    const [, pathStage, encodedId] = match ?? [];
    if (!match || encodedId === undefined || (pathStage !== undefined && pathStage !== stage)) {
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
    return operate(req, res, connectionId);
  };
}
