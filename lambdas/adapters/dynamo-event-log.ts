/**
 * EventLog on DynamoDB. Each event is two items in its tenant's partition:
 * - an id marker `id#<eventId>`, written with a conditional put so a retried event is logged
 *   once; it records the event's sort key (`seq`), which makes any eventId a resume point;
 * - the event itself at `e#<received ms>#<eventId>`, time-ordered for range queries.
 * Both carry a TTL (the retention). No transactions, so it runs on dynalite too: the marker is
 * written first and the event put is idempotent, so a crash between the two heals on retry.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  EventLogAttr as A,
  type Audience,
  type Envelope,
  EVENT_LOG_END,
  EVENT_LOG_PREFIX,
  eventIdMarkerKey,
  eventLogSortKey,
} from '../contract/index.js';
import type { EventLog, EventLogScan, LogChunk, LoggedEvent, LogStart } from '../core/ports.js';
import { conditional } from './dynamo-store.js';

export class DynamoEventLog implements EventLog, EventLogScan {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async marker(tenantId: string, eventId: string): Promise<{ seq: string; ttl: number } | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [A.tenantId]: tenantId, [A.sk]: eventIdMarkerKey(eventId) },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    return item ? { seq: String(item[A.seq]), ttl: Number(item[A.ttl]) } : undefined;
  }

  async append(
    { envelope, audience }: LoggedEvent,
    receivedAtMs: number,
    ttl: number,
  ): Promise<{ duplicate: boolean }> {
    const { tenantId, eventId } = envelope;
    let seq = eventLogSortKey(receivedAtMs, eventId);
    const fresh = await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [A.tenantId]: tenantId,
            [A.sk]: eventIdMarkerKey(eventId),
            [A.eventId]: eventId,
            [A.seq]: seq,
            [A.ttl]: ttl,
          },
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': A.sk },
        }),
      ),
    );
    if (!fresh) {
      const existing = await this.marker(tenantId, eventId);
      if (existing) {
        seq = existing.seq;
        ttl = existing.ttl;
      }
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [A.tenantId]: tenantId,
          [A.sk]: seq,
          [A.eventId]: eventId,
          [A.type]: envelope.type,
          [A.envelope]: JSON.stringify(envelope),
          ...(audience ? { [A.audience]: JSON.stringify(audience) } : {}),
          [A.ttl]: ttl,
        },
      }),
    );
    return { duplicate: !fresh };
  }

  /** A consistent query over the tenant's logged events from sort key `from` (inclusive) on. */
  private eventsFrom(
    tenantId: string,
    from: string,
    options: Pick<QueryCommandInput, 'ScanIndexForward' | 'Limit' | 'ExclusiveStartKey'>,
  ): QueryCommand {
    return new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: '#tenant = :tenant AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#tenant': A.tenantId, '#sk': A.sk },
      ExpressionAttributeValues: { ':tenant': tenantId, ':from': from, ':to': EVENT_LOG_END },
      ConsistentRead: true,
      ...options,
    });
  }

  async latest(tenantId: string, nowSeconds: number): Promise<string | undefined> {
    const out = await this.db.send(
      this.eventsFrom(tenantId, EVENT_LOG_PREFIX.event, { ScanIndexForward: false, Limit: 1 }),
    );
    const newest = out.Items?.[0];
    // Newer events expire later, so an expired newest event means none is left.
    return newest && Number(newest[A.ttl]) > nowSeconds ? String(newest[A.eventId]) : undefined;
  }

  async after(
    tenantId: string,
    lastEventId: string,
    limit: number,
    nowSeconds: number,
  ): Promise<LoggedEvent[] | undefined> {
    const marker = await this.marker(tenantId, lastEventId);
    // DynamoDB deletes expired items lazily (and dynalite never): treat them as gone.
    if (!marker || marker.ttl <= nowSeconds) return undefined;
    const events: LoggedEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        this.eventsFrom(tenantId, marker.seq, { ExclusiveStartKey: startKey, Limit: limit + 1 }),
      );
      for (const item of out.Items ?? []) {
        if (item[A.sk] === marker.seq || Number(item[A.ttl]) <= nowSeconds) continue;
        const audience =
          item[A.audience] === undefined ? undefined : (JSON.parse(String(item[A.audience])) as Audience);
        events.push({ envelope: JSON.parse(String(item[A.envelope])) as Envelope, ...(audience ? { audience } : {}) });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && events.length < limit);
    return events.slice(0, limit);
  }

  // ------------------------------------------------------------ bounded reads (HTTP API)

  async scanForward(
    tenantId: string,
    start: LogStart,
    limit: number,
    nowSeconds: number,
  ): Promise<LogChunk | undefined> {
    let from: string = EVENT_LOG_PREFIX.event;
    let after: string | undefined;
    if ('afterEventId' in start) {
      const marker = await this.marker(tenantId, start.afterEventId);
      if (!marker || marker.ttl <= nowSeconds) return undefined;
      after = marker.seq;
    } else if ('sinceMs' in start) {
      // `e#<ms>#` sorts just before every event logged at that millisecond.
      from = eventLogSortKey(Math.min(Math.max(0, Math.floor(start.sinceMs)), MAX_LOG_MS), '');
    } else {
      after = start.afterPosition;
    }
    return this.readChunk(tenantId, from, after, true, limit, nowSeconds);
  }

  scanBackward(tenantId: string, before: string | undefined, limit: number, nowSeconds: number): Promise<LogChunk> {
    return this.readChunk(tenantId, EVENT_LOG_PREFIX.event, before, false, limit, nowSeconds);
  }

  /** One query of at most `limit` entries; `next` is where DynamoDB stopped, if it did. */
  private async readChunk(
    tenantId: string,
    from: string,
    exclusiveStart: string | undefined,
    forward: boolean,
    limit: number,
    nowSeconds: number,
  ): Promise<LogChunk> {
    const out = await this.db.send(
      this.eventsFrom(tenantId, from, {
        ScanIndexForward: forward,
        Limit: limit,
        ...(exclusiveStart === undefined
          ? {}
          : { ExclusiveStartKey: { [A.tenantId]: tenantId, [A.sk]: exclusiveStart } }),
      }),
    );
    const events = (out.Items ?? []).filter((item) => Number(item[A.ttl]) > nowSeconds).map(loggedEventOf);
    const next = out.LastEvaluatedKey?.[A.sk];
    return next === undefined ? { events } : { events, next: String(next) };
  }
}

/** The largest receive time a 13-digit sort key holds (year 2286). */
const MAX_LOG_MS = 9_999_999_999_999;

function loggedEventOf(item: Record<string, unknown>): LoggedEvent {
  const envelope = JSON.parse(String(item[A.envelope])) as Envelope;
  return item[A.audience] === undefined
    ? { envelope }
    : { envelope, audience: JSON.parse(String(item[A.audience])) as Audience };
}
