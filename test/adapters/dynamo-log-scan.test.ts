/**
 * DynamoEventLog's bounded reads (the HTTP API's EventLogScan port) against dynalite, with the
 * same contract suite as the in-memory fake.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createTableInput } from '../../bin/local/dynamo.js';
import { DynamoEventLog } from '../../lambdas/adapters/dynamo-event-log.js';
import { EVENT_LOG_TABLE } from '../../lambdas/contract/index.js';
import { eventLogScanContract } from '../core/log-scan-contract.js';

// dynalite ships no types; it returns a plain Node HTTP server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs?: number }) => Server;

let server: Server;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
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

eventLogScanContract('DynamoEventLog on dynalite', async () => {
  const name = `events-${++tables}`;
  await raw.send(new CreateTableCommand(createTableInput(name, EVENT_LOG_TABLE)));
  return new DynamoEventLog(db, name);
});
