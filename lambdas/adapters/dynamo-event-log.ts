/**
 * EventLog on DynamoDB. In its tenant's partition, an event is
 * - one copy per broadcaster attempt at `e#<attempt start ms>#<eventId>`, time-ordered for range
 *   queries: a retry is logged again at its own start, after the events logged meanwhile;
 * - an id marker `id#<eventId>` that records the FIRST copy's sort key (`seq`): the event's resume
 *   position. It is written with a conditional put after that copy, so it never points at a copy
 *   that does not exist, and it is never overwritten.
 * A later copy also records where the first one is (`first`, `firstTtl`), so a replay that reads
 * both sends the event once. Every item carries a TTL (the retention). No transactions, so it runs
 * on dynalite too: a crash between the writes leaves an extra copy (a duplicate on replay, which
 * clients drop by eventId), never a marker without its copy.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
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
import type { EventLog, EventLogScan, LogChunk, LoggedEvent, LogItem, LogStart } from '../core/ports.js';
import { conditional } from './dynamo-store.js';

/** How many copies `latest` looks back past copies logged by retries. */
const LATEST_LOOKBACK = 5;

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

  async writeCopy({ envelope, audience }: LoggedEvent, attemptStartMs: number, ttl: number): Promise<void> {
    const { tenantId, eventId } = envelope;
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [A.tenantId]: tenantId,
          [A.sk]: eventLogSortKey(attemptStartMs, eventId),
          [A.eventId]: eventId,
          [A.type]: envelope.type,
          [A.envelope]: JSON.stringify(envelope),
          ...(audience ? { [A.audience]: JSON.stringify(audience) } : {}),
          [A.ttl]: ttl,
        },
      }),
    );
  }

  async markFirst(
    tenantId: string,
    eventId: string,
    attemptStartMs: number,
    ttl: number,
  ): Promise<{ duplicate: boolean }> {
    const sk = eventLogSortKey(attemptStartMs, eventId);
    const fresh = await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [A.tenantId]: tenantId,
            [A.sk]: eventIdMarkerKey(eventId),
            [A.eventId]: eventId,
            [A.seq]: sk,
            [A.ttl]: ttl,
          },
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': A.sk },
        }),
      ),
    );
    if (fresh) return { duplicate: false };
    // A retry (or a duplicate delivery): point this copy at the first one. Only retries pay for it.
    const first = await this.marker(tenantId, eventId);
    if (first && first.seq !== sk) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.tenantId]: tenantId, [A.sk]: sk },
          UpdateExpression: 'SET #first = :first, #firstTtl = :firstTtl',
          ConditionExpression: 'attribute_exists(#sk)',
          ExpressionAttributeNames: { '#first': A.first, '#firstTtl': A.firstTtl, '#sk': A.sk },
          ExpressionAttributeValues: { ':first': first.seq, ':firstTtl': first.ttl },
        }),
      );
    }
    return { duplicate: true };
  }

  async position(tenantId: string, eventId: string, nowSeconds: number): Promise<string | undefined> {
    const marker = await this.marker(tenantId, eventId);
    // DynamoDB deletes expired items lazily (and dynalite never): treat them as gone.
    return marker && marker.ttl > nowSeconds ? marker.seq : undefined;
  }

  /** A consistent query over the tenant's logged copies from sort key `from` (inclusive) on. */
  private copiesFrom(
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

  async read(
    tenantId: string,
    range: { from: string; after?: string | undefined },
    limit: number,
  ): Promise<{ items: LogItem[]; done: boolean }> {
    const out = await this.db.send(
      this.copiesFrom(tenantId, range.from, {
        Limit: limit,
        ...(range.after !== undefined ? { ExclusiveStartKey: { [A.tenantId]: tenantId, [A.sk]: range.after } } : {}),
      }),
    );
    return { items: (out.Items ?? []).map(toLogItem), done: out.LastEvaluatedKey === undefined };
  }

  async latest(tenantId: string, nowSeconds: number): Promise<string | undefined> {
    const newest = await this.db.send(
      this.copiesFrom(tenantId, EVENT_LOG_PREFIX.event, { ScanIndexForward: false, Limit: 1 }),
    );
    const head = newest.Items?.[0];
    // Newer copies expire later, so an expired newest copy means none is left.
    if (!head || Number(head[A.ttl]) <= nowSeconds) return undefined;
    if (head[A.first] === undefined || newest.LastEvaluatedKey === undefined) return String(head[A.eventId]);
    // The newest copy is a retry's: its event resumes from its old first position. Look a little
    // further back for an event first logged recently (a rare second read, only after retries).
    const older = await this.db.send(
      this.copiesFrom(tenantId, EVENT_LOG_PREFIX.event, {
        ScanIndexForward: false,
        Limit: LATEST_LOOKBACK,
        ExclusiveStartKey: newest.LastEvaluatedKey,
      }),
    );
    const firstCopy = (older.Items ?? []).find((i) => i[A.first] === undefined && Number(i[A.ttl]) > nowSeconds);
    return String((firstCopy ?? head)[A.eventId]);
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
      this.copiesFrom(tenantId, from, {
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

function toLogItem(item: Record<string, unknown>): LogItem {
  const audience = item[A.audience] === undefined ? undefined : (JSON.parse(String(item[A.audience])) as Audience);
  return {
    position: String(item[A.sk]),
    ttl: Number(item[A.ttl]),
    envelope: JSON.parse(String(item[A.envelope])) as Envelope,
    ...(audience ? { audience } : {}),
    ...(item[A.first] !== undefined
      ? { first: { position: String(item[A.first]), ttl: Number(item[A.firstTtl]) } }
      : {}),
  };
}
