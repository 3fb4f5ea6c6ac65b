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
  type Recipient,
  SWEEP_INDEX,
  SWEEP_SHARDS,
  sweepKey,
  sweepKeyBefore,
  TENANT_INDEX,
  tenantUserKey,
  USER_INDEX,
} from '../contract/index.js';
import type { Clock, ConnectionStore, Identity } from '../core/ports.js';
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
    /** Only for `connectedAt` of a record that `authenticate` has to recreate. */
    private readonly clock: Clock,
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

  authenticate(connectionId: string, identity: Identity, ttl: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression:
            'SET #tenant = :tenant, #user = :user, #tenantUser = :tenantUser, #roles = :roles, #exp = :exp, #sweepAt = :exp, #sweepKey = :sweepKey, ' +
            '#shard = if_not_exists(#shard, :shard), #ttl = if_not_exists(#ttl, :ttl), #connectedAt = if_not_exists(#connectedAt, :now) ' +
            'REMOVE #deadline',
          ConditionExpression: 'attribute_not_exists(#tenant) OR (#tenant = :tenant AND #user = :user)',
          ExpressionAttributeNames: {
            '#tenant': A.tenantId,
            '#user': A.userId,
            '#tenantUser': A.tenantUser,
            '#roles': A.roles,
            '#exp': A.tokenExpiresAt,
            '#sweepAt': A.sweepAt,
            '#sweepKey': A.sweepKey,
            '#shard': A.sweepShard,
            '#ttl': A.ttl,
            '#connectedAt': A.connectedAt,
            '#deadline': A.authDeadline,
          },
          ExpressionAttributeValues: {
            ':tenant': identity.tenantId,
            ':user': identity.userId,
            ':tenantUser': tenantUserKey(identity.tenantId, identity.userId),
            ':roles': identity.roles,
            ':exp': identity.expiresAt,
            ':sweepKey': sweepKey(identity.expiresAt, connectionId),
            ':shard': sweepShardFor(connectionId),
            ':ttl': ttl,
            ':now': Math.floor(this.clock() / 1000),
          },
        }),
      ),
    );
  }

  setSubscriptions(connectionId: string, subscriptions: string[]): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.connectionId]: connectionId },
          UpdateExpression: 'SET #subs = :subs',
          ConditionExpression: 'attribute_exists(#tenant)',
          ExpressionAttributeNames: { '#subs': A.subscriptions, '#tenant': A.tenantId },
          ExpressionAttributeValues: { ':subs': subscriptions },
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

  async *due(nowSeconds: number): AsyncIterable<Pick<ConnectionRecord, 'connectionId' | 'tenantId'>[]> {
    for (let shard = 0; shard < SWEEP_SHARDS; shard++) {
      yield* this.pages<Pick<ConnectionRecord, 'connectionId' | 'tenantId'>>({
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
