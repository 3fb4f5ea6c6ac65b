import { DescribeTableCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createTableInput, localDynamoClient, startDynamo } from '../../bin/local/dynamo.js';
import {
  CONNECTIONS_TABLE,
  EVENT_LOG_TABLE,
  SWEEP_INDEX,
  TENANT_INDEX,
  USER_INDEX,
} from '../../lambdas/contract/index.js';
import './helpers.js';

describe('createTableInput', () => {
  it('maps the connections TableDef: key, GSIs with INCLUDE projection, on-demand', () => {
    const input = createTableInput('conns', CONNECTIONS_TABLE);
    expect(input).toMatchObject({ TableName: 'conns', BillingMode: 'PAY_PER_REQUEST' });
    expect(input.KeySchema).toEqual([{ AttributeName: CONNECTIONS_TABLE.partitionKey.name, KeyType: 'HASH' }]);
    expect(input.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([TENANT_INDEX, USER_INDEX, SWEEP_INDEX]);
    for (const def of CONNECTIONS_TABLE.globalSecondaryIndexes) {
      const index = input.GlobalSecondaryIndexes?.find((i) => i.IndexName === def.indexName);
      const keys = [{ AttributeName: def.partitionKey.name, KeyType: 'HASH' }];
      if (def.sortKey) keys.push({ AttributeName: def.sortKey.name, KeyType: 'RANGE' });
      expect(index?.KeySchema).toEqual(keys);
      expect(index?.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: [...def.nonKeyAttributes] });
      expect(index?.ProvisionedThroughput).toBeUndefined();
    }
    // Each key attribute declared once, with its type.
    const declared = input.AttributeDefinitions?.map((a) => `${a.AttributeName}:${a.AttributeType}`).sort();
    const expected = [
      ...new Set(
        [
          CONNECTIONS_TABLE.partitionKey,
          ...CONNECTIONS_TABLE.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
        ]
          .filter((k) => k !== undefined)
          .map((k) => `${k.name}:${k.type}`),
      ),
    ].sort();
    expect(declared).toEqual(expected);
    // An attribute used by the table and an index (or two indexes) is still declared once.
    expect(new Set(input.AttributeDefinitions?.map((a) => a.AttributeName)).size).toBe(
      input.AttributeDefinitions?.length,
    );
  });

  it('maps the event log TableDef: partition and sort key, no GSIs', () => {
    const input = createTableInput('events', EVENT_LOG_TABLE);
    expect(input.KeySchema).toEqual([
      { AttributeName: EVENT_LOG_TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: EVENT_LOG_TABLE.sortKey?.name, KeyType: 'RANGE' },
    ]);
    expect(input.GlobalSecondaryIndexes).toBeUndefined();
    expect(input.AttributeDefinitions).toHaveLength(2);
  });
});

describe('startDynamo', () => {
  it('starts dynalite, creates both tables, and tolerates existing tables', async () => {
    const dynamo = await startDynamo({ stage: 'unit', host: '127.0.0.1' });
    const client = localDynamoClient(dynamo.endpoint);
    try {
      expect(dynamo.embedded).toBe(true);
      expect(dynamo.tables).toEqual({
        connections: 'tenant-realtime-unit-connections',
        events: 'tenant-realtime-unit-events',
      });
      const described = await client.send(new DescribeTableCommand({ TableName: dynamo.tables.connections }));
      expect(described.Table?.TableStatus).toBe('ACTIVE');
      expect(described.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
        [SWEEP_INDEX, TENANT_INDEX, USER_INDEX].sort(),
      );

      // The sparse tenant index answers queries.
      const pk = CONNECTIONS_TABLE.partitionKey.name;
      const tenantKey = CONNECTIONS_TABLE.globalSecondaryIndexes[0]?.partitionKey.name ?? '';
      await client.send(
        new PutItemCommand({
          TableName: dynamo.tables.connections,
          Item: { [pk]: { S: 'c1' }, [tenantKey]: { S: 't1' } },
        }),
      );
      const found = await client.send(
        new QueryCommand({
          TableName: dynamo.tables.connections,
          IndexName: TENANT_INDEX,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': tenantKey },
          ExpressionAttributeValues: { ':t': { S: 't1' } },
        }),
      );
      expect(found.Items?.map((i) => i[pk]?.S)).toEqual(['c1']);

      // A second start against the same endpoint (DynamoDB Local reuse) keeps the tables.
      const again = await startDynamo({ stage: 'unit', host: '127.0.0.1', endpoint: dynamo.endpoint });
      expect(again.embedded).toBe(false);
      await again.close();
    } finally {
      client.destroy();
      await dynamo.close();
    }
  });
});
