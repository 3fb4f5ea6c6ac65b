/**
 * The broadcaster's logic: validate an EventBridge event, build the envelope, log it for resume,
 * and fan it out to the tenant.
 */
import {
  AUDIENCE_KEY,
  type Audience,
  AudienceSchema,
  DEFAULT_PRIORITY,
  detailSchemaFor,
  type Envelope,
  EVENT_ID_PREFIX,
  EventBridgeEventSchema,
  EventTypeSchema,
  MAX_MESSAGE_BYTES,
  PRIORITY_KEY,
  type Priority,
  PrioritySchema,
  TenantIdSchema,
} from '../contract/index.js';
import { type FanoutDeps, type FanoutStats, type FanoutTiming, fanOut } from './fanout.js';
import { describeIssues } from './frames.js';
import type { Clock, EventLog } from './ports.js';

export const RejectReason = {
  malformedEvent: 'malformed_event',
  invalidDetailType: 'invalid_detail_type',
  invalidDetail: 'invalid_detail',
  invalidTenant: 'invalid_tenant',
  invalidAudience: 'invalid_audience',
  invalidPriority: 'invalid_priority',
  tooLarge: 'too_large',
} as const;
export type RejectReasonName = (typeof RejectReason)[keyof typeof RejectReason];

export type Prepared =
  | { ok: true; envelope: Envelope; payload: string; audience?: Audience }
  | { ok: false; reason: RejectReasonName; message: string };

const reject = (reason: RejectReasonName, message: string): Prepared => ({ ok: false, reason, message });

/** The stable event id of an EventBridge event: the same for every retry of it. */
export function eventIdOf(eventBridgeId: string): string {
  return `${EVENT_ID_PREFIX}${eventBridgeId}`;
}

/**
 * Validates an EventBridge event and builds the client envelope. Never throws: a malformed
 * event is a rejection with a reason, so it is not retried forever.
 */
export function prepareEnvelope(event: unknown, clock: Clock): Prepared {
  const outer = EventBridgeEventSchema.safeParse(event);
  if (!outer.success) return reject(RejectReason.malformedEvent, describeIssues(outer.error));
  const { id, time, detail, source } = outer.data;
  const type = outer.data['detail-type'];
  const typeCheck = EventTypeSchema.safeParse(type);
  if (!typeCheck.success)
    return reject(RejectReason.invalidDetailType, `detail-type: ${describeIssues(typeCheck.error)}`);
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return reject(RejectReason.invalidDetail, 'detail must be a JSON object');
  }
  const record = detail as Record<string, unknown>;
  const tenant = TenantIdSchema.safeParse(record.tenantId);
  if (!tenant.success) {
    return reject(
      RejectReason.invalidTenant,
      record.tenantId === undefined ? 'detail.tenantId is missing' : `detail.tenantId: ${describeIssues(tenant.error)}`,
    );
  }
  let audience: Audience | undefined;
  if (record[AUDIENCE_KEY] !== undefined) {
    const parsed = AudienceSchema.safeParse(record[AUDIENCE_KEY]);
    if (!parsed.success)
      return reject(RejectReason.invalidAudience, `detail.${AUDIENCE_KEY}: ${describeIssues(parsed.error)}`);
    audience = parsed.data;
  }
  let priority: Priority = DEFAULT_PRIORITY;
  if (record[PRIORITY_KEY] !== undefined) {
    const parsed = PrioritySchema.safeParse(record[PRIORITY_KEY]);
    if (!parsed.success)
      return reject(RejectReason.invalidPriority, `detail.${PRIORITY_KEY}: ${describeIssues(parsed.error)}`);
    priority = parsed.data;
  }
  const schemaCheck = detailSchemaFor(type).safeParse(record);
  if (!schemaCheck.success)
    return reject(RejectReason.invalidDetail, `detail of ${type}: ${describeIssues(schemaCheck.error)}`);

  const { [AUDIENCE_KEY]: _audience, [PRIORITY_KEY]: _priority, ...data } = record;
  const when = new Date(time);
  const envelope: Envelope = {
    type,
    data,
    timestamp: (Number.isNaN(when.getTime()) ? new Date(clock()) : when).toISOString(),
    eventId: eventIdOf(id),
    tenantId: tenant.data,
    source,
    priority,
  };
  const payload = JSON.stringify(envelope);
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES)
    return reject(
      RejectReason.tooLarge,
      `envelope is ${bytes} bytes; the WebSocket message limit is ${MAX_MESSAGE_BYTES}`,
    );
  return { ok: true, envelope, payload, ...(audience ? { audience } : {}) };
}

export interface BroadcastDeps extends FanoutDeps {
  log: EventLog;
  retentionSeconds: number;
  /**
   * A high-resolution wall clock (epoch milliseconds with a fraction). When set, the result carries
   * `timings`: a few clock reads per event, for the bench's latency breakdown (the local runtime
   * keeps handler results; on AWS an asynchronous invocation's result is discarded).
   */
  now?: (() => number) | undefined;
}

/** When each step of one broadcast ended, in `now` milliseconds. */
export interface BroadcastTimings {
  started: number;
  /** The event's copy was written (its id marker is still being written, beside the recipient read). */
  appended: number;
  /** The first page of recipients arrived. */
  recipientsRead?: number;
  /** The first PostToConnection answered. */
  firstSent?: number;
  /** Every post settled. */
  finished: number;
}

export type BroadcastResult =
  | { status: 'rejected'; reason: RejectReasonName; message: string }
  | {
      status: 'delivered';
      eventId: string;
      tenantId: string;
      type: string;
      duplicate: boolean;
      stats: FanoutStats;
      durationMs: number;
      timings?: BroadcastTimings;
    };

/**
 * Processes one attempt of an event. Storage failures propagate (the invocation fails, Lambda or
 * EventBridge retries, then dead-letters); every attempt keeps the eventId.
 *
 * Each attempt logs the event at its own start time, so a retry is found after the events logged
 * since (its id marker keeps the first position). The event's copy is written strictly BEFORE the
 * recipients are read: a connection that becomes visible to fan-out after that read finds the
 * event in the log when it resumes, and one visible before it is a recipient. Reading both at once
 * would open a window where a connection is in neither. The id marker (a conditional PutItem)
 * is written while the recipients are read, and the first post waits for it: no client holds the
 * event before a resume from it can find its position. So one PutItem stands before the recipient
 * read, and max(marker, read) before the first post; README "Delivery guarantees".
 */
export async function broadcast(deps: BroadcastDeps, event: unknown): Promise<BroadcastResult> {
  const startedHr = deps.now?.();
  const started = deps.clock();
  const prepared = prepareEnvelope(event, deps.clock);
  if (!prepared.ok) return { status: 'rejected', reason: prepared.reason, message: prepared.message };
  const { envelope, payload, audience } = prepared;
  const ttl = Math.floor(started / 1000) + deps.retentionSeconds;
  await deps.log.writeCopy({ envelope, ...(audience ? { audience } : {}) }, started, ttl);
  const marking = deps.log.markFirst(envelope.tenantId, envelope.eventId, started, ttl);
  // Awaited by the fan-out before its first post, and below; never left to reject unobserved.
  marking.catch(() => undefined);
  const timing: FanoutTiming | undefined = deps.now ? { now: deps.now } : undefined;
  const appended = deps.now?.();
  const stats = await fanOut({ ...deps, timing, ready: marking }, envelope.tenantId, {
    type: envelope.type,
    source: envelope.source,
    priority: envelope.priority,
    payload,
    ...(audience ? { audience } : {}),
  });
  const { duplicate } = await marking;
  return {
    status: 'delivered',
    eventId: envelope.eventId,
    tenantId: envelope.tenantId,
    type: envelope.type,
    duplicate,
    stats,
    durationMs: deps.clock() - started,
    ...(deps.now && timing && startedHr !== undefined && appended !== undefined
      ? {
          timings: {
            started: startedHr,
            appended,
            ...(timing.recipientsAt !== undefined ? { recipientsRead: timing.recipientsAt } : {}),
            ...(timing.firstSentAt !== undefined ? { firstSent: timing.firstSentAt } : {}),
            finished: deps.now(),
          },
        }
      : {}),
  };
}
