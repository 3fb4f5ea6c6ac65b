/** The runtime wired to stand-in handler modules (test/local/fixtures/handlers). */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_DEV_JWT_SECRET, LOCAL_REGION } from '../../bin/local/defaults.js';
import { localDynamoClient } from '../../bin/local/dynamo.js';
import { type LocalRuntime, startLocalRuntime } from '../../bin/local/runtime.js';
import { Client } from '../../bin/tools/ws-client.js';
import { ConnectionAttr, Env, Route } from '../../lambdas/contract/index.js';
import { observed } from './fixtures/fake-lambda.js';
import { memoryLog, waitFor } from './helpers.js';

let runtime: LocalRuntime;
const log = memoryLog();

beforeAll(async () => {
  delete process.env[Env.jwtSecret];
  runtime = await startLocalRuntime({
    wsPort: 0,
    eventsPort: 0,
    httpPort: 0,
    stage: 'rt',
    sweepIntervalSeconds: 0.05,
    faults: true,
    deliveryBaseDelayMs: 5,
    handlerEnv: { [Env.jwtIssuer]: 'https://issuer.test' },
    handlersDir: new URL('./fixtures/handlers/', import.meta.url),
    log,
  });
});

afterAll(async () => {
  await runtime?.close();
});

async function connectionIds(): Promise<string[]> {
  const dynamo = localDynamoClient(runtime.dynamodbEndpoint);
  try {
    const scan = await dynamo.send(new ScanCommand({ TableName: runtime.tables.connections }));
    return (scan.Items ?? []).map((item) => item[ConnectionAttr.connectionId]?.S ?? '');
  } finally {
    dynamo.destroy();
  }
}

describe('local runtime', () => {
  it('sets the handlers environment from the contract names', () => {
    expect(process.env[Env.connectionsTable]).toBe('tenant-realtime-rt-connections');
    expect(process.env[Env.eventLogTable]).toBe('tenant-realtime-rt-events');
    expect(process.env[Env.managementEndpoint]).toBe(runtime.managementUrl);
    // LOCAL_FAULTS: the handlers reach the runtime's DynamoDB through the fault proxy.
    expect(process.env[Env.dynamodbEndpoint]).toBe(runtime.handlerDynamodbEndpoint);
    expect(runtime.handlerDynamodbEndpoint).toBe(runtime.dynamoFaultProxy?.url);
    expect(runtime.handlerDynamodbEndpoint).not.toBe(runtime.dynamodbEndpoint);
    expect(runtime.dynamoFaultProxy?.upstream).toBe(runtime.dynamodbEndpoint);
    expect(process.env[Env.jwtSecret]).toBe(LOCAL_DEV_JWT_SECRET);
    expect(LOCAL_DEV_JWT_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(process.env[Env.jwtIssuer]).toBe('https://issuer.test');
    expect(process.env.POWERTOOLS_METRICS_DISABLED).toBe('true');
    expect(runtime.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs $connect, routes and $disconnect through the handler modules', async () => {
    const client = await Client.connect(runtime.wsUrl);
    const [id] = await connectionIds();
    expect(id).toBeDefined();
    client.ws.send(JSON.stringify({ action: Route.subscribe }));
    client.ws.send('free text');
    expect(JSON.parse(await client.nth(1))).toEqual({ route: Route.subscribe, issuer: 'https://issuer.test' });
    expect(JSON.parse(await client.nth(2))).toEqual({ route: Route.default, issuer: 'https://issuer.test' });
    expect(observed.contexts).toContain('tenant-realtime-rt-connect');
    await client.closeAndWait();
    await waitFor(() => observed.disconnects.find((e) => e.requestContext.connectionId === id));
    await runtime.idle();
    expect(await connectionIds()).toEqual([]);
  });

  it('refuses the handshake when $connect says so', async () => {
    const err = await Client.connect(`${runtime.wsUrl}/?deny=1`).then(
      () => undefined,
      (e: unknown) => e as { status?: number },
    );
    expect(err?.status).toBe(401);
  });

  it('delivers PutEvents through the broadcaster to connected clients', async () => {
    const client = await Client.connect(runtime.wsUrl);
    const events = new EventBridgeClient({
      endpoint: runtime.eventsUrl,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'app.test', DetailType: 'goal.created', Detail: '{"tenantId":"t1","goalId":"g1"}' }],
        }),
      );
      const frame = JSON.parse(await client.nth(1)) as Record<string, unknown>;
      expect(frame).toEqual({
        type: 'goal.created',
        data: { tenantId: 't1', goalId: 'g1' },
        eventId: out.Entries?.[0]?.EventId,
      });
      await runtime.idle();
      expect(runtime.eventBridge.invocations().at(-1)).toMatchObject({ result: { sent: 1 }, attempts: 1 });

      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'app.test', DetailType: 'goal.created', Detail: '{"tenantId":"t1","fail":true}' }],
        }),
      );
      await runtime.idle();
      expect(runtime.eventBridge.deadLetters()).toHaveLength(1);
      expect(runtime.eventBridge.deadLetters()[0]).toMatchObject({ attempts: 3, error: 'Error: asked to fail' });
    } finally {
      events.destroy();
      await client.closeAndWait();
    }
  });

  it('invokes the sweeper on its schedule with a scheduled event', async () => {
    const before = observed.sweeps;
    await waitFor(() => (observed.sweeps >= before + 2 ? true : undefined), 3000);
    expect(log.lines.filter((l) => l.includes('sweeper failed'))).toEqual([]);
  });

  it('exposes the fault plan when enabled', async () => {
    const client = await Client.connect(runtime.wsUrl);
    const management = new ApiGatewayManagementApiClient({
      endpoint: runtime.managementUrl,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      const id = (await connectionIds())[0] ?? '';
      const set = await fetch(`${runtime.managementUrl}/_local/faults`, {
        method: 'POST',
        body: JSON.stringify({ goneIds: [id] }),
      });
      expect(set.status).toBe(200);
      const err = await management
        .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))
        .catch((e: unknown) => e as Error);
      expect((err as Error).name).toBe('GoneException');
      await fetch(`${runtime.managementUrl}/_local/faults`, { method: 'DELETE' });
      await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }));
      expect(await client.nth(1)).toBe('x');
    } finally {
      management.destroy();
      await client.closeAndWait();
    }
  });

  it("fails the handlers' DynamoDB calls per the plan, through the proxy, and recovers", async () => {
    const faults = `${runtime.managementUrl}/_local/faults`;
    const proxy = runtime.dynamoFaultProxy!;
    const events = new EventBridgeClient({
      endpoint: runtime.eventsUrl,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      // $connect writes with PutItem: refused while PutItem is unavailable.
      const set = await fetch(faults, {
        method: 'POST',
        body: JSON.stringify({ dynamodb: { unavailable: true, operations: ['PutItem'] } }),
      });
      expect(await set.json()).toMatchObject({ dynamodb: { unavailable: true, failNext: 0, operations: ['PutItem'] } });
      const injectedBefore = proxy.stats().operations.PutItem?.injected ?? 0;
      const refused = await Client.connect(runtime.wsUrl).then(
        () => undefined,
        (e: unknown) => e as { status?: number },
      );
      expect(refused?.status).toBe(500);
      // The SDK retried (its default attempts, 4 for DynamoDB in this SDK version); every one failed.
      const sdk = new DynamoDBClient({ region: LOCAL_REGION });
      const sdkAttempts = await sdk.config.maxAttempts();
      sdk.destroy();
      expect(sdkAttempts).toBeGreaterThanOrEqual(2);
      expect((proxy.stats().operations.PutItem?.injected ?? 0) - injectedBefore).toBe(sdkAttempts);

      // The fake broadcaster scans: with Scan unavailable the event is retried, then dead-lettered.
      await fetch(faults, {
        method: 'POST',
        body: JSON.stringify({ dynamodb: { unavailable: true, operations: ['Scan'] } }),
      });
      const dlqBefore = runtime.eventBridge.deadLetters().length;
      const out = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'app.test', DetailType: 'goal.created', Detail: '{"tenantId":"t1","goalId":"lost?"}' }],
        }),
      );
      await runtime.idle();
      const dead = runtime.eventBridge.deadLetters().slice(dlqBefore);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        event: { id: out.Entries?.[0]?.EventId, detail: { goalId: 'lost?' } },
        attempts: 3,
      });
      expect(dead[0]?.error).toMatch(/^InternalServerError: DynamoDB is unavailable/);

      // Cleared: everything works again.
      await fetch(faults, { method: 'DELETE' });
      const client = await Client.connect(runtime.wsUrl);
      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'app.test', DetailType: 'goal.created', Detail: '{"tenantId":"t1","goalId":"ok"}' }],
        }),
      );
      expect(JSON.parse(await client.nth(1))).toMatchObject({ data: { goalId: 'ok' } });
      await client.closeAndWait();
      await runtime.idle();
    } finally {
      await fetch(faults, { method: 'DELETE' });
      events.destroy();
    }
  });

  it('allows one runtime per process', async () => {
    await expect(startLocalRuntime({ wsPort: 0, eventsPort: 0, httpPort: 0 })).rejects.toThrow(/one per process/);
  });
});
