/**
 * The DynamoDB adapters against dynalite (an in-memory DynamoDB on 127.0.0.1), checked with the
 * same port contracts as the in-memory fakes. Tables are built from the contract's TableDefs.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput } from '../../bin/local/dynamo.js';
import { DynamoEventLog } from '../../lambdas/adapters/dynamo-event-log.js';
import { conditional, DynamoConnectionStore } from '../../lambdas/adapters/dynamo-store.js';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, type TableDef } from '../../lambdas/contract/index.js';
import { connectionStoreContract, eventLogContract } from '../core/store-contract.js';

// dynalite ships no types; it returns a plain Node HTTP server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

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

/** A fresh table from a contract TableDef, created exactly as the local runtime creates it. */
async function createTable(prefix: string, def: TableDef): Promise<string> {
  const name = `${prefix}-${++tables}`;
  await raw.send(new CreateTableCommand(createTableInput(name, def)));
  return name;
}

connectionStoreContract(
  'DynamoConnectionStore on dynalite',
  async () => new DynamoConnectionStore(db, await createTable('connections', CONNECTIONS_TABLE)),
);
eventLogContract(
  'DynamoEventLog on dynalite',
  async () => new DynamoEventLog(db, await createTable('events', EVENT_LOG_TABLE)),
);

describe('conditional', () => {
  it('resolves true when the write succeeds, false when its condition failed, and rethrows anything else', async () => {
    const conditionFailed = Object.assign(new Error('The conditional request failed'), {
      name: 'ConditionalCheckFailedException',
    });
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    expect(await conditional(Promise.resolve({}))).toBe(true);
    expect(await conditional(Promise.reject(conditionFailed))).toBe(false);
    await expect(conditional(Promise.reject(throttled))).rejects.toBe(throttled);
  });
});

describe('index keys stay unique on dynalite', () => {
  // dynalite keys an index entry by the index key plus only 24 bits of an MD5 of the table key,
  // so two connections with equal index keys and colliding hashes overwrite each other. These two
  // ids collide (md5('Outliers' + id) starts with 963f48 for both): with the tenant index keyed on
  // tenantId alone, or the sweep index on a shared deadline second, one of them vanished.
  const colliding = ['conn-2549=', 'conn-7934='];

  it('finds every recipient of a tenant and every due connection', async () => {
    const store = new DynamoConnectionStore(db, await createTable('collide', CONNECTIONS_TABLE));
    for (const connectionId of colliding) {
      await store.putPending({ connectionId, connectedAt: 1_000, authDeadline: 1_030, ttl: 9_000 });
    }
    const due = [];
    for await (const page of store.due(1_030)) due.push(...page.map((r) => r.connectionId));
    expect(due.sort()).toEqual(colliding);

    for (const connectionId of colliding) {
      await store.authenticate(
        connectionId,
        { tenantId: 't1', userId: connectionId, roles: [], expiresAt: 5_000 },
        9_000,
      );
    }
    const recipients = [];
    for await (const page of store.recipients('t1')) recipients.push(...page.map((r) => r.connectionId));
    expect(recipients.sort()).toEqual(colliding);
    const expired = [];
    for await (const page of store.due(5_000)) expired.push(...page.map((r) => r.connectionId));
    expect(expired.sort()).toEqual(colliding);
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
