/**
 * Local DynamoDB: an in-memory dynalite on a free loopback port, or any endpoint given in
 * DYNAMODB_ENDPOINT (e.g. the official DynamoDB Local). Tables come from the contract's
 * TableDefs, so they have the same keys and indexes as the deployed ones.
 *
 * Only operations both dynalite and DynamoDB Local implement are used: no UpdateTimeToLive
 * (items keep their `ttl` attribute; nothing expires locally), no transactions.
 */
import type { Server } from 'node:http';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, type KeyDef, type TableDef } from '../../lambdas/contract/index.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from './defaults.js';
import { closeServer, listen, tuneServer } from './http.js';

function keySchema(partitionKey: KeyDef, sortKey: KeyDef | undefined): KeySchemaElement[] {
  const keys: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) keys.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return keys;
}

/** Maps a contract TableDef to CreateTable input: on-demand, GSIs with INCLUDE projection. */
export function createTableInput(tableName: string, def: TableDef): CreateTableCommandInput {
  // Every key attribute of the table and its indexes, declared once.
  const attributes = new Map<string, KeyDef>();
  const keyDefs = [
    def.partitionKey,
    def.sortKey,
    ...def.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  for (const key of keyDefs) {
    if (!key) continue;
    const seen = attributes.get(key.name);
    if (seen && seen.type !== key.type)
      throw new Error(`table ${tableName}: attribute ${key.name} declared as ${seen.type} and ${key.type}`);
    attributes.set(key.name, key);
  }
  const AttributeDefinitions: AttributeDefinition[] = [...attributes.values()].map((k) => ({
    AttributeName: k.name,
    AttributeType: k.type,
  }));

  const input: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions,
    KeySchema: keySchema(def.partitionKey, def.sortKey),
  };
  if (def.globalSecondaryIndexes.length > 0) {
    input.GlobalSecondaryIndexes = def.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
    }));
  }
  return input;
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
}

/** Creates a table; one that already exists (a reused DynamoDB Local) is kept as it is. */
async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    if (err instanceof ResourceInUseException || (err as { name?: unknown } | null)?.name === 'ResourceInUseException')
      return;
    throw err;
  }
}

export interface LocalDynamo {
  endpoint: string;
  tables: { connections: string; events: string };
  /** True when dynalite runs in this process (false for an external DYNAMODB_ENDPOINT). */
  embedded: boolean;
  close(): Promise<void>;
}

export interface LocalDynamoOptions {
  stage: string;
  /** An existing endpoint; when unset, dynalite starts in memory. */
  endpoint?: string;
  host: string;
}

export async function startDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  let server: Server | undefined;
  let endpoint = options.endpoint;
  if (!endpoint) {
    server = tuneServer(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
    const port = await listen(server, 'DynamoDB (dynalite)', options.host, 0);
    endpoint = `http://${options.host}:${port}`;
  }
  const tables = localTableNames(options.stage);
  const client = localDynamoClient(endpoint);
  try {
    await ensureTable(client, createTableInput(tables.connections, CONNECTIONS_TABLE));
    await ensureTable(client, createTableInput(tables.events, EVENT_LOG_TABLE));
  } catch (err) {
    if (server) await closeServer(server);
    throw new Error(`cannot create the local tables at ${endpoint}: ${(err as Error).message}`, { cause: err });
  } finally {
    client.destroy();
  }
  const embedded = server;
  return {
    endpoint,
    tables,
    embedded: embedded !== undefined,
    close: async () => {
      if (embedded) await closeServer(embedded);
    },
  };
}
