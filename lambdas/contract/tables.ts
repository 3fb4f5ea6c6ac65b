/**
 * DynamoDB table definitions: key names, indexes and TTL attributes. The stack builds its
 * tables from these, the local runtime creates identical tables, and the store adapter reads
 * and writes the attributes named here.
 */

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
        ConnectionAttr.tokenExpiresAt,
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
        ConnectionAttr.tokenExpiresAt,
      ],
    },
    {
      // Sorted by time, unique per connection (many connections share one deadline second).
      indexName: SWEEP_INDEX,
      partitionKey: { name: ConnectionAttr.sweepShard, type: 'S' },
      sortKey: { name: ConnectionAttr.sweepKey, type: 'S' },
      nonKeyAttributes: [ConnectionAttr.tenantId],
    },
  ],
};

/** Attribute names of the tenant event log. */
export const EventLogAttr = {
  tenantId: 'tenantId',
  /** `e#<13-digit epoch ms>#<eventId>` for a logged event; `id#<eventId>` for its id marker. */
  sk: 'sk',
  eventId: 'eventId',
  /** On an id marker: the `sk` of the logged event. */
  seq: 'seq',
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
  return `${EVENT_LOG_PREFIX.event}${String(receivedAtMs).padStart(13, '0')}#${eventId}`;
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
  connectedAt: number;
  authDeadline?: number;
  tokenExpiresAt?: number;
  sweepShard?: string;
  sweepAt?: number;
  sweepKey?: string;
  ttl: number;
}

/** What fan-out reads from the tenant index. */
export type Recipient = Required<Pick<ConnectionRecord, 'connectionId' | 'tenantId'>> &
  Pick<ConnectionRecord, 'userId' | 'roles' | 'subscriptions' | 'tokenExpiresAt'>;
