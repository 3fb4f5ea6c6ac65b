/**
 * Test-only DynamoDB fault proxy (LOCAL_FAULTS=1): an HTTP proxy between the handlers and
 * DynamoDB (dynalite or DYNAMODB_ENDPOINT). It forwards every request unchanged — method,
 * path, headers (the signed Host included) and body — and the answer unchanged, unless the
 * fault plan's `dynamodb` part selects the request: then it answers 500 InternalServerError in
 * the AWS JSON 1.0 form DynamoDB uses, without forwarding.
 *
 * The runtime starts it only when fault injection is enabled and points the handlers'
 * DYNAMODB_ENDPOINT at it; without LOCAL_FAULTS the handlers talk to DynamoDB directly. Nothing
 * deployed imports this file.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dynamoFaultNeedsTables, type FaultPlan, type InjectedError, nextDynamoFault } from './faults.js';
import { BodyTooLargeError, closeServer, createLocalServer, listen, readBody, sendJson } from './http.js';
import { log as defaultLog, errorMessage, type Log } from './log.js';

export interface DynamoFaultProxyOptions {
  host: string;
  /** 0 = any free port. */
  port?: number;
  /** Where requests go: the dynalite endpoint or DYNAMODB_ENDPOINT, e.g. `http://127.0.0.1:8000`. */
  upstream: string;
  /** The shared fault plan; read on every request, so changes apply at once. */
  plan: FaultPlan;
  log?: Log;
}

export interface OperationStats {
  requests: number;
  injected: number;
}

export interface DynamoFaultProxyStats {
  /** DynamoDB requests received. */
  requests: number;
  /** Forwarded upstream (whatever upstream answered). */
  forwarded: number;
  /** Answered with an injected error. */
  injected: number;
  /** Could not be forwarded (upstream unreachable): answered 502. */
  upstreamErrors: number;
  /** Per `X-Amz-Target` operation (`unknown` when absent). */
  operations: Record<string, OperationStats>;
}

export interface DynamoFaultProxy {
  port: number;
  /** `http://host:port`: the DYNAMODB_ENDPOINT the handlers get. */
  url: string;
  upstream: string;
  stats(): DynamoFaultProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Above DynamoDB's own request limit (16 MB for BatchWriteItem). */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;
const TARGET_PREFIX = 'DynamoDB_20120810.';
/** Connection-level headers are the proxy's own business on each hop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** The operation named by `X-Amz-Target: DynamoDB_20120810.<Operation>`. */
export function operationOf(target: string | string[] | undefined): string | undefined {
  const value = Array.isArray(target) ? target[0] : target;
  if (!value) return undefined;
  return value.startsWith(TARGET_PREFIX)
    ? value.slice(TARGET_PREFIX.length)
    : value.slice(value.lastIndexOf('.') + 1) || undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The tables a request body names: `TableName` (item, query and table operations),
 * `RequestItems` keys (batch operations), `TransactItems[].<Put|Update|Delete|ConditionCheck|Get>.TableName`.
 * PartiQL statements name none.
 */
export function tableNamesOf(body: unknown): string[] {
  if (!isRecord(body)) return [];
  const names = new Set<string>();
  if (typeof body.TableName === 'string') names.add(body.TableName);
  if (isRecord(body.RequestItems)) for (const name of Object.keys(body.RequestItems)) names.add(name);
  if (Array.isArray(body.TransactItems)) {
    for (const item of body.TransactItems) {
      if (!isRecord(item)) continue;
      for (const action of Object.values(item))
        if (isRecord(action) && typeof action.TableName === 'string') names.add(action.TableName);
    }
  }
  return [...names];
}

function parseTables(body: Buffer): string[] {
  try {
    return tableNamesOf(JSON.parse(body.toString('utf8')));
  } catch {
    return [];
  }
}

function forwardedHeaders(
  headers: IncomingHttpHeaders | NodeJS.Dict<string | string[]>,
  bodyLength?: number,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
    out[name] = value;
  }
  if (bodyLength !== undefined) out['content-length'] = bodyLength;
  return out;
}

/** DynamoDB's error answer (AWS JSON 1.0): the SDK maps `__type` to the modeled exception. */
function sendDynamoError(res: ServerResponse, error: InjectedError): void {
  sendJson(
    res,
    error.status,
    { __type: error.type, message: error.message },
    { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': randomUUID() },
  );
}

export async function startDynamoFaultProxy(options: DynamoFaultProxyOptions): Promise<DynamoFaultProxy> {
  const log = options.log ?? defaultLog;
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
    throw new Error(`DynamoDB fault proxy: unsupported upstream ${options.upstream}`);
  const secure = upstream.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: 256 })
    : new HttpAgent({ keepAlive: true, maxSockets: 256 });
  const send = secure ? httpsRequest : httpRequest;
  const basePath = upstream.pathname.replace(/\/+$/, '');

  let stats: DynamoFaultProxyStats;
  const resetStats = () => {
    stats = { requests: 0, forwarded: 0, injected: 0, upstreamErrors: 0, operations: {} };
  };
  resetStats();

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const outgoing = send(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port || (secure ? 443 : 80),
          method: req.method,
          path: `${basePath}${req.url ?? '/'}`,
          headers: forwardedHeaders(req.headers, body.length),
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedHeaders(answer.headers));
          answer.pipe(res);
          answer.on('error', () => res.destroy());
          answer.on('end', () => resolve());
          answer.on('close', () => resolve());
        },
      );
      outgoing.on('error', (err) => {
        if (!res.headersSent) {
          stats.upstreamErrors += 1;
          log.warn(`DynamoDB fault proxy: upstream ${upstream.origin} failed: ${errorMessage(err)}`);
          sendJson(res, 502, {
            __type: 'BadGateway',
            message: `local DynamoDB proxy: upstream failed: ${errorMessage(err)}`,
          });
        } else {
          res.destroy();
        }
        resolve();
      });
      // The caller gave up (SDK timeout, closed socket): stop the upstream call too.
      res.on('close', () => {
        if (!res.writableFinished) outgoing.destroy();
      });
      outgoing.end(body);
    });
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path === '/_local/stats' && req.method === 'GET') {
      req.resume();
      return sendJson(res, 200, stats);
    }
    let body: Buffer;
    try {
      body = await readBody(req, MAX_REQUEST_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        return sendJson(res, 413, { __type: 'RequestEntityTooLarge', message: 'Request is too large' });
      throw err;
    }
    const operation = operationOf(req.headers['x-amz-target']);
    const counted = (stats.operations[operation ?? 'unknown'] ??= { requests: 0, injected: 0 });
    stats.requests += 1;
    counted.requests += 1;

    const tables = dynamoFaultNeedsTables(options.plan) ? parseTables(body) : [];
    const fault = nextDynamoFault(options.plan, operation, tables);
    if (fault) {
      stats.injected += 1;
      counted.injected += 1;
      return sendDynamoError(res, fault);
    }
    stats.forwarded += 1;
    return forward(req, res, body);
  }

  const server = createLocalServer(onRequest, (err) => log.warn('DynamoDB fault proxy request failed', err));
  const port = await listen(server, 'DynamoDB fault proxy', options.host, options.port ?? 0);
  return {
    port,
    url: `http://${options.host}:${port}`,
    upstream: options.upstream,
    stats: () => structuredClone(stats),
    resetStats,
    close: async () => {
      await closeServer(server);
      agent.destroy();
    },
  };
}
