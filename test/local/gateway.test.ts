import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketProxyEvent } from '../../bin/local/apigw-events.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../bin/local/defaults.js';
import { emptyFaultPlan, type FaultPlan } from '../../bin/local/faults.js';
import {
  type Gateway,
  type GatewayOptions,
  type RouteTable,
  startGateway,
  type WebSocketHandler,
} from '../../bin/local/gateway.js';
import { Client } from '../../bin/tools/ws-client.js';
import {
  type LambdaRouteKey,
  MAX_MESSAGE_BYTES,
  MOCK_ROUTES,
  ROUTE_KEYS,
  ROUTES,
  Route,
  type RouteKey,
  WebSocketEventSchema,
} from '../../lambdas/contract/index.js';
import { memoryLog, waitFor } from './helpers.js';

const CONNECTION_ID = /^[A-Za-z0-9]{15}=$/;

interface Harness {
  gateway: Gateway;
  /** Every event any handler received, in order. */
  events: WebSocketProxyEvent[];
  eventsOf(route: RouteKey): WebSocketProxyEvent[];
  management(path?: string): ApiGatewayManagementApiClient;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Replies with what it saw: the route, the body and the encoding. */
const echo: WebSocketHandler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({
    route: event.requestContext.routeKey,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
  }),
});

/** Every contract route bound to `echo`, with its contract `returnResponse`, plus overrides. */
function routeTable(overrides: Partial<Record<RouteKey, WebSocketHandler | null>> = {}): RouteTable {
  const table: RouteTable = {};
  for (const key of ROUTE_KEYS) {
    const override = overrides[key];
    if (override === null) continue;
    // Mock routes are bound here too: this file tests the gateway's mechanics on a generic table
    // (harness() turns the contract's MOCK routes off unless a test asks for them).
    const returnResponse = key in ROUTES ? ROUTES[key as LambdaRouteKey].returnResponse : true;
    table[key] = { handler: override ?? echo, returnResponse };
  }
  return table;
}

async function harness(
  overrides: Partial<Record<RouteKey, WebSocketHandler | null>> = {},
  options: Partial<GatewayOptions> = {},
): Promise<Harness> {
  const events: WebSocketProxyEvent[] = [];
  const table = routeTable(overrides);
  // Record every event before the handler runs.
  for (const binding of Object.values(table)) {
    const inner = binding.handler;
    binding.handler = async (event, context) => {
      events.push(event);
      return inner(event, context);
    };
  }
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    stage: 'test',
    routes: table,
    log: memoryLog(),
    mockRoutes: {},
    ...options,
  });
  const clients: ApiGatewayManagementApiClient[] = [];
  cleanups.push(async () => {
    await gateway.close();
    for (const c of clients) c.destroy();
  });
  return {
    gateway,
    events,
    eventsOf: (route) => events.filter((e) => e.requestContext.routeKey === route),
    management: (path = '') => {
      const client = new ApiGatewayManagementApiClient({
        endpoint: `${gateway.managementUrl}${path}`,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
  };
}

async function open(h: Harness, query = '', headers: Record<string, string> = {}): Promise<Client> {
  const client = await Client.connect(`${h.gateway.url}${query}`, { headers });
  cleanups.push(() => client.closeAndWait());
  return client;
}

function connectionIdOf(h: Harness): string {
  const connect = h.eventsOf(Route.connect).at(-1);
  if (!connect) throw new Error('no $connect event');
  return connect.requestContext.connectionId;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { status?: number; name: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { status?: number };
  }
  throw new Error('expected a rejection');
}

describe('local gateway: $connect', () => {
  it('builds an API Gateway CONNECT event with canonical headers and query parameters', async () => {
    const h = await harness();
    await open(h, '/test?token=abc&x=1&x=2', { Origin: 'http://app.local', 'user-agent': 'vitest-agent' });
    const event = h.eventsOf(Route.connect)[0];
    expect(WebSocketEventSchema.safeParse(event).success).toBe(true);
    expect(event?.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      stage: 'test',
      apiId: 'local',
      messageDirection: 'IN',
      domainName: `127.0.0.1:${h.gateway.port}`,
      identity: { sourceIp: '127.0.0.1', userAgent: 'vitest-agent' },
    });
    expect(event?.requestContext.connectionId).toMatch(CONNECTION_ID);
    expect(event?.requestContext.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(event?.headers).toMatchObject({
      Origin: 'http://app.local',
      'User-Agent': 'vitest-agent',
      'Sec-WebSocket-Version': '13',
    });
    expect(event?.headers?.['Sec-WebSocket-Key']).toBeTypeOf('string');
    expect(event?.multiValueHeaders?.Origin).toEqual(['http://app.local']);
    expect(event?.queryStringParameters).toEqual({ token: 'abc', x: '2' });
    expect(event?.multiValueQueryStringParameters).toEqual({ token: ['abc'], x: ['1', '2'] });
    expect(event?.isBase64Encoded).toBe(false);
  });

  it('omits queryStringParameters without a query string and hands out unique ids', async () => {
    const h = await harness();
    await Promise.all([open(h), open(h), open(h)]);
    const connects = h.eventsOf(Route.connect);
    expect(connects.every((e) => e.queryStringParameters === undefined)).toBe(true);
    expect(new Set(connects.map((e) => e.requestContext.connectionId)).size).toBe(3);
    expect(h.gateway.connectionIds()).toHaveLength(3);
  });

  it('refuses the handshake with the status $connect returns, without $disconnect', async () => {
    const h = await harness({ [Route.connect]: async () => ({ statusCode: 403 }) });
    const err = await rejection(open(h));
    expect(err.status).toBe(403);
    await h.gateway.idle();
    expect(h.eventsOf(Route.disconnect)).toHaveLength(0);
    expect(h.gateway.connectionIds()).toHaveLength(0);
  });

  it('does not let $connect send to the connection it is accepting (410 until established)', async () => {
    let seen = '';
    let management: ApiGatewayManagementApiClient | undefined;
    const h = await harness({
      [Route.connect]: async (event) => {
        const post = new PostToConnectionCommand({
          ConnectionId: event.requestContext.connectionId,
          Data: 'too early',
        });
        seen =
          (await management?.send(post).then(
            () => 'sent',
            (err: Error) => err.name,
          )) ?? 'no client';
        return { statusCode: 200 };
      },
    });
    management = h.management();
    const client = await open(h);
    expect(seen).toBe('GoneException');
    await h.management().send(new PostToConnectionCommand({ ConnectionId: connectionIdOf(h), Data: 'now' }));
    expect(await client.nth(1)).toBe('now');
  });

  it('refuses with 500 when $connect throws, and keeps serving', async () => {
    let fail = true;
    const h = await harness({
      [Route.connect]: async () => {
        if (fail) throw new Error('boom');
        return { statusCode: 200 };
      },
    });
    expect((await rejection(open(h))).status).toBe(500);
    fail = false;
    const client = await open(h);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('accepts the root and the stage path only', async () => {
    const h = await harness();
    await open(h, '/test/');
    expect((await rejection(open(h, '/elsewhere'))).status).toBe(404);
  });

  it('selects the subprotocol named by the $connect response header', async () => {
    const h = await harness({
      [Route.connect]: async () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'v1.realtime' } }),
    });
    const client = await Client.connect(h.gateway.url, { protocols: ['v1.realtime', 'other'] });
    cleanups.push(() => client.closeAndWait());
    expect(client.ws.protocol).toBe('v1.realtime');
  });

  it('reports $disconnect when the client leaves while $connect is still running', async () => {
    const h = await harness({
      [Route.connect]: async () => {
        await sleep(200);
        return { statusCode: 200 };
      },
    });
    // A raw handshake, abandoned while $connect runs.
    const socket = createConnection(h.gateway.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await waitFor(() => h.eventsOf(Route.connect)[0]);
    socket.destroy();
    const disconnect = await waitFor(() => h.eventsOf(Route.disconnect)[0]);
    expect(disconnect.requestContext).toMatchObject({ connectionId: connectionIdOf(h), disconnectStatusCode: 1006 });
    expect(h.gateway.connectionIds()).toHaveLength(0);
  });
});

describe('local gateway: messages', () => {
  it('selects routes on $request.body.action, else $default', async () => {
    const h = await harness({ [Route.resume]: null });
    const client = await open(h);
    const frames = [
      JSON.stringify({ action: 'ping' }),
      JSON.stringify({ action: 'subscribe', eventTypes: ['goal.*'] }),
      JSON.stringify({ action: 'nope' }),
      JSON.stringify({ action: 'resume', lastEventId: 'x' }), // not in this route table
      JSON.stringify({ action: '$connect' }),
      JSON.stringify({ action: 42 }),
      JSON.stringify(['ping']),
      '{"no":"action"}',
      'not json',
    ];
    for (const frame of frames) client.ws.send(frame);
    await client.nth(frames.length);
    const routes = client.raw.map((m) => (JSON.parse(m) as { route: string }).route);
    expect(routes).toEqual([
      'ping',
      'subscribe',
      '$default',
      '$default',
      '$default',
      '$default',
      '$default',
      '$default',
      '$default',
    ]);
    const bodies = client.raw.map((m) => (JSON.parse(m) as { body: string }).body);
    expect(bodies).toEqual(frames);
  });

  it('builds MESSAGE events the contract schema accepts', async () => {
    const h = await harness();
    const client = await open(h);
    client.ws.send(JSON.stringify({ action: 'ping' }));
    await client.nth(1);
    const event = h.eventsOf(Route.ping)[0];
    expect(WebSocketEventSchema.safeParse(event).success).toBe(true);
    expect(event?.requestContext).toMatchObject({
      eventType: 'MESSAGE',
      routeKey: 'ping',
      connectionId: connectionIdOf(h),
      stage: 'test',
    });
    expect(event?.requestContext.messageId).toMatch(CONNECTION_ID);
    expect(event?.requestContext.connectedAt).toBe(h.eventsOf(Route.connect)[0]?.requestContext.connectedAt);
  });

  it('sends binary frames to $default, base64-encoded', async () => {
    const h = await harness();
    const client = await open(h);
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    const reply = JSON.parse(await client.nth(1)) as { route: string; body: string; isBase64Encoded: boolean };
    expect(reply).toEqual({
      route: '$default',
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    });
  });

  it('sends a reply only for routes with a route response', async () => {
    const table = routeTable();
    const ping = table[Route.ping];
    if (ping) ping.returnResponse = false;
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      stage: 'test',
      routes: table,
      log: memoryLog(),
      mockRoutes: {},
    });
    cleanups.push(() => gateway.close());
    const client = await Client.connect(gateway.url);
    cleanups.push(() => client.closeAndWait());
    client.ws.send(JSON.stringify({ action: 'ping' }));
    client.ws.send('marker');
    const first = JSON.parse(await client.nth(1)) as { route: string };
    expect(first.route).toBe('$default');
    expect(client.raw).toHaveLength(1);
  });

  it('answers Forbidden when nothing matches and there is no $default', async () => {
    const h = await harness({ [Route.default]: null });
    const client = await open(h);
    client.ws.send('hello');
    expect(JSON.parse(await client.nth(1))).toEqual({
      message: 'Forbidden',
      connectionId: connectionIdOf(h),
      requestId: expect.stringMatching(CONNECTION_ID),
    });
  });

  it('keeps per-connection order even when handlers take different times', async () => {
    const h = await harness({
      [Route.default]: async (event) => {
        await sleep(Number(event.body) % 3 === 0 ? 30 : 1);
        return { statusCode: 200, body: event.body ?? '' };
      },
    });
    const client = await open(h);
    const sent = Array.from({ length: 12 }, (_, i) => String(i));
    for (const m of sent) client.ws.send(m);
    await client.nth(sent.length);
    expect(client.raw).toEqual(sent);
  });

  it('sends the Internal server error frame when a handler throws and keeps the connection', async () => {
    const h = await harness({
      [Route.ping]: async () => {
        throw new Error('handler bug');
      },
    });
    const client = await open(h);
    client.ws.send(JSON.stringify({ action: 'ping' }));
    const error = JSON.parse(await client.nth(1)) as Record<string, unknown>;
    expect(error).toEqual({
      message: 'Internal server error',
      connectionId: connectionIdOf(h),
      requestId: expect.stringMatching(CONNECTION_ID),
    });
    client.ws.send('still there?');
    expect(JSON.parse(await client.nth(2))).toMatchObject({ route: '$default', body: 'still there?' });
  });

  it('refuses frames beyond the per-connection queue bound with a throttling frame', async () => {
    const h = await harness(
      {
        [Route.default]: async (event) => {
          await sleep(50);
          return { statusCode: 200, body: event.body ?? '' };
        },
      },
      { maxQueuedMessages: 2 },
    );
    const client = await open(h);
    for (const m of ['a', 'b', 'c']) client.ws.send(m);
    await client.nth(3);
    expect(JSON.parse(client.raw[0] ?? '')).toMatchObject({ message: 'Too Many Requests' });
    expect(client.raw.slice(1)).toEqual(['a', 'b']);
  });

  it('answers "Endpoint request timed out" when a handler exceeds the integration timeout', async () => {
    const h = await harness({ [Route.default]: () => new Promise(() => undefined) }, { handlerTimeoutMs: 50 });
    const client = await open(h);
    client.ws.send('slow');
    expect(JSON.parse(await client.nth(1))).toMatchObject({ message: 'Endpoint request timed out' });
  });

  it('closes with 1009 on a message over 128 KB, and reports it to $disconnect', async () => {
    const h = await harness();
    const client = await open(h);
    client.ws.send('x'.repeat(MAX_MESSAGE_BYTES));
    await client.nth(1); // exactly the limit is accepted
    client.ws.send('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect((await client.closed).code).toBe(1009);
    const disconnect = await waitFor(() => h.eventsOf(Route.disconnect)[0]);
    expect(disconnect.requestContext).toMatchObject({ eventType: 'DISCONNECT', disconnectStatusCode: 1009 });
  });
});

describe('local gateway: connection lifetime', () => {
  it('invokes $disconnect exactly once when the client closes', async () => {
    const h = await harness();
    const client = await open(h);
    client.ws.close(1000, 'bye');
    await client.closed;
    const disconnect = await waitFor(() => h.eventsOf(Route.disconnect)[0]);
    expect(WebSocketEventSchema.safeParse(disconnect).success).toBe(true);
    expect(disconnect.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      connectionId: connectionIdOf(h),
      disconnectStatusCode: 1000,
      disconnectReason: 'bye',
    });
    await sleep(50);
    await h.gateway.idle();
    expect(h.eventsOf(Route.disconnect)).toHaveLength(1);
  });

  it('closes idle connections with 1001; any frame resets the idle timer', async () => {
    const h = await harness({}, { idleTimeoutSeconds: 0.3 });
    const client = await open(h);
    for (let i = 0; i < 4; i += 1) {
      await sleep(150);
      client.ws.send('keep-alive');
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN); // 600 ms > 300 ms idle, but active
    const started = Date.now();
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const disconnect = await waitFor(() => h.eventsOf(Route.disconnect)[0]);
    expect(disconnect.requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('does not count protocol pings as activity', async () => {
    const h = await harness({}, { idleTimeoutSeconds: 0.2 });
    const client = await open(h);
    let pongs = 0;
    client.ws.on('pong', () => (pongs += 1));
    const timer = setInterval(() => client.ws.ping(), 50);
    try {
      expect((await client.closed).code).toBe(1001);
    } finally {
      clearInterval(timer);
    }
    expect(pongs).toBe(0);
  });

  it('closes at the maximum duration with 1001 even when active', async () => {
    const h = await harness({}, { maxConnectionSeconds: 0.3 });
    const client = await open(h);
    const timer = setInterval(() => client.ws.readyState === client.ws.OPEN && client.ws.send('busy'), 50);
    try {
      expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      clearInterval(timer);
    }
    await waitFor(() => h.eventsOf(Route.disconnect)[0]);
  });

  it('close() ends every connection and runs $disconnect for each', async () => {
    const h = await harness();
    const clients = await Promise.all([open(h), open(h)]);
    await h.gateway.close();
    for (const client of clients) expect((await client.closed).code).toBe(1006);
    expect(h.eventsOf(Route.disconnect)).toHaveLength(2);
  });
});

describe('local gateway: management API with the AWS SDK client', () => {
  it('PostToConnection delivers a text frame', async () => {
    const h = await harness();
    const client = await open(h);
    await h
      .management()
      .send(new PostToConnectionCommand({ ConnectionId: connectionIdOf(h), Data: JSON.stringify({ hello: 'world' }) }));
    expect(await client.nth(1)).toBe('{"hello":"world"}');
  });

  it('accepts the stage in the endpoint path', async () => {
    const h = await harness();
    const client = await open(h);
    await h.management('/test').send(new PostToConnectionCommand({ ConnectionId: connectionIdOf(h), Data: 'staged' }));
    expect(await client.nth(1)).toBe('staged');
  });

  it('GetConnection returns connectedAt, identity and lastActiveAt', async () => {
    const h = await harness();
    await open(h, '', { 'User-Agent': 'sdk-test' });
    const out = await h.management().send(new GetConnectionCommand({ ConnectionId: connectionIdOf(h) }));
    expect(out.ConnectedAt).toBeInstanceOf(Date);
    expect(out.ConnectedAt?.getTime()).toBe(h.eventsOf(Route.connect)[0]?.requestContext.connectedAt);
    expect(out.LastActiveAt).toBeInstanceOf(Date);
    expect(out.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'sdk-test' });
  });

  it('DeleteConnection closes the socket and $disconnect runs once', async () => {
    const h = await harness();
    const client = await open(h);
    const id = connectionIdOf(h);
    await h.management().send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await client.closed).code).toBe(1000);
    await waitFor(() => h.eventsOf(Route.disconnect)[0]);
    await h.gateway.idle();
    expect(h.eventsOf(Route.disconnect)).toHaveLength(1);
    const gone = await rejection(h.management().send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' })));
    expect(gone.name).toBe('GoneException');
  });

  it('raises GoneException for unknown connections on every operation', async () => {
    const h = await harness();
    const api = h.management();
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' }),
      new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' }),
      new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' }),
    ]) {
      const err = await rejection(api.send(command as PostToConnectionCommand));
      expect(err.name).toBe('GoneException');
      expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(410);
    }
  });

  it('raises PayloadTooLargeException (413) above 128 KB and keeps the connection', async () => {
    const h = await harness();
    const client = await open(h);
    const err = await rejection(
      h
        .management()
        .send(
          new PostToConnectionCommand({ ConnectionId: connectionIdOf(h), Data: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }),
        ),
    );
    expect(err.name).toBe('PayloadTooLargeException');
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('answers 404 for other paths', async () => {
    const h = await harness();
    const res = await fetch(`${h.gateway.managementUrl}/something`);
    expect(res.status).toBe(404);
    expect((await fetch(`${h.gateway.managementUrl}/other-stage/@connections/abc`)).status).toBe(404);
    expect((await fetch(`${h.gateway.managementUrl}/_local/faults`)).status).toBe(404); // faults off
  });
});

describe('local gateway: fault plan', () => {
  async function faulty(): Promise<{ h: Harness; plan: FaultPlan; client: Client; id: string }> {
    const plan = emptyFaultPlan();
    const h = await harness({}, { faults: plan });
    const client = await open(h);
    return { h, plan, client, id: connectionIdOf(h) };
  }

  it('answers 410 for goneIds, 429 LimitExceededException and 500 for the next posts', async () => {
    const { h, plan, client, id } = await faulty();
    const api = h.management();
    const post = () => api.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }));
    plan.goneIds.add(id);
    expect((await rejection(post())).name).toBe('GoneException');
    plan.goneIds.clear();
    plan.throttleNext = 1;
    plan.errorNext = 1;
    expect((await rejection(post())).name).toBe('LimitExceededException');
    const serverError = await rejection(post());
    expect((serverError as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(500);
    await post();
    expect(await client.nth(1)).toBe('x');
  });

  it('is controlled over HTTP at /_local/faults and delays answers per connection', async () => {
    const { h, id } = await faulty();
    const url = `${h.gateway.managementUrl}/_local/faults`;
    const set = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ latencyMs: { [id]: 150 }, throttleNext: 0 }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ latencyMs: { [id]: 150 }, goneIds: [] });
    const started = Date.now();
    await h.management().send(new PostToConnectionCommand({ ConnectionId: id, Data: 'slow' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect((await fetch(url, { method: 'POST', body: '{"bogus":1}' })).status).toBe(400);
    expect(await (await fetch(url, { method: 'DELETE' })).json()).toEqual({
      goneIds: [],
      throttleNext: 0,
      errorNext: 0,
      latencyMs: {},
    });
  });
});

describe("MOCK routes (the contract's MOCK_ROUTES)", () => {
  it('answers ping with the pong template, stamped with the request time, and invokes no handler', async () => {
    const h = await harness({}, { mockRoutes: MOCK_ROUTES });
    const client = await Client.connect(`${h.gateway.url}/test`);
    const before = Date.now();
    client.ws.send(JSON.stringify({ action: Route.ping }));
    const reply = JSON.parse(await client.nth(1)) as {
      type: string;
      data: { requestTimeEpoch: number };
      timestamp: string;
    };
    expect(reply.type).toBe('pong');
    expect(reply.data.requestTimeEpoch).toBeGreaterThanOrEqual(before);
    expect(reply.data.requestTimeEpoch).toBeLessThanOrEqual(Date.now());
    expect(reply.timestamp).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(h.eventsOf(Route.ping)).toEqual([]);
    client.close();
  });
});
