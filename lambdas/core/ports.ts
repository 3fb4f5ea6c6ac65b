/**
 * The dependencies pure logic receives. Adapters in `lambdas/adapters/` implement them against
 * DynamoDB, the API Gateway management API and jose; tests pass in-memory or failing versions.
 */
import type { Audience, ConnectionRecord, Envelope, Recipient } from '../contract/index.js';

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

export interface ConnectionStore {
  putPending(record: { connectionId: string; connectedAt: number; authDeadline: number; ttl: number }): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * Marks the connection authenticated (or refreshes it). Succeeds only if the record is still
   * pending or belongs to the same tenant and user; returns false when that condition failed.
   * An existing record keeps its `ttl`; `ttl` applies only if the record is gone.
   */
  authenticate(connectionId: string, identity: Identity, ttl: number): Promise<boolean>;
  /** Replaces the subscription set; returns false if the connection is not authenticated. */
  setSubscriptions(connectionId: string, subscriptions: string[]): Promise<boolean>;
  delete(connectionId: string): Promise<void>;
  /** Deletes only if `sweepAt` is still at or before `nowSeconds`; returns whether it did. */
  deleteIfDue(connectionId: string, nowSeconds: number): Promise<boolean>;
  /** Authenticated connections of a tenant, a page at a time (tenant index query). */
  recipients(tenantId: string): AsyncIterable<Recipient[]>;
  /** Authenticated connections of these users of a tenant (user index queries). */
  recipientsOf(tenantId: string, userIds: readonly string[]): AsyncIterable<Recipient[]>;
  /** Connections whose `sweepAt` is at or before `nowSeconds` (sweep index query, all shards). */
  due(nowSeconds: number): AsyncIterable<Pick<ConnectionRecord, 'connectionId' | 'tenantId'>[]>;
}

export interface LoggedEvent {
  envelope: Envelope;
  audience?: Audience;
}

export interface EventLog {
  /**
   * Appends an event once: a second append of the same eventId (a retried delivery) changes
   * nothing and reports `duplicate: true`.
   */
  append(event: LoggedEvent, receivedAtMs: number, ttl: number): Promise<{ duplicate: boolean }>;
  /**
   * Events of the tenant logged after `lastEventId`, oldest first, at most `limit`.
   * Returns `undefined` when the id is unknown for this tenant (or has expired).
   */
  after(tenantId: string, lastEventId: string, limit: number, nowSeconds: number): Promise<LoggedEvent[] | undefined>;
  /** The id of the tenant's newest unexpired logged event, if any. */
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
