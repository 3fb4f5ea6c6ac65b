/**
 * A metering proxy in front of the local DynamoDB: it forwards every request unchanged and
 * counts the request units DynamoDB on-demand would bill, by table and by index.
 *
 * - Reads (GetItem, Query, Scan, BatchGetItem): the proxy asks the engine for
 *   `ReturnConsumedCapacity: INDEXES` and adds up what it reports (4 KB units, halved for
 *   eventually consistent reads: dynalite applies DynamoDB's rules).
 * - Writes (PutItem, UpdateItem, DeleteItem): the table's units come from the engine (1 KB units
 *   of the larger of the old and new item). Index writes are not reported by any emulator, so the
 *   proxy reads the item before and after the write (uncounted) and applies DynamoDB's rules per
 *   global secondary index: an item entering or leaving the index costs one index write, an
 *   update that changes the index key costs two (delete + put), an update of projected
 *   attributes costs one; each in 1 KB units of the projected item. A write refused by its
 *   condition still costs the table its units, as on DynamoDB.
 *
 * Used by `npm run cost` only; it adds two reads per write, so it is not for benchmarks.
 */
import { Agent, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { IndexDef, TableDef } from '../../lambdas/contract/index.js';
import { closeServer, createLocalServer, listen, readBody } from '../local/http.js';

const require = createRequire(import.meta.url);
/** dynalite's own DynamoDB item-size function (attribute names + values, DynamoDB's rules). */
const { itemSize } = require('dynalite/db/index.js') as { itemSize: (item: DynamoItem) => number };

type DynamoItem = Record<string, Record<string, unknown>>;

export interface Units {
  read: number;
  write: number;
}
/** Request units per table, and per `table/index`. */
export type Usage = Record<string, Units>;

export interface DynamoMeter {
  /** Endpoint to give the handlers instead of the engine's. */
  readonly endpoint: string;
  usage(): Usage;
  reset(): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** Index write units for one item change, by DynamoDB's rules for global secondary indexes. */
export function indexWriteUnits(
  index: IndexDef,
  before: DynamoItem | undefined,
  after: DynamoItem | undefined,
): number {
  const keyNames = [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])];
  const inIndex = (item: DynamoItem | undefined) => item !== undefined && keyNames.every((k) => item[k] !== undefined);
  const projected = (item: DynamoItem): DynamoItem => {
    const out: DynamoItem = {};
    for (const [name, value] of Object.entries(item)) {
      if (keyNames.includes(name) || index.nonKeyAttributes.includes(name)) out[name] = value;
    }
    return out;
  };
  const was = inIndex(before);
  const is = inIndex(after);
  if (!was && !is) return 0;
  if (was && !is) return kb(itemSize(projected(before as DynamoItem)));
  if (!was && is) return kb(itemSize(projected(after as DynamoItem)));
  const oldProjection = projected(before as DynamoItem);
  const newProjection = projected(after as DynamoItem);
  const keyChanged = keyNames.some((k) => JSON.stringify(oldProjection[k]) !== JSON.stringify(newProjection[k]));
  if (keyChanged) return kb(itemSize(oldProjection)) + kb(itemSize(newProjection));
  if (JSON.stringify(oldProjection) === JSON.stringify(newProjection)) return 0;
  return kb(itemSize(newProjection));
}

/** The key attributes of `item` for `table`. */
function keyOf(table: TableDef, item: DynamoItem): DynamoItem {
  const key: DynamoItem = {};
  for (const k of [table.partitionKey.name, ...(table.sortKey ? [table.sortKey.name] : [])]) {
    const value = item[k];
    if (value !== undefined) key[k] = value;
  }
  return key;
}

export async function startDynamoMeter(options: {
  upstream: string;
  /** Table name → its definition (for index write accounting). */
  tables: Readonly<Record<string, TableDef>>;
}): Promise<DynamoMeter> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let usage: Usage = {};
  const add = (name: string, read: number, write: number) => {
    const u = (usage[name] ??= { read: 0, write: 0 });
    u.read += read;
    u.write += write;
  };

  function call(
    headers: IncomingMessage['headers'],
    target: string,
    body: string,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
    return new Promise((resolve, reject) => {
      const out = request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            ...headers,
            host: upstream.host,
            'x-amz-target': target,
            'content-length': Buffer.byteLength(body),
          },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () =>
            resolve({
              status: answer.statusCode ?? 502,
              headers: answer.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          answer.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }

  /** The engine does not check signatures, so the proxy's own reads reuse the caller's headers. */
  async function getItem(
    headers: IncomingMessage['headers'],
    tableName: string,
    key: DynamoItem,
  ): Promise<DynamoItem | undefined> {
    const answer = await call(
      headers,
      `${TARGET_PREFIX}GetItem`,
      JSON.stringify({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    if (answer.status !== 200) return undefined;
    return (JSON.parse(answer.body) as { Item?: DynamoItem }).Item;
  }

  function countReads(consumed: unknown): void {
    const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
    for (const c of list as Array<{
      TableName: string;
      Table?: { CapacityUnits: number };
      CapacityUnits: number;
      GlobalSecondaryIndexes?: Record<string, { CapacityUnits: number }>;
    }>) {
      const indexes = Object.entries(c.GlobalSecondaryIndexes ?? {});
      for (const [name, u] of indexes) add(`${c.TableName}/${name}`, u.CapacityUnits, 0);
      const tableUnits = c.Table?.CapacityUnits ?? (indexes.length === 0 ? c.CapacityUnits : 0);
      if (tableUnits > 0) add(c.TableName, tableUnits, 0);
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req, 32 * 1024 * 1024)).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      body = {};
    }
    const tableName = typeof body.TableName === 'string' ? body.TableName : undefined;
    const table = tableName ? options.tables[tableName] : undefined;
    const metered = READS.has(operation) || WRITES.has(operation);
    const forwarded = metered ? JSON.stringify({ ...body, ReturnConsumedCapacity: 'INDEXES' }) : raw;

    let before: DynamoItem | undefined;
    let key: DynamoItem | undefined;
    if (WRITES.has(operation) && tableName && table) {
      key = (operation === 'PutItem' ? keyOf(table, body.Item as DynamoItem) : body.Key) as DynamoItem;
      if (table.globalSecondaryIndexes.length > 0) before = await getItem(req.headers, tableName, key);
    }
    const answer = await call(req.headers, target, forwarded);
    if (metered) {
      const parsed = answer.status === 200 ? (JSON.parse(answer.body) as { ConsumedCapacity?: unknown }) : {};
      if (READS.has(operation)) countReads(parsed.ConsumedCapacity);
      if (WRITES.has(operation) && tableName && table && key) {
        if (answer.status === 200) {
          const c = parsed.ConsumedCapacity as { CapacityUnits?: number } | undefined;
          add(tableName, 0, c?.CapacityUnits ?? 1);
          if (table.globalSecondaryIndexes.length > 0) {
            const after = operation === 'DeleteItem' ? undefined : await getItem(req.headers, tableName, key);
            for (const index of table.globalSecondaryIndexes) {
              const units = indexWriteUnits(index, before, after);
              if (units > 0) add(`${tableName}/${index.indexName}`, 0, units);
            }
          }
        } else if (answer.body.includes('ConditionalCheckFailedException')) {
          // A refused conditional write is billed for the item it was checked against.
          add(tableName, 0, before ? kb(itemSize(before)) : 1);
        }
      }
    }
    const headers = { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) };
    delete headers['transfer-encoding'];
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  }

  const server: Server = createLocalServer(onRequest, (err) => {
    console.error(`DynamoDB meter: ${err instanceof Error ? err.message : String(err)}`);
  });
  const port = await listen(server, 'DynamoDB meter', '127.0.0.1', 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    usage: () => structuredClone(usage),
    reset: () => {
      usage = {};
    },
    close: async () => {
      await closeServer(server);
      agent.destroy();
    },
  };
}
