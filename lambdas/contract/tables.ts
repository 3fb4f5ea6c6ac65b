/**
 * DynamoDB table definitions: key names, indexes and TTL attributes. The stack builds its
 * tables from these, the local runtime creates identical tables, and the store adapter reads
 * and writes the attributes named here.
 */
import type { Priority } from './event-types.js';

export type KeyType = 'S' | 'N';
export interface KeyDef {
  readonly name: string;
  readonly type: KeyType;
}
export interface IndexDef {
  readonly indexName: string;
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
  /** Non-key attributes projected into the index (INCLUDE projection). */
  readonly nonKeyAttributes: readonly string[];
}
export interface TableDef {
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: readonly IndexDef[];
}

/** Attribute names of a connection record. */
export const ConnectionAttr = {
  connectionId: 'connectionId',
  /** Set only once authenticated: makes the record visible in the sparse tenant index. */
  tenantId: 'tenantId',
  userId: 'userId',
  /** `tenantUserKey(tenantId, userId)`, set with tenantId: keys the sparse user index. */
  tenantUser: 'tenantUser',
  roles: 'roles',
  /** Subscription patterns; empty or absent means every event type of the tenant. */
  subscriptions: 'subscriptions',
  /** Exact EventBridge sources the connection receives; empty or absent means any source. */
  sources: 'sources',
  /** The lowest priority the connection receives; absent means every priority (`low`). */
  minPriority: 'minPriority',
  connectedAt: 'connectedAt',
  /** Epoch seconds: when a pending connection must have authenticated. */
  authDeadline: 'authDeadline',
  /** Epoch seconds: the token's `exp`. */
  tokenExpiresAt: 'tokenExpiresAt',
  /** Sweep index partition (`s0`…`s7`), spreads index writes. */
  sweepShard: 'sweepShard',
  /** Epoch seconds: when the sweeper acts (the auth deadline, then the token expiry). */
  sweepAt: 'sweepAt',
  /** `sweepKey(sweepAt, connectionId)`: the sweep index's sort key, unique per connection. */
  sweepKey: 'sweepKey',
  /** TTL, epoch seconds. */
  ttl: 'ttl',
  /**
   * Epoch seconds: a delivery to this connection failed for good and closing it failed too.
   * Fan-out sends it nothing more (and retries the close); the sweeper closes it (its `sweepAt`
   * is set to the same time, so it is due at once).
   */
  brokenAt: 'brokenAt',
  /** Incremented by every subscription change; the change is conditional on the value read. */
  subscriptionsVersion: 'subscriptionsVersion',
  /** Epoch seconds: start of the connection's current resume rate-limit window. */
  resumeWindow: 'resumeWindow',
  /** `resume` calls made in `resumeWindow`. */
  resumeCalls: 'resumeCalls',
  /** The resume sequence in progress (a `ReplayState`), while its last answer said `more`. */
  replay: 'replay',
} as const;

export const TENANT_INDEX = 'byTenant';
export const USER_INDEX = 'byTenantUser';
export const SWEEP_INDEX = 'bySweepAt';

export const CONNECTIONS_TABLE: TableDef = {
  partitionKey: { name: ConnectionAttr.connectionId, type: 'S' },
  timeToLiveAttribute: ConnectionAttr.ttl,
  globalSecondaryIndexes: [
    {
      // Sparse: pending connections carry no tenantId, so fan-out never sees them. The sort key
      // makes every index key unique: emulators that key index entries by a short hash of the
      // table key (dynalite uses 24 bits) would otherwise drop recipients of large tenants.
      indexName: TENANT_INDEX,
      partitionKey: { name: ConnectionAttr.tenantId, type: 'S' },
      sortKey: { name: ConnectionAttr.connectionId, type: 'S' },
      nonKeyAttributes: [
        ConnectionAttr.userId,
        ConnectionAttr.roles,
        ConnectionAttr.subscriptions,
        ConnectionAttr.sources,
        ConnectionAttr.minPriority,
        ConnectionAttr.tokenExpiresAt,
        ConnectionAttr.brokenAt,
      ],
    },
    {
      // Sparse too: a user's connections within a tenant, so an event addressed to a few users
      // reads only their connections instead of the whole tenant.
      indexName: USER_INDEX,
      partitionKey: { name: ConnectionAttr.tenantUser, type: 'S' },
      sortKey: { name: ConnectionAttr.connectionId, type: 'S' },
      nonKeyAttributes: [
        ConnectionAttr.tenantId,
        ConnectionAttr.userId,
        ConnectionAttr.roles,
        ConnectionAttr.subscriptions,
        ConnectionAttr.sources,
        ConnectionAttr.minPriority,
        ConnectionAttr.tokenExpiresAt,
        ConnectionAttr.brokenAt,
      ],
    },
    {
      // Sorted by time, unique per connection (many connections share one deadline second).
      indexName: SWEEP_INDEX,
      partitionKey: { name: ConnectionAttr.sweepShard, type: 'S' },
      sortKey: { name: ConnectionAttr.sweepKey, type: 'S' },
      nonKeyAttributes: [ConnectionAttr.tenantId, ConnectionAttr.brokenAt],
    },
  ],
};

/** Attribute names of the tenant event log. */
export const EventLogAttr = {
  tenantId: 'tenantId',
  /**
   * `e#<13-digit epoch ms>#<eventId>` for a logged copy of an event (one per broadcaster attempt,
   * at the attempt's start time); `id#<eventId>` for its id marker.
   */
  sk: 'sk',
  eventId: 'eventId',
  /** On an id marker: the `sk` of the event's first logged copy (its resume position). */
  seq: 'seq',
  /** On a copy logged by a later attempt: the `sk` of the first copy. */
  first: 'first',
  /** On a copy logged by a later attempt: the `ttl` of the first copy. */
  firstTtl: 'firstTtl',
  /** On a logged event: the envelope as sent to clients (JSON string). */
  envelope: 'envelope',
  /** On a logged event: the audience it was targeted at (JSON string), if any. */
  audience: 'audience',
  type: 'type',
  ttl: 'ttl',
} as const;

export const EVENT_LOG_TABLE: TableDef = {
  partitionKey: { name: EventLogAttr.tenantId, type: 'S' },
  sortKey: { name: EventLogAttr.sk, type: 'S' },
  timeToLiveAttribute: EventLogAttr.ttl,
  globalSecondaryIndexes: [],
};

/** Sort-key prefixes of the event log. */
export const EVENT_LOG_PREFIX = { event: 'e#', idMarker: 'id#' } as const;
/** Upper bound for a range query over logged events (`~` sorts after every digit). */
export const EVENT_LOG_END = 'e#~';

/** The user index key. Tenant and user ids never contain `#`, so the pair is unambiguous. */
export function tenantUserKey(tenantId: string, userId: string): string {
  return `${tenantId}#${userId}`;
}

/** The sweep index sort key: zero-padded epoch seconds, then the connection id. */
export function sweepKey(sweepAtSeconds: number, connectionId: string): string {
  return `${String(sweepAtSeconds).padStart(12, '0')}#${connectionId}`;
}
/** Upper bound (exclusive) of the sweep keys due at `nowSeconds`. */
export function sweepKeyBefore(nowSeconds: number): string {
  return String(nowSeconds + 1).padStart(12, '0');
}

export function eventLogSortKey(receivedAtMs: number, eventId: string): string {
  return `${eventLogFrom(receivedAtMs)}#${eventId}`;
}
/** The lowest event-log sort key at `atMs`: every copy logged at or after it sorts after it. */
export function eventLogFrom(atMs: number): string {
  return `${EVENT_LOG_PREFIX.event}${String(Math.max(0, Math.floor(atMs))).padStart(13, '0')}`;
}
/** The epoch milliseconds of an event-log sort key (`e#<13 digits>#…`). */
export function eventLogTimeMs(sortKey: string): number {
  const digits = sortKey.slice(EVENT_LOG_PREFIX.event.length, EVENT_LOG_PREFIX.event.length + 13);
  const ms = Number(digits);
  if (!sortKey.startsWith(EVENT_LOG_PREFIX.event) || !/^\d{13}$/.test(digits) || !Number.isSafeInteger(ms))
    throw new Error(`not an event-log sort key: ${sortKey}`);
  return ms;
}
export function eventIdMarkerKey(eventId: string): string {
  return `${EVENT_LOG_PREFIX.idMarker}${eventId}`;
}

/** A connection record as the store returns it. Times are epoch seconds. */
export interface ConnectionRecord {
  connectionId: string;
  tenantId?: string;
  userId?: string;
  roles?: string[];
  subscriptions?: string[];
  sources?: string[];
  minPriority?: Priority;
  connectedAt: number;
  authDeadline?: number;
  tokenExpiresAt?: number;
  sweepShard?: string;
  sweepAt?: number;
  sweepKey?: string;
  ttl: number;
  brokenAt?: number;
  subscriptionsVersion?: number;
  resumeWindow?: number;
  resumeCalls?: number;
  replay?: ReplayState;
}

/**
 * Where a resume sequence stands between its pages. The next `resume` continues it only if it
 * names `cursor` (the `lastEventId` of the last answer); any other id starts a new sequence.
 */
export interface ReplayState {
  /** The `lastEventId` the last page answered. */
  cursor: string;
  /** The `lastEventId` that started the sequence (never re-sent). */
  origin: string;
  /** Sort key the sequence started from: the origin's first position minus the overlap. */
  from: string;
  /** Sort key of the last log item read, if any; the next page reads after it. */
  after?: string;
  /** Envelopes sent so far (counted against MAX_REPLAY_EVENTS). */
  sent: number;
  /** Log items read so far (counted against MAX_REPLAY_SCANNED_ITEMS). */
  scanned: number;
}

/** What fan-out reads from the tenant index. */
export type Recipient = Required<Pick<ConnectionRecord, 'connectionId' | 'tenantId'>> &
  Pick<
    ConnectionRecord,
    'userId' | 'roles' | 'subscriptions' | 'sources' | 'minPriority' | 'tokenExpiresAt' | 'brokenAt'
  >;

/** What the sweeper reads from the sweep index. */
export type DueConnection = Pick<ConnectionRecord, 'connectionId' | 'tenantId' | 'brokenAt'>;
