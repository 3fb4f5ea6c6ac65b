/**
 * `GET /events`: its parameters and the one page function behind it (the events after a cursor,
 * in log order, filtered exactly like live delivery, bounded in what it reads and returns).
 * Split from `http-api.ts`, which routes to it.
 */
import {
  DEFAULT_EVENTS_LIMIT,
  type Envelope,
  type EventsResponse,
  HttpQuery,
  MAX_EVENT_ID_BYTES,
  MAX_EVENTS_LIMIT,
  MAX_EVENTS_RESPONSE_BYTES,
  MAX_FILTER_SOURCES,
  MAX_POLL_EVENTS,
  MAX_POLL_SCAN_EVENTS,
  MAX_SUBSCRIPTIONS,
  type Priority,
  PrioritySchema,
  SourceSchema,
  SubscriptionPatternSchema,
} from '../contract/index.js';
import { describeIssues } from './frames.js';
import { delivers, eventOf } from './matching.js';
import type { EventLogScan, LogChunk, LoggedEvent } from './ports.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

export interface PollLimits {
  /** More events than this after the cursor, for this caller, is a gap. */
  maxEvents: number;
  /** Log entries one request reads at most. */
  scanBudget: number;
  /** Log entries per read (one query each). */
  chunkSize: number;
  /** Envelope bytes in one answer at most. */
  maxResponseBytes: number;
}

export const DEFAULT_POLL_LIMITS: PollLimits = {
  maxEvents: MAX_POLL_EVENTS,
  scanBudget: MAX_POLL_SCAN_EVENTS,
  chunkSize: 250,
  maxResponseBytes: MAX_EVENTS_RESPONSE_BYTES,
};

// ---------------------------------------------------------------- GET /events: parameters

/** Where a poll starts: after an event, at a time, or (neither) at the newest events. */
export type PollCursor = { after: string } | { since: number } | undefined;

export interface EventsQuery {
  cursor: PollCursor;
  /** Subscription patterns; empty means every type. */
  types: string[];
  /** Exact EventBridge sources; empty means every source. */
  sources: string[];
  /** The lowest priority returned; absent means every priority. */
  minPriority?: Priority;
  limit: number;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** `since`: ISO 8601 with a zone (`2026-01-01T12:00:00Z`) or epoch milliseconds; undefined when neither. */
export function parseSince(value: string): number | undefined {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (!ISO_DATE_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A comma-separated list parameter: entries trimmed, each checked by `schema`, duplicates
 * dropped, at most `max`; unset or blank is the empty list.
 */
function parseList(
  raw: string | undefined,
  name: string,
  schema: {
    safeParse(value: string): { success: true } | { success: false; error: Parameters<typeof describeIssues>[0] };
  },
  max: number,
  unit: string,
): { ok: true; list: string[] } | { ok: false; message: string } {
  const list: string[] = [];
  if (raw === undefined || raw.trim() === '') return { ok: true, list };
  for (const entry of raw.split(',')) {
    const value = entry.trim();
    const checked = schema.safeParse(value);
    if (!checked.success)
      return { ok: false, message: `${name}: ${JSON.stringify(value.slice(0, 64))} ${describeIssues(checked.error)}` };
    if (!list.includes(value)) list.push(value);
  }
  if (list.length > max) return { ok: false, message: `${name}: at most ${max} ${unit}` };
  return { ok: true, list };
}

/** Validates `GET /events` parameters; every message names its parameter. Unknown parameters are ignored. */
export function parseEventsQuery(
  query: Readonly<Record<string, string | undefined>>,
): { ok: true; value: EventsQuery } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  const after = query[HttpQuery.after];
  const since = query[HttpQuery.since];
  const rawLimit = query[HttpQuery.limit];
  const rawTypes = query[HttpQuery.types];
  const rawSources = query[HttpQuery.sources];
  const rawMinPriority = query[HttpQuery.minPriority];

  if (after !== undefined && since !== undefined)
    return fail(`${HttpQuery.after}, ${HttpQuery.since}: give one of them, not both`);

  let limit = DEFAULT_EVENTS_LIMIT;
  if (rawLimit !== undefined) {
    limit = /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_EVENTS_LIMIT))
      return fail(`${HttpQuery.limit}: must be an integer from 1 to ${MAX_EVENTS_LIMIT}`);
  }

  const types = parseList(rawTypes, HttpQuery.types, SubscriptionPatternSchema, MAX_SUBSCRIPTIONS, 'patterns');
  if (!types.ok) return types;
  // Matched exactly, so a source holding a comma (or surrounding spaces) cannot be named here.
  const sources = parseList(rawSources, HttpQuery.sources, SourceSchema, MAX_FILTER_SOURCES, 'sources');
  if (!sources.ok) return sources;

  let minPriority: Priority | undefined;
  if (rawMinPriority !== undefined) {
    const checked = PrioritySchema.safeParse(rawMinPriority);
    if (!checked.success) return fail(`${HttpQuery.minPriority}: ${describeIssues(checked.error)}`);
    minPriority = checked.data;
  }

  let cursor: PollCursor;
  if (after !== undefined) {
    if (after === '') return fail(`${HttpQuery.after}: must not be empty`);
    cursor = { after };
  } else if (since !== undefined) {
    const ms = parseSince(since);
    if (ms === undefined)
      return fail(
        `${HttpQuery.since}: must be an ISO 8601 date-time with a zone (2026-01-01T12:00:00Z) or epoch milliseconds`,
      );
    cursor = { since: ms };
  }
  return {
    ok: true,
    value: { cursor, types: types.list, sources: sources.list, ...(minPriority ? { minPriority } : {}), limit },
  };
}

// ---------------------------------------------------------------- GET /events: the page function

/** What live delivery filters on: the connection's subscription filter, user and roles. */
export interface DeliveryFilter {
  /** Subscription patterns; empty means every type. */
  types: readonly string[];
  /** Exact EventBridge sources; empty or absent means every source. */
  sources?: readonly string[] | undefined;
  /** The lowest priority; absent means every priority. */
  minPriority?: Priority | undefined;
  userId: string;
  roles: readonly string[];
}

/** True when live delivery would send this event to a connection with this filter (`delivers`). */
export function deliverable(filter: DeliveryFilter, event: LoggedEvent): boolean {
  return delivers({ ...filter, eventTypes: filter.types }, eventOf(event.envelope, event.audience));
}

export type PollResult = { ok: true; response: EventsResponse } | { ok: false; message: string };

type Opened = { ok: true; chunk: LogChunk; cursorId: string | null } | { ok: false; message: string };

/**
 * The first read from a client's cursor, or why it cannot be read from: the one place that
 * decides a cursor is a gap. An `after` that is unknown in the caller's own tenant (never
 * issued, expired, or another tenant's: they look the same) is a gap; so is a `since` older than
 * the retention, since events before it may already be gone.
 */
export async function openCursor(
  log: EventLogScan,
  tenantId: string,
  cursor: { after: string } | { since: number },
  nowMs: number,
  retentionHours: number,
  chunkSize: number,
): Promise<Opened> {
  if ('after' in cursor) {
    // An id longer than any we issue is unknown by definition (and must not reach the key limit).
    const chunk =
      new TextEncoder().encode(cursor.after).length > MAX_EVENT_ID_BYTES
        ? undefined
        : await log.scanForward(tenantId, { afterEventId: cursor.after }, chunkSize, seconds(nowMs));
    if (chunk === undefined)
      return {
        ok: false,
        message: `unknown or expired "${HttpQuery.after}" for this tenant: refetch state, then poll without "${HttpQuery.after}"`,
      };
    return { ok: true, chunk, cursorId: cursor.after };
  }
  if (cursor.since < nowMs - retentionHours * 3_600_000) {
    return {
      ok: false,
      message: `"${HttpQuery.since}" is older than the event retention (${retentionHours} h): refetch state`,
    };
  }
  const chunk = await log.scanForward(tenantId, { sinceMs: cursor.since }, chunkSize, seconds(nowMs));
  return { ok: true, chunk: chunk ?? { events: [] }, cursorId: null };
}

/**
 * One answer of `GET /events`, filtered exactly like live delivery, deduplicated by eventId:
 * - with a cursor: the first `limit` events after it in log order, `more` when others follow;
 *   more than `limits.maxEvents` events for this caller after the cursor is a gap;
 * - without: the newest `limit` events, in log order, and the tenant's newest event id as the
 *   next cursor.
 * Reads at most `limits.scanBudget` log entries; past that it answers what it found, with
 * `more: true` and a cursor past what it read.
 */
export async function pollEvents(
  log: EventLogScan,
  tenantId: string,
  filter: DeliveryFilter,
  query: Pick<EventsQuery, 'cursor' | 'limit'>,
  nowMs: number,
  retentionHours: number,
  limits: PollLimits = DEFAULT_POLL_LIMITS,
): Promise<PollResult> {
  const nowSeconds = seconds(nowMs);
  const seen = new Set<string>();
  const firstRead = Math.min(limits.chunkSize, limits.scanBudget);
  let budget = limits.scanBudget - firstRead;
  /** The read after `chunk`, unless it reached the end of the log or the budget is spent. */
  const nextChunk = (chunk: LogChunk, read: (from: string, size: number) => Promise<LogChunk | undefined>) => {
    if (chunk.next === undefined || budget <= 0) return Promise.resolve(undefined);
    const size = Math.min(limits.chunkSize, budget);
    budget -= size;
    return read(chunk.next, size);
  };
  const sizeOf = (envelope: Envelope) => Buffer.byteLength(JSON.stringify(envelope), 'utf8');

  if (query.cursor === undefined) {
    const picked: Envelope[] = [];
    let head: string | null = null;
    let bytes = 0;
    let chunk: LogChunk | undefined = await log.scanBackward(tenantId, undefined, firstRead, nowSeconds);
    reading: while (chunk) {
      for (const event of chunk.events) {
        const id = event.envelope.eventId;
        head ??= id;
        if (seen.has(id)) continue;
        seen.add(id);
        if (!deliverable(filter, event)) continue;
        const size = sizeOf(event.envelope);
        if (picked.length >= query.limit || bytes + size > limits.maxResponseBytes) break reading;
        picked.push(event.envelope);
        bytes += size;
      }
      if (picked.length >= query.limit) break;
      chunk = await nextChunk(chunk, (from, size) => log.scanBackward(tenantId, from, size, nowSeconds));
    }
    return { ok: true, response: { events: picked.reverse(), lastEventId: head, more: false } };
  }

  const opened = await openCursor(log, tenantId, query.cursor, nowMs, retentionHours, firstRead);
  if (!opened.ok) return opened;
  const page: Envelope[] = [];
  let lastEventId = opened.cursorId;
  let bytes = 0;
  /** Events for this caller after the cursor, returned or not (the cap counts these). */
  let matched = 0;
  /** A deliverable event did not fit: the page is complete and more follows. */
  let full = false;
  let chunk: LogChunk | undefined = opened.chunk;
  let endOfLog = false;
  while (chunk) {
    for (const event of chunk.events) {
      const id = event.envelope.eventId;
      if (seen.has(id)) continue;
      seen.add(id);
      const visible = deliverable(filter, event);
      if (visible) matched++;
      if (matched > limits.maxEvents)
        return { ok: false, message: `more than ${limits.maxEvents} events were missed: refetch state` };
      if (full) continue;
      if (visible) {
        const size = sizeOf(event.envelope);
        if (page.length >= query.limit || bytes + size > limits.maxResponseBytes) {
          full = true;
          continue;
        }
        page.push(event.envelope);
        bytes += size;
      }
      lastEventId = id;
    }
    if (chunk.next === undefined) {
      endOfLog = true;
      break;
    }
    chunk = await nextChunk(chunk, (from, size) =>
      log.scanForward(tenantId, { afterPosition: from }, size, nowSeconds),
    );
  }
  return { ok: true, response: { events: page, lastEventId, more: full || !endOfLog } };
}
