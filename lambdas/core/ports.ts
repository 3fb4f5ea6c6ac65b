/**
 * The dependencies pure logic receives. Adapters in `lambdas/adapters/` implement them against
 * DynamoDB, the API Gateway management API and jose; tests pass in-memory or failing versions.
 */
import type {
  Audience,
  ConnectionRecord,
  DueConnection,
  Envelope,
  Recipient,
  ReplayState,
  SubscriptionFilter,
} from '../contract/index.js';

/** Epoch milliseconds. */
export type Clock = () => number;

export interface Identity {
  tenantId: string;
  userId: string;
  roles: string[];
  /** Epoch seconds (`exp`). */
  expiresAt: number;
}

export interface TokenVerifier {
  /** Resolves the identity, or throws an `AuthError` with a client-safe code and message. */
  verify(token: string): Promise<Identity>;
}

/**
 * Why `authenticate` changed nothing: the record belongs to another tenant or user; the session it
 * would refresh has expired; or the connection is closed (no record, or marked broken).
 */
export type AuthenticateOutcome = 'authenticated' | 'mismatch' | 'expired' | 'closed';

export interface ConnectionStore {
  putPending(record: { connectionId: string; connectedAt: number; authDeadline: number; ttl: number }): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * Marks the connection authenticated (or refreshes it), in one conditional write: only if the
   * record exists and is not broken, and is pending or belongs to the same tenant and user with a
   * session not yet expired at `nowSeconds`. Never recreates a deleted record.
   */
  authenticate(connectionId: string, identity: Identity, nowSeconds: number): Promise<AuthenticateOutcome>;
  /**
   * Replaces the subscription filter (`subscriptions`, `sources`, `minPriority`) if the record is
   * authenticated, its session not expired at `nowSeconds`, and its `subscriptionsVersion` still
   * `version` (0: never changed); then bumps the version. Returns false when any of that failed
   * (the caller reads again and retries).
   */
  setFilter(connectionId: string, filter: SubscriptionFilter, version: number, nowSeconds: number): Promise<boolean>;
  delete(connectionId: string): Promise<void>;
  /** Deletes only if `sweepAt` is still at or before `nowSeconds`; returns whether it did. */
  deleteIfDue(connectionId: string, nowSeconds: number): Promise<boolean>;
  /**
   * Marks a connection broken (a delivery failed for good and it could not be closed): sets
   * `brokenAt` and makes it due for the sweeper now. Never recreates a deleted record; returns
   * whether the record was there.
   */
  markBroken(connectionId: string, nowSeconds: number): Promise<boolean>;
  /**
   * Counts one `resume` call in the connection's fixed rate-limit window (conditional writes, so
   * concurrent calls cannot both take the last one); false when the window's calls are used up.
   */
  takeResumeCall(
    connectionId: string,
    nowSeconds: number,
    limit: { calls: number; windowSeconds: number },
  ): Promise<boolean>;
  /** Saves the resume sequence in progress, or clears it (`undefined`). Never recreates a record. */
  saveReplay(connectionId: string, state: ReplayState | undefined): Promise<void>;
  /** Authenticated connections of a tenant, a page at a time (tenant index query). */
  recipients(tenantId: string): AsyncIterable<Recipient[]>;
  /** Authenticated connections of these users of a tenant (user index queries). */
  recipientsOf(tenantId: string, userIds: readonly string[]): AsyncIterable<Recipient[]>;
  /** Connections whose `sweepAt` is at or before `nowSeconds` (sweep index query, all shards). */
  due(nowSeconds: number): AsyncIterable<DueConnection[]>;
}

export interface LoggedEvent {
  envelope: Envelope;
  audience?: Audience;
}

/** One logged copy of an event, as a resume reads it. */
export interface LogItem extends LoggedEvent {
  /** Its sort key: the start time of the broadcaster attempt that logged it. */
  position: string;
  /** Epoch seconds; the copy is past retention at or after it. */
  ttl: number;
  /** On a copy logged by a later attempt: where the event's first copy is, and its ttl. */
  first?: { position: string; ttl: number };
}

export interface EventLog {
  /**
   * Logs one broadcaster attempt of an event at `attemptStartMs`, in two steps (`appendEvent` runs
   * both; the broadcaster reads recipients between them). First, this attempt's copy: a new
   * time-ordered copy every time, so a retry is found after the events logged since; readable by
   * a range read once this resolves.
   */
  writeCopy(event: LoggedEvent, attemptStartMs: number, ttl: number): Promise<void>;
  /**
   * Second, after `writeCopy` of the same attempt: the event's id marker, which keeps the FIRST
   * copy's position (its resume position). `duplicate: true` when it already existed; then this
   * copy is pointed at the first one.
   */
  markFirst(tenantId: string, eventId: string, attemptStartMs: number, ttl: number): Promise<{ duplicate: boolean }>;
  /** The first copy's position of an event of this tenant, or undefined (unknown, or expired). */
  position(tenantId: string, eventId: string, nowSeconds: number): Promise<string | undefined>;
  /**
   * Logged copies of the tenant from position `from` (inclusive), after `after` (exclusive) if
   * given, oldest first, at most `limit` items read (expired ones included: see `ttl`). `done`
   * when the end of the log was reached.
   */
  read(
    tenantId: string,
    range: { from: string; after?: string | undefined },
    limit: number,
  ): Promise<{ items: LogItem[]; done: boolean }>;
  /**
   * The id of an event whose first copy is the tenant's newest unexpired one (copies logged by
   * retries are passed over, since resuming from them would replay from their old position).
   */
  latest(tenantId: string, nowSeconds: number): Promise<string | undefined>;
}

export type SendResult = 'sent' | 'gone';

export interface Sender {
  /**
   * PostToConnection. Resolves 'gone' on 410; throws `SendError` (with `retryable`) for
   * throttling, server errors and anything else.
   */
  post(connectionId: string, payload: string): Promise<SendResult>;
  /** DeleteConnection; a connection already gone is not an error. */
  close(connectionId: string): Promise<void>;
}

/** An opaque position in a tenant's event log (the adapter's sort key): continue reading after it. */
export type LogPosition = string;

/** Where a forward read of a tenant's log starts. */
export type LogStart =
  /** Just after this event (any eventId of the tenant is a cursor). */
  | { afterEventId: string }
  /** At the first event logged at or after this time (epoch ms). */
  | { sinceMs: number }
  /** Just after a position an earlier read returned. */
  | { afterPosition: LogPosition };

export interface LogChunk {
  /** The unexpired events read, in the order of the read. */
  events: LoggedEvent[];
  /** Continue after this position; absent when the read reached the end of the log. */
  next?: LogPosition;
}

/**
 * Bounded reads of a tenant's event log for the HTTP API: each call reads at most `limit` log
 * entries (expired ones count but are not returned), in one query.
 */
export interface EventLogScan {
  /** In log order from `start`; `undefined` when `afterEventId` is unknown for this tenant or expired. */
  scanForward(tenantId: string, start: LogStart, limit: number, nowSeconds: number): Promise<LogChunk | undefined>;
  /** Newest first, from the newest event or from just before `before`. */
  scanBackward(tenantId: string, before: LogPosition | undefined, limit: number, nowSeconds: number): Promise<LogChunk>;
}
