/**
 * A local EventBridge bus with one rule and one target: PutEvents over the AWS JSON 1.1
 * protocol (what `@aws-sdk/client-eventbridge` sends), the rule's event pattern, and
 * asynchronous delivery to the target with retries and a dead-letter queue.
 *
 * Mirrored from EventBridge:
 * - entries are validated one by one; failed entries carry `ErrorCode`/`ErrorMessage` in the
 *   response (in request order) and count in `FailedEntryCount`; more than 10 entries fail the
 *   whole request with ValidationException; any `EventBusName` is accepted;
 * - PutEvents answers before delivery; the target receives the EventBridge event
 *   (`version`, `id` = the returned EventId, `detail-type`, `source`, `account`, `time`…);
 * - a failing target is retried with exponential backoff, then dead-lettered.
 * Local choice: delivery is serial per tenant (`detail.tenantId`) and parallel across tenants,
 * so per-tenant order is deterministic (AWS gives no ordering guarantee).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_PUT_EVENTS_ENTRIES, MAX_PUT_EVENTS_ENTRY_BYTES } from '../../lambdas/contract/index.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './defaults.js';
import { compilePattern } from './event-pattern.js';
import { BodyTooLargeError, closeServer, createLocalServer, listen, readBody, sendAwsError, sendJson } from './http.js';
import { log as defaultLog, errorMessage, type Log } from './log.js';
import { KeyedSerialQueue, RingBuffer, settlesWithin } from './queue.js';
import { usage } from './usage.js';

/** The event a rule target receives. */
export interface LocalEventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 with seconds precision, like EventBridge: `2026-01-01T00:00:00Z`. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** `time` as EventBridge writes it: UTC, no milliseconds. */
export function eventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildEvent(input: {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time?: Date;
  resources?: string[];
}): LocalEventBridgeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': input.detailType,
    source: input.source,
    account: LOCAL_ACCOUNT,
    time: eventTime(input.time ?? new Date()),
    region: LOCAL_REGION,
    resources: input.resources ?? [],
    detail: input.detail,
  };
}

// ------------------------------------------------------------------ PutEvents validation

export type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

type Validated = { ok: true; event: LocalEventBridgeEvent } | { ok: false; ErrorCode: string; ErrorMessage: string };

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * Entry size as EventBridge computes it: 14 bytes for a Time, plus the UTF-8 bytes of Source,
 * DetailType, Detail and every Resource.
 */
export function entrySize(entry: {
  Time?: unknown;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
}): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const part of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])])
    if (part !== undefined) size += utf8(part);
  return size;
}

function required(name: string): Validated {
  return {
    ok: false,
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
  };
}

/** Time as the SDK sends it (epoch seconds) or an ISO string. */
function parseTime(value: unknown): Date | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  const date =
    typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : 'invalid';
}

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Validates one PutEvents entry and builds its event. */
export function validateEntry(raw: unknown): Validated {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry must be an object.' };
  const entry = raw as Record<string, unknown>;
  if (!nonEmptyString(entry.Source)) return required('Source');
  if (!nonEmptyString(entry.DetailType)) return required('DetailType');
  if (!nonEmptyString(entry.Detail)) return required('Detail');
  const resources = entry.Resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r): r is string => typeof r === 'string')) {
    return {
      ok: false,
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Resources is not valid. Reason: must be a list of strings.',
    };
  }
  const time = parseTime(entry.Time);
  if (time === 'invalid')
    return { ok: false, ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' };

  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
    return { ok: false, ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };

  const size = entrySize({
    Time: entry.Time ?? undefined,
    Source: entry.Source,
    DetailType: entry.DetailType,
    Detail: entry.Detail,
    Resources: resources,
  });
  if (size > MAX_PUT_EVENTS_ENTRY_BYTES) {
    return {
      ok: false,
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Event too large: the entry is ${size} bytes, the limit is ${MAX_PUT_EVENTS_ENTRY_BYTES} bytes.`,
    };
  }
  const event = buildEvent({
    source: entry.Source,
    detailType: entry.DetailType,
    detail: detail as Record<string, unknown>,
    resources,
  });
  if (time) event.time = eventTime(time);
  return { ok: true, event };
}

// ------------------------------------------------------------------ delivery

export interface DeadLetter {
  event: LocalEventBridgeEvent;
  error: string;
  attempts: number;
  failedAt: string;
}

export interface InvocationRecord {
  eventId: string;
  detailType: string;
  tenantId: string;
  /**
   * When PutEvents accepted the event, and when its first attempt invoked the target (after the
   * tenant's earlier events: delivery is serial per tenant): epoch ms with a fraction, for the
   * bench's latency breakdown.
   */
  acceptedAt: number;
  invokedAt: number;
  attempts: number;
  result?: unknown;
  error?: string;
}

/** The rule target; a rejection is a failed delivery, retried. */
export type EventTarget = (event: LocalEventBridgeEvent) => Promise<unknown>;

export interface EventBridgeOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** The rule's event pattern (e.g. the contract's `broadcastEventPattern()`). */
  pattern: object;
  target: EventTarget;
  /** Delivery attempts per event, the first included (default 3). */
  attempts?: number;
  /** Backoff before retry n is `baseDelayMs * 2^(n-1)` (default 100). */
  baseDelayMs?: number;
  /** Events waiting for delivery beyond which PutEvents fails entries with ThrottlingException. */
  maxPendingDeliveries?: number;
  /** Invocation records kept (newest). */
  historySize?: number;
  /** Dead letters kept (newest). */
  deadLetterCapacity?: number;
  /** What `GET /_local/idle?gateway=1` also waits for: the gateway's handler invocations. */
  gatewayIdle?: () => Promise<void>;
  log?: Log;
}

export interface LocalEventBridge {
  port: number;
  /** `http://host:port`, the endpoint for EventBridgeClient. */
  url: string;
  deadLetters(): DeadLetter[];
  invocations(): InvocationRecord[];
  /** Resolves when no delivery is queued, running or waiting for a retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const JSON_11 = { 'Content-Type': 'application/x-amz-json-1.1' };
const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';
/** Large enough for 10 entries of 256 KB with JSON escaping. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export async function startEventBridge(options: EventBridgeOptions): Promise<LocalEventBridge> {
  const log = options.log ?? defaultLog;
  const matches = compilePattern(options.pattern);
  const attempts = Math.max(1, options.attempts ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxPending = options.maxPendingDeliveries ?? 10_000;
  const queue = new KeyedSerialQueue();
  const history = new RingBuffer<InvocationRecord>(options.historySize ?? 1000);
  const deadLetters = new RingBuffer<DeadLetter>(options.deadLetterCapacity ?? 1000);
  let closing = false;

  async function deliver(event: LocalEventBridgeEvent, tenantId: string, acceptedAt: number): Promise<void> {
    const invokedAt = performance.timeOrigin + performance.now();
    const record = { eventId: event.id, detailType: event['detail-type'], tenantId, acceptedAt, invokedAt };
    let lastError: unknown;
    let made = 0;
    while (made < attempts) {
      made += 1;
      try {
        const result = await options.target(event);
        history.push({ ...record, attempts: made, result });
        return;
      } catch (err) {
        lastError = err;
      }
      if (closing) break;
      if (made < attempts) await sleep(baseDelayMs * 2 ** (made - 1));
    }
    const error = errorMessage(lastError);
    history.push({ ...record, attempts: made, error });
    deadLetters.push({ event, error, attempts: made, failedAt: new Date().toISOString() });
    log.warn(
      `event ${event.id} (${event['detail-type']}, tenant ${tenantId}) dead-lettered after ${made} attempts: ${error}`,
    );
  }

  function putEvents(
    body: unknown,
  ):
    | { status: 200; response: { FailedEntryCount: number; Entries: EntryResult[] } }
    | { status: 400; type: string; message: string } {
    const entries = (body as { Entries?: unknown } | null)?.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      return {
        status: 400,
        type: 'ValidationException',
        message:
          "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
      };
    }
    if (entries.length > MAX_PUT_EVENTS_ENTRIES) {
      return {
        status: 400,
        type: 'ValidationException',
        message: `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`,
      };
    }
    const acceptedAt = performance.timeOrigin + performance.now();
    const results = entries.map((raw): EntryResult => {
      const checked = validateEntry(raw);
      if (!checked.ok) return { ErrorCode: checked.ErrorCode, ErrorMessage: checked.ErrorMessage };
      const { event } = checked;
      usage.eventPublished(Buffer.byteLength(JSON.stringify(raw)));
      if (matches(event)) {
        if (queue.pending >= maxPending)
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded: the local delivery queue is full.' };
        const tenantId = String(event.detail.tenantId);
        queue.push(
          tenantId,
          () => deliver(event, tenantId, acceptedAt),
          (err) => log.error('delivery failed', err),
        );
      }
      return { EventId: event.id };
    });
    return {
      status: 200,
      response: { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results },
    };
  }

  async function onControl(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
  ): Promise<void> {
    req.resume();
    if (path === '/_local/dlq' && req.method === 'GET') return sendJson(res, 200, deadLetters.list());
    if (path === '/_local/invocations' && req.method === 'GET') return sendJson(res, 200, history.list());
    if (path === '/_local/idle' && (req.method === 'GET' || req.method === 'POST')) {
      const timeoutMs = Math.min(Number(params.get('timeoutMs') ?? 30_000) || 30_000, 120_000);
      const gateway = params.get('gateway') === '1' ? options.gatewayIdle : undefined;
      const idle = await settlesWithin(gateway ? queue.idle().then(gateway) : queue.idle(), timeoutMs);
      return sendJson(res, idle ? 200 : 504, { idle, pending: queue.pending });
    }
    if (path === '/_local/memory' && req.method === 'GET') {
      // With `?gc=1` and node --expose-gc, collect first: heapUsed is then the live heap.
      const gc = (globalThis as { gc?: () => void }).gc;
      const collected = params.get('gc') === '1' && gc !== undefined;
      if (collected) gc();
      return sendJson(res, 200, { ...process.memoryUsage(), collected });
    }
    return sendAwsError(res, 404, 'NotFoundException', 'Not Found');
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname.startsWith('/_local/')) return onControl(req, res, url.pathname, url.searchParams);
    if (req.method !== 'POST' || url.pathname !== '/') {
      req.resume();
      return sendAwsError(res, 404, 'NotFoundException', 'Not Found');
    }
    const target = req.headers['x-amz-target'];
    if (target !== PUT_EVENTS_TARGET) {
      req.resume();
      return sendAwsError(
        res,
        400,
        'UnknownOperationException',
        `Operation ${String(target)} is not supported by the local EventBridge`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, MAX_REQUEST_BYTES)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        return sendAwsError(res, 413, 'RequestEntityTooLargeException', 'Request is too large');
      return sendAwsError(res, 400, 'SerializationException', 'Request body is not valid JSON');
    }
    const answer = putEvents(body);
    const headers = { ...JSON_11, 'x-amzn-RequestId': randomUUID() };
    if (answer.status === 400)
      return sendJson(
        res,
        400,
        { __type: answer.type, message: answer.message },
        { ...headers, 'x-amzn-ErrorType': answer.type },
      );
    return sendJson(res, 200, answer.response, headers);
  }

  const server = createLocalServer(onRequest, (err) => log.warn('EventBridge request failed', err));
  const port = await listen(server, 'EventBridge endpoint', options.host, options.port);

  return {
    port,
    url: `http://${options.host}:${port}`,
    deadLetters: () => deadLetters.list(),
    invocations: () => history.list(),
    idle: () => queue.idle(),
    close: async () => {
      closing = true;
      await closeServer(server);
      if (!(await settlesWithin(queue.idle(), 5000))) log.warn('EventBridge closed with deliveries still running');
    },
  };
}
