import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DynamoMeter, indexWriteUnits, startDynamoMeter } from '../../bin/cost/dynamo-meter.js';
import { type LocalDynamo, localDynamoClient, startDynamo } from '../../bin/local/dynamo.js';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, TENANT_INDEX, USER_INDEX } from '../../lambdas/contract/index.js';

const tenantIndex = CONNECTIONS_TABLE.globalSecondaryIndexes.find((i) => i.indexName === TENANT_INDEX)!;

describe('indexWriteUnits (DynamoDB GSI write rules)', () => {
  const pending = { connectionId: { S: 'c1' }, connectedAt: { N: '1' } };
  const authed = { ...pending, tenantId: { S: 't1' }, userId: { S: 'u1' } };
  it('costs nothing when the item is in the index neither before nor after', () => {
    expect(indexWriteUnits(tenantIndex, undefined, pending)).toBe(0);
  });
  it('costs one write when the item enters or leaves the index', () => {
    expect(indexWriteUnits(tenantIndex, pending, authed)).toBe(1);
    expect(indexWriteUnits(tenantIndex, authed, undefined)).toBe(1);
  });
  it('costs two writes when the index key changes, one for a projected attribute, none otherwise', () => {
    expect(indexWriteUnits(tenantIndex, authed, { ...authed, tenantId: { S: 't2' } })).toBe(2);
    expect(indexWriteUnits(tenantIndex, authed, { ...authed, userId: { S: 'u2' } })).toBe(1);
    expect(indexWriteUnits(tenantIndex, authed, { ...authed, connectedAt: { N: '2' } })).toBe(0);
  });
  it('counts 1 KB units of the projected item', () => {
    const big = { ...authed, userId: { S: 'u'.repeat(3000) } };
    expect(indexWriteUnits(tenantIndex, undefined, big)).toBe(3);
  });
});

describe('DynamoDB meter (real SDK client through the proxy to dynalite)', () => {
  let dynamo: LocalDynamo;
  let meter: DynamoMeter;
  let db: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startDynamo({ stage: 'meter', host: '127.0.0.1' });
    meter = await startDynamoMeter({
      upstream: dynamo.endpoint,
      tables: { [dynamo.tables.connections]: CONNECTIONS_TABLE, [dynamo.tables.events]: EVENT_LOG_TABLE },
    });
    db = DynamoDBDocumentClient.from(localDynamoClient(meter.endpoint));
  });
  afterAll(async () => {
    db?.destroy();
    await meter?.close();
    await dynamo?.close();
  });
  beforeEach(() => meter.reset());

  it('bills table and index writes, and strongly consistent reads at 4 KB per unit', async () => {
    const TableName = dynamo.tables.connections;
    await db.send(new PutCommand({ TableName, Item: { connectionId: 'c1', connectedAt: 1 } }));
    expect(meter.usage()).toEqual({ [TableName]: { read: 0, write: 1 } });

    await db.send(
      new PutCommand({
        TableName,
        Item: { connectionId: 'c1', connectedAt: 1, tenantId: 't1', userId: 'u1', tenantUser: 't1#u1' },
      }),
    );
    const u = meter.usage();
    expect(u[TableName]).toEqual({ read: 0, write: 2 });
    expect(u[`${TableName}/${TENANT_INDEX}`]).toEqual({ read: 0, write: 1 });
    expect(u[`${TableName}/${USER_INDEX}`]).toEqual({ read: 0, write: 1 });

    meter.reset();
    const got = await db.send(new GetCommand({ TableName, Key: { connectionId: 'c1' }, ConsistentRead: true }));
    expect(got.Item?.tenantId).toBe('t1'); // the answer is forwarded unchanged
    const out = await db.send(
      new QueryCommand({
        TableName,
        IndexName: TENANT_INDEX,
        KeyConditionExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': 't1' },
      }),
    );
    expect(out.Items).toHaveLength(1);
    expect(meter.usage()).toEqual({
      [TableName]: { read: 1, write: 0 },
      [`${TableName}/${TENANT_INDEX}`]: { read: 0.5, write: 0 },
    });

    meter.reset();
    await db.send(new DeleteCommand({ TableName, Key: { connectionId: 'c1' } }));
    expect(meter.usage()).toEqual({
      [TableName]: { read: 0, write: 1 },
      [`${TableName}/${TENANT_INDEX}`]: { read: 0, write: 1 },
      [`${TableName}/${USER_INDEX}`]: { read: 0, write: 1 },
    });
  });

  it('bills a refused conditional write, and forwards the refusal to the caller', async () => {
    const TableName = dynamo.tables.events;
    const Item = { tenantId: 't1', sk: 'id#e1', eventId: 'e1' };
    await db.send(new PutCommand({ TableName, Item, ConditionExpression: 'attribute_not_exists(sk)' }));
    await expect(
      db.send(new PutCommand({ TableName, Item, ConditionExpression: 'attribute_not_exists(sk)' })),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(meter.usage()).toEqual({ [TableName]: { read: 0, write: 2 } });
  });
});
