/**
 * The DynamoDB adapters against dynalite (an in-memory DynamoDB on 127.0.0.1), checked with the
 * same port contracts as the in-memory fakes. Tables are built from the contract's TableDefs.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, type KeyDef, type TableDef } from '../../lambdas/contract/index.js';
import { DynamoEventLog } from '../../lambdas/adapters/dynamo-event-log.js';
import { DynamoConnectionStore, conditional } from '../../lambdas/adapters/dynamo-store.js';
import { connectionStoreContract, eventLogContract } from '../core/store-contract.js';

// dynalite ships no types; it returns a plain Node HTTP server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

let server: Server;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  raw?.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function keySchema(pk: KeyDef, sk?: KeyDef): KeySchemaElement[] {
  return [{ AttributeName: pk.name, KeyType: 'HASH' }, ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : [])];
}

/** A fresh table from a contract TableDef (on-demand, INCLUDE-projected GSIs). */
async function createTable(prefix: string, def: TableDef): Promise<string> {
  const name = `${prefix}-${++tables}`;
  const attributes = new Map<string, KeyDef>();
  for (const key of [def.partitionKey, def.sortKey, ...def.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]) if (key) attributes.set(key.name, key);
  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()].map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.globalSecondaryIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: def.globalSecondaryIndexes.map((i) => ({
            IndexName: i.indexName,
            KeySchema: keySchema(i.partitionKey, i.sortKey),
            Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...i.nonKeyAttributes] },
          })),
        }
      : {}),
  };
  await raw.send(new CreateTableCommand(input));
  return name;
}

connectionStoreContract('DynamoConnectionStore on dynalite', async () => new DynamoConnectionStore(db, await createTable('connections', CONNECTIONS_TABLE)));
eventLogContract('DynamoEventLog on dynalite', async () => new DynamoEventLog(db, await createTable('events', EVENT_LOG_TABLE)));

describe('conditional', () => {
  it('resolves true when the write succeeds, false when its condition failed, and rethrows anything else', async () => {
    const conditionFailed = Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    expect(await conditional(Promise.resolve({}))).toBe(true);
    expect(await conditional(Promise.reject(conditionFailed))).toBe(false);
    await expect(conditional(Promise.reject(throttled))).rejects.toBe(throttled);
  });
});

describe('DynamoConnectionStore paging', () => {
  it('reads a tenant index larger than one page', async () => {
    const store = new DynamoConnectionStore(db, await createTable('connections', CONNECTIONS_TABLE));
    const now = Math.floor(Date.UTC(2025, 0, 15, 12) / 1000);
    // ~300 KB of roles per record (projected into the index): five records exceed DynamoDB's 1 MB page.
    const roles = Array.from({ length: 1000 }, (_, i) => `role-${String(i).padStart(4, '0')}-${'r'.repeat(290)}`);
    for (let i = 0; i < 5; i++) {
      const id = `c${i}`;
      await store.putPending({ connectionId: id, connectedAt: now, authDeadline: now + 30, ttl: now + 7800 });
      await store.authenticate(id, { tenantId: 't1', userId: `u${i}`, roles, expiresAt: now + 3600 }, now + 7800);
    }

    let pages = 0;
    const seen = new Set<string>();
    for await (const page of store.recipients('t1')) {
      pages++;
      for (const r of page) seen.add(r.connectionId);
    }

    expect(seen.size).toBe(5);
    expect(pages).toBeGreaterThan(1);
  });
});
