/**
 * The DynamoDB fault proxy: transparent for the real SDK clients against dynalite, byte for
 * byte against a recording upstream, and failing exactly the requests the plan selects.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { BatchWriteItemCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../bin/local/defaults.js';
import { type LocalDynamo, startDynamo } from '../../bin/local/dynamo.js';
import {
  type DynamoFaultProxy,
  operationOf,
  startDynamoFaultProxy,
  tableNamesOf,
} from '../../bin/local/dynamo-faults.js';
import {
  clearFaultPlan,
  emptyFaultPlan,
  type FaultPlanJsonInput,
  FaultPlanJsonSchema,
  setFaultPlan,
} from '../../bin/local/faults.js';
import { startGateway } from '../../bin/local/gateway.js';
import { listen } from '../../bin/local/http.js';
import { ConnectionAttr, TENANT_INDEX } from '../../lambdas/contract/index.js';
import { memoryLog } from './helpers.js';

const plan = emptyFaultPlan();
const setPlan = (json: FaultPlanJsonInput) => setFaultPlan(plan, FaultPlanJsonSchema.parse(json));

let dynamo: LocalDynamo;
let proxy: DynamoFaultProxy;
const clients: DynamoDBClient[] = [];

function client(maxAttempts?: number): DynamoDBDocumentClient {
  const raw = new DynamoDBClient({
    endpoint: proxy.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  clients.push(raw);
  return DynamoDBDocumentClient.from(raw);
}

/** Straight to dynalite, never faulted: to check what really got written. */
function direct(): DynamoDBDocumentClient {
  const raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  clients.push(raw);
  return DynamoDBDocumentClient.from(raw);
}

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number; attempts?: number } };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  dynamo = await startDynamo({ stage: 'proxy', host: '127.0.0.1' });
  proxy = await startDynamoFaultProxy({ host: '127.0.0.1', upstream: dynamo.endpoint, plan, log: memoryLog() });
});
afterEach(() => {
  clearFaultPlan(plan);
  proxy.resetStats();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await proxy?.close();
  await dynamo?.close();
});

const item = (id: string, tenant = 'acme') => ({
  [ConnectionAttr.connectionId]: id,
  [ConnectionAttr.tenantId]: tenant,
  [ConnectionAttr.userId]: 'u1',
  roles: ['admin'],
  n: 42,
});

describe('DynamoDB fault proxy: transparent', () => {
  it('lets the real document client write, read, query and batch through it', async () => {
    const db = client();
    const table = dynamo.tables.connections;
    await db.send(new PutCommand({ TableName: table, Item: item('p1') }));
    expect(
      (
        await db.send(
          new GetCommand({ TableName: table, Key: { [ConnectionAttr.connectionId]: 'p1' }, ConsistentRead: true }),
        )
      ).Item,
    ).toEqual(item('p1'));
    const queried = await db.send(
      new QueryCommand({
        TableName: table,
        IndexName: TENANT_INDEX,
        KeyConditionExpression: '#t = :t',
        ExpressionAttributeNames: { '#t': ConnectionAttr.tenantId },
        ExpressionAttributeValues: { ':t': 'acme' },
      }),
    );
    expect(queried.Items?.map((i) => i[ConnectionAttr.connectionId])).toContain('p1');
    const batch = await db.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ [ConnectionAttr.connectionId]: 'p1' }] } } }),
    );
    expect(batch.Responses?.[table]).toEqual([item('p1')]);
    // Modeled errors of the upstream come through as they are.
    const err = await failure(
      db.send(new GetCommand({ TableName: 'no-such-table', Key: { [ConnectionAttr.connectionId]: 'x' } })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.$metadata.httpStatusCode).toBe(400);

    expect(proxy.stats()).toMatchObject({
      requests: 5,
      forwarded: 5,
      injected: 0,
      upstreamErrors: 0,
      operations: {
        PutItem: { requests: 1, injected: 0 },
        GetItem: { requests: 2, injected: 0 },
        Query: { requests: 1 },
        BatchGetItem: { requests: 1 },
      },
    });
    // Written for real.
    expect(
      (await direct().send(new GetCommand({ TableName: table, Key: { [ConnectionAttr.connectionId]: 'p1' } }))).Item,
    ).toEqual(item('p1'));
  });

  it('forwards method, path, headers and body unchanged, and the answer unchanged', async () => {
    const seen: Array<{
      method?: string | undefined;
      url?: string | undefined;
      headers: IncomingHttpHeaders;
      body: string;
    }> = [];
    const upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(400, {
          'Content-Type': 'application/x-amz-json-1.0',
          'x-amz-crc32': '12345',
          'x-amzn-RequestId': 'req-1',
        });
        res.end('{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"nope ✓"}');
      });
    });
    const port = await listen(upstream, 'recording upstream', '127.0.0.1', 0);
    const recording = await startDynamoFaultProxy({
      host: '127.0.0.1',
      upstream: `http://127.0.0.1:${port}`,
      plan,
      log: memoryLog(),
    });
    try {
      const body = '{"TableName":"t","Key":{"id":{"S":"ü"}}}';
      const headers = {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.GetItem',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=abc',
        'X-Amz-Date': '20260101T000000Z',
      };
      const res = await fetch(`${recording.url}/?x=1`, { method: 'POST', headers, body });
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amz-crc32')).toBe('12345');
      expect(res.headers.get('x-amzn-requestid')).toBe('req-1');
      expect(await res.text()).toBe(
        '{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"nope ✓"}',
      );
      const [got] = seen;
      expect(got).toMatchObject({ method: 'POST', url: '/?x=1', body });
      expect(got?.headers).toMatchObject({
        'content-type': headers['Content-Type'],
        'x-amz-target': headers['X-Amz-Target'],
        authorization: headers.Authorization,
        'x-amz-date': headers['X-Amz-Date'],
        // The signed Host header is the caller's, not rewritten.
        host: `127.0.0.1:${recording.port}`,
        'content-length': String(Buffer.byteLength(body)),
      });
    } finally {
      await recording.close();
      await new Promise((r) => upstream.close(r));
    }
  });

  it('answers 502 when the upstream is unreachable, and counts it', async () => {
    const closed = createServer();
    const port = await listen(closed, 'placeholder', '127.0.0.1', 0);
    await new Promise((r) => closed.close(r));
    const log = memoryLog();
    const dangling = await startDynamoFaultProxy({
      host: '127.0.0.1',
      upstream: `http://127.0.0.1:${port}`,
      plan,
      log,
    });
    try {
      const res = await fetch(dangling.url, {
        method: 'POST',
        headers: { 'X-Amz-Target': 'DynamoDB_20120810.ListTables' },
        body: '{}',
      });
      expect(res.status).toBe(502);
      await res.text();
      expect(dangling.stats()).toMatchObject({ requests: 1, forwarded: 1, upstreamErrors: 1 });
      expect(log.lines.join('\n')).toMatch(/upstream .* failed/);
    } finally {
      await dangling.close();
    }
  });
});

describe('DynamoDB fault proxy: injected errors', () => {
  it('unavailable: every request answers 500 InternalServerError, the SDK retries, the call fails for good', async () => {
    setPlan({ dynamodb: { unavailable: true } });
    const db = client();
    const err = await failure(db.send(new PutCommand({ TableName: dynamo.tables.connections, Item: item('never') })));
    expect(err.name).toBe('InternalServerError');
    expect(err.message).toMatch(/DynamoDB is unavailable \(injected fault\)/);
    expect(err.$metadata.httpStatusCode).toBe(500);
    const attempts = err.$metadata.attempts ?? 0;
    expect(attempts).toBeGreaterThanOrEqual(2); // the SDK's own retries
    expect(proxy.stats()).toMatchObject({
      requests: attempts,
      injected: attempts,
      forwarded: 0,
      operations: { PutItem: { requests: attempts, injected: attempts } },
    });
    // Nothing reached DynamoDB.
    expect(
      (
        await direct().send(
          new GetCommand({ TableName: dynamo.tables.connections, Key: { [ConnectionAttr.connectionId]: 'never' } }),
        )
      ).Item,
    ).toBeUndefined();
  });

  it('sends the AWS JSON 1.0 error body', async () => {
    setPlan({ dynamodb: { unavailable: true } });
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(res.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(await res.json()).toEqual({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'DynamoDB is unavailable (injected fault)',
    });
  });

  it('failNext counts requests: the SDK rides over fewer failures than its attempts', async () => {
    setPlan({ dynamodb: { failNext: 2 } });
    const db = client(3);
    await db.send(new PutCommand({ TableName: dynamo.tables.connections, Item: item('retried') }));
    expect(proxy.stats()).toMatchObject({ requests: 3, injected: 2, forwarded: 1 });
    expect(plan.dynamodb.failNext).toBe(0);

    setPlan({ dynamodb: { failNext: 1 } });
    const once = client(1);
    expect(
      (
        await failure(
          once.send(
            new GetCommand({ TableName: dynamo.tables.connections, Key: { [ConnectionAttr.connectionId]: 'retried' } }),
          ),
        )
      ).name,
    ).toBe('InternalServerError');
    expect(
      (
        await once.send(
          new GetCommand({ TableName: dynamo.tables.connections, Key: { [ConnectionAttr.connectionId]: 'retried' } }),
        )
      ).Item,
    ).toEqual(item('retried'));
  });

  it('operations: only the listed operations fail', async () => {
    setPlan({ dynamodb: { unavailable: true, operations: ['Query'] } });
    const db = client(1);
    const table = dynamo.tables.connections;
    await db.send(new PutCommand({ TableName: table, Item: item('q1', 'ops') }));
    const err = await failure(
      db.send(
        new QueryCommand({
          TableName: table,
          IndexName: TENANT_INDEX,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': ConnectionAttr.tenantId },
          ExpressionAttributeValues: { ':t': 'ops' },
        }),
      ),
    );
    expect(err.name).toBe('InternalServerError');
    expect(
      (await db.send(new GetCommand({ TableName: table, Key: { [ConnectionAttr.connectionId]: 'q1' } }))).Item,
    ).toEqual(item('q1', 'ops'));
    expect(proxy.stats().operations).toEqual({
      PutItem: { requests: 1, injected: 0 },
      Query: { requests: 1, injected: 1 },
      GetItem: { requests: 1, injected: 0 },
    });
  });

  it('tables: only requests naming a listed table fail (batches included)', async () => {
    const { connections, events } = dynamo.tables;
    setPlan({ dynamodb: { unavailable: true, tables: [events] } });
    const db = client(1);
    await db.send(new PutCommand({ TableName: connections, Item: item('t1') }));
    expect(
      (await failure(db.send(new PutCommand({ TableName: events, Item: { tenantId: 'acme', sk: 'x' } })))).name,
    ).toBe('InternalServerError');
    const raw = new DynamoDBClient({
      endpoint: proxy.url,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    clients.push(raw);
    const batch = new BatchWriteItemCommand({
      RequestItems: {
        [connections]: [{ PutRequest: { Item: { [ConnectionAttr.connectionId]: { S: 't2' } } } }],
        [events]: [{ PutRequest: { Item: { tenantId: { S: 'acme' }, sk: { S: 'y' } } } }],
      },
    });
    expect((await failure(raw.send(batch))).name).toBe('InternalServerError');
    // Requests without a table (ListTables) never match a table filter.
    expect((await raw.send(new ListTablesCommand({}))).TableNames).toContain(events);
  });

  it('applies plan changes made over the gateway control endpoint at once', async () => {
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      stage: 'test',
      routes: {},
      faults: plan,
      log: memoryLog(),
    });
    const url = `${gateway.managementUrl}/_local/faults`;
    const db = client(1);
    const get = () =>
      db.send(new GetCommand({ TableName: dynamo.tables.connections, Key: { [ConnectionAttr.connectionId]: 'ctl' } }));
    try {
      const set = await fetch(url, {
        method: 'POST',
        body: JSON.stringify({ dynamodb: { unavailable: true, operations: ['GetItem'] } }),
      });
      expect(set.status).toBe(200);
      expect(await set.json()).toEqual({
        goneIds: [],
        throttleNext: 0,
        errorNext: 0,
        latencyMs: {},
        dynamodb: { unavailable: true, failNext: 0, operations: ['GetItem'] },
      });
      expect((await failure(get())).name).toBe('InternalServerError');
      const bad = await fetch(url, {
        method: 'POST',
        body: JSON.stringify({ dynamodb: { unavailable: true, operations: ['getitem'] } }),
      });
      expect(bad.status).toBe(400);
      await bad.text();
      expect((await failure(get())).name).toBe('InternalServerError'); // a refused plan changes nothing
      const cleared = await fetch(url, { method: 'DELETE' });
      expect(await cleared.json()).toEqual({ goneIds: [], throttleNext: 0, errorNext: 0, latencyMs: {} });
      expect((await get()).Item).toBeUndefined();
    } finally {
      await gateway.close();
    }
  });
});

describe('DynamoDB fault proxy: request parsing', () => {
  it('reads the operation from X-Amz-Target', () => {
    expect(operationOf('DynamoDB_20120810.Query')).toBe('Query');
    expect(operationOf(['DynamoDB_20120810.PutItem'])).toBe('PutItem');
    expect(operationOf(undefined)).toBeUndefined();
  });

  it('finds the tables of item, batch and transaction requests', () => {
    expect(tableNamesOf({ TableName: 'a' })).toEqual(['a']);
    expect(tableNamesOf({ RequestItems: { a: [], b: [] } })).toEqual(['a', 'b']);
    expect(
      tableNamesOf({
        TransactItems: [
          { Put: { TableName: 'a' } },
          { ConditionCheck: { TableName: 'c' } },
          { Get: { TableName: 'a' } },
        ],
      }),
    ).toEqual(['a', 'c']);
    expect(tableNamesOf({ Statement: 'SELECT * FROM a' })).toEqual([]);
    expect(tableNamesOf(null)).toEqual([]);
  });
});

describe('fault injection stays out of the deployed code', () => {
  it('no module under lambdas/ or lib/ imports bin/ (the proxy and the fault plan are local-only)', async () => {
    const root = new URL('../../', import.meta.url);
    const offenders: string[] = [];
    for (const dir of ['lambdas', 'lib']) {
      const files = (await readdir(new URL(`${dir}/`, root), { recursive: true })).filter((f) => f.endsWith('.ts'));
      for (const file of files) {
        const text = await readFile(new URL(`${dir}/${file}`, root), 'utf8');
        if (/from\s+['"][^'"]*\/bin\/|import\(\s*['"][^'"]*\/bin\//.test(text)) offenders.push(`${dir}/${file}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
