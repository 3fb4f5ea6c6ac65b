/** Without LOCAL_FAULTS: no fault proxy, no control endpoint; the handlers talk to DynamoDB directly. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, runtimeOptionsFromEnv, startLocalRuntime } from '../../bin/local/runtime.js';
import { Client } from '../../bin/tools/ws-client.js';
import { Env, Route } from '../../lambdas/contract/index.js';
import { memoryLog } from './helpers.js';

let runtime: LocalRuntime;
const log = memoryLog();

beforeAll(async () => {
  runtime = await startLocalRuntime({
    wsPort: 0,
    eventsPort: 0,
    httpPort: 0,
    stage: 'nofaults',
    sweepIntervalSeconds: 0,
    faults: false,
    handlersDir: new URL('./fixtures/handlers/', import.meta.url),
    log,
  });
});

afterAll(async () => {
  await runtime?.close();
});

describe('local runtime without LOCAL_FAULTS', () => {
  it('is the default', () => {
    expect(runtimeOptionsFromEnv({}).faults).toBe(false);
    expect(runtimeOptionsFromEnv({ LOCAL_FAULTS: '0' }).faults).toBe(false);
    expect(runtimeOptionsFromEnv({ LOCAL_FAULTS: '1' }).faults).toBe(true);
  });

  it('starts no DynamoDB proxy: the handlers use DynamoDB directly', async () => {
    expect(runtime.dynamoFaultProxy).toBeUndefined();
    expect(runtime.faults).toBeUndefined();
    expect(runtime.handlerDynamodbEndpoint).toBe(runtime.dynamodbEndpoint);
    expect(process.env[Env.dynamodbEndpoint]).toBe(runtime.dynamodbEndpoint);
    expect(log.lines.join('\n')).not.toMatch(/fault proxy|fault injection|_local\/faults/i);
    // And they work.
    const client = await Client.connect(runtime.wsUrl);
    client.ws.send(JSON.stringify({ action: Route.subscribe }));
    expect(JSON.parse(await client.nth(1))).toMatchObject({ route: Route.subscribe });
    await client.closeAndWait();
  });

  it('answers 404 at /_local/faults, for every method', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await fetch(`${runtime.managementUrl}/_local/faults`, {
        method,
        ...(method === 'POST' ? { body: '{"dynamodb":{"unavailable":true}}' } : {}),
      });
      expect(res.status).toBe(404);
      await res.text();
    }
  });
});
