/** ConnectionStore on DynamoDB: the connections table, its sparse tenant index and sweep index. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  ConnectionAttr as A,
  type ConnectionRecord,
  type DueConnection,
  type Recipient,
  type ReplayState,
  type SubscriptionFilter,
  SWEEP_INDEX,
  SWEEP_SHARDS,
  sweepKey,
  sweepKeyBefore,
  TENANT_INDEX,
  tenantUserKey,
  USER_INDEX,
} from '../contract/index.js';
import type { AuthenticateOutcome, ConnectionStore, Identity } from '../core/ports.js';
import { sweepShardFor } from '../core/sweep.js';

export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
  );
}

/** Runs a conditional write; resolves false when its condition failed. */
export async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putPending(r: { connectionId: string; connectedAt: number; authDeadline: number; ttl: number }): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [A.connectionId]: r.connectionId,
          [A.connectedAt]: r.connectedAt,
          [A.authDeadline]: r.authDeadline,
          [A.sweepShard]: sweepShardFor(r.connectionId),
          [A.sweepAt]: r.authDeadline,
          [A.sweepKey]: sweepKey(r.authDeadline, r.connectionId),
          [A.ttl]: r.ttl,
        },
      }),
    );
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { [A.connectionId]: connectionId }, ConsistentRead: true }),
    );
    return out.Item as ConnectionRecord | undefined;
  }

  async authenticate(connectionId: string, identity: Identity, nowSeconds: number): Promise<AuthenticateOutcome> {
    const done = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression:
            'SET #tenant = :tenant, #user = :user, #tenantUser = :tenantUser, #roles = :roles, #exp = :exp, #sweepAt = :exp, #sweepKey = :sweepKey ' +
            'REMOVE #deadline',
          // The record must still exist (an auth racing $disconnect or the sweeper must not recreate
          // it) and not be broken; it is pending, or the same tenant and user with a live session.
          ConditionExpression:
            'attribute_exists(#id) AND attribute_not_exists(#broken) AND ' +
            '(attribute_not_exists(#tenant) OR (#tenant = :tenant AND #user = :user AND #exp > :now))',
          ExpressionAttributeNames: {
            '#id': A.connectionId,
            '#broken': A.brokenAt,
            '#tenant': A.tenantId,
            '#user': A.userId,
            '#tenantUser': A.tenantUser,
            '#roles': A.roles,
            '#exp': A.tokenExpiresAt,
            '#sweepAt': A.sweepAt,
            '#sweepKey': A.sweepKey,
            '#deadline': A.authDeadline,
          },
          ExpressionAttributeValues: {
            ':tenant': identity.tenantId,
            ':user': identity.userId,
            ':tenantUser': tenantUserKey(identity.tenantId, identity.userId),
            ':roles': identity.roles,
            ':exp': identity.expiresAt,
            ':sweepKey': sweepKey(identity.expiresAt, connectionId),
            ':now': nowSeconds,
          },
        }),
      ),
    );
    if (done) return 'authenticated';
    // Only a refused auth pays for this read: say which part of the condition failed.
    const current = await this.get(connectionId);
    if (current === undefined || current.brokenAt !== undefined) return 'closed';
    if (current.tenantId !== identity.tenantId || current.userId !== identity.userId) return 'mismatch';
    return 'expired';
  }

  setFilter(connectionId: string, filter: SubscriptionFilter, version: number, nowSeconds: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression: 'SET #subs = :subs, #sources = :sources, #minPriority = :minPriority, #version = :next',
          ConditionExpression: `attribute_exists(#tenant) AND #exp > :now AND ${
            version === 0 ? 'attribute_not_exists(#version)' : '#version = :version'
          }`,
          ExpressionAttributeNames: {
            '#subs': A.subscriptions,
            '#sources': A.sources,
            '#minPriority': A.minPriority,
            '#tenant': A.tenantId,
            '#exp': A.tokenExpiresAt,
            '#version': A.subscriptionsVersion,
          },
          ExpressionAttributeValues: {
            ':subs': filter.eventTypes,
            ':sources': filter.sources,
            ':minPriority': filter.minPriority,
            ':next': version + 1,
            ':now': nowSeconds,
            ...(version === 0 ? {} : { ':version': version }),
          },
        }),
      ),
    );
  }

  markBroken(connectionId: string, nowSeconds: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression:
            'SET #broken = :now, #sweepAt = :now, #sweepKey = :sweepKey, #shard = if_not_exists(#shard, :shard)',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: {
            '#id': A.connectionId,
            '#broken': A.brokenAt,
            '#sweepAt': A.sweepAt,
            '#sweepKey': A.sweepKey,
            '#shard': A.sweepShard,
          },
          ExpressionAttributeValues: {
            ':now': nowSeconds,
            ':sweepKey': sweepKey(nowSeconds, connectionId),
            ':shard': sweepShardFor(connectionId),
          },
        }),
      ),
    );
  }

  async takeResumeCall(
    connectionId: string,
    nowSeconds: number,
    limit: { calls: number; windowSeconds: number },
  ): Promise<boolean> {
    const window = nowSeconds - (nowSeconds % limit.windowSeconds);
    const names = { '#id': A.connectionId, '#window': A.resumeWindow, '#calls': A.resumeCalls };
    // One more call in the current window, while it has calls left…
    const counted = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression: 'SET #calls = #calls + :one',
          ConditionExpression: 'attribute_exists(#id) AND #window = :window AND #calls < :max',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':one': 1, ':window': window, ':max': limit.calls },
        }),
      ),
    );
    if (counted) return true;
    // …or the first call of a new window. If both conditions fail, the window's calls are used up.
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression: 'SET #window = :window, #calls = :one',
          ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(#window) OR #window < :window)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':one': 1, ':window': window },
        }),
      ),
    );
  }

  async saveReplay(connectionId: string, state: ReplayState | undefined): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression: state === undefined ? 'REMOVE #replay' : 'SET #replay = :replay',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#id': A.connectionId, '#replay': A.replay },
          ...(state === undefined ? {} : { ExpressionAttributeValues: { ':replay': state } }),
        }),
      ),
    );
  }

  async delete(connectionId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { [A.connectionId]: connectionId } }));
  }

  deleteIfDue(connectionId: string, nowSeconds: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          ConditionExpression: '#sweepAt <= :now',
          ExpressionAttributeNames: { '#sweepAt': A.sweepAt },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      ),
    );
  }

  recipients(tenantId: string): AsyncIterable<Recipient[]> {
    return this.queryIndex(TENANT_INDEX, A.tenantId, tenantId);
  }

  /** One query per distinct user, all in flight at once; pages come back as they arrive. */
  async *recipientsOf(tenantId: string, userIds: readonly string[]): AsyncIterable<Recipient[]> {
    const pages = await Promise.all(
      [...new Set(userIds)].map(async (userId) => {
        const found: Recipient[] = [];
        for await (const page of this.queryIndex(USER_INDEX, A.tenantUser, tenantUserKey(tenantId, userId)))
          found.push(...page);
        return found;
      }),
    );
    for (const page of pages) if (page.length > 0) yield page;
  }

  private queryIndex(indexName: string, keyName: string, keyValue: string): AsyncIterable<Recipient[]> {
    return this.pages<Recipient>({
      IndexName: indexName,
      KeyConditionExpression: '#key = :key',
      ExpressionAttributeNames: { '#key': keyName },
      ExpressionAttributeValues: { ':key': keyValue },
    });
  }

  async *due(nowSeconds: number): AsyncIterable<DueConnection[]> {
    for (let shard = 0; shard < SWEEP_SHARDS; shard++) {
      yield* this.pages<DueConnection>({
        IndexName: SWEEP_INDEX,
        KeyConditionExpression: '#shard = :shard AND #sweepKey < :before',
        ExpressionAttributeNames: { '#shard': A.sweepShard, '#sweepKey': A.sweepKey },
        ExpressionAttributeValues: { ':shard': `s${shard}`, ':before': sweepKeyBefore(nowSeconds) },
      });
    }
  }

  /** Every page of a query on this table (following LastEvaluatedKey), skipping empty pages. */
  private async *pages<T>(query: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): AsyncIterable<T[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({ TableName: this.tableName, ...query, ExclusiveStartKey: startKey }),
      );
      if (out.Items && out.Items.length > 0) yield out.Items as T[];
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }
}
