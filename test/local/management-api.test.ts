/**
 * The management API on its own, over an in-memory `ConnectionRegistry` (no WebSocket gateway):
 * the SDK-facing behaviour is in gateway.test.ts; this pins what the module asks of a registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../bin/local/apigw-events.js';
import { emptyFaultPlan, type FaultPlan } from '../../bin/local/faults.js';
import { closeServer, createLocalServer, listen } from '../../bin/local/http.js';
import { type ConnectionRegistry, managementApi, type RegisteredConnection } from '../../bin/local/management-api.js';
import { MAX_MESSAGE_BYTES } from '../../lambdas/contract/index.js';

const ID = 'L0SM9cOFvHcCIhw=';
const INFO: ConnectionInfo = {
  connectionId: ID,
  connectedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
  sourceIp: '10.0.0.7',
  userAgent: 'test-agent',
  domainName: '127.0.0.1:1',
  stage: 'dev',
};

/** One connection that records what the API does to it; `open` false makes it look gone. */
function fakeConnection(open = true) {
  const sent: string[] = [];
  let closes = 0;
  let sendSucceeds = true;
  const conn: RegisteredConnection = {
    info: INFO,
    lastActiveAt: Date.UTC(2025, 0, 2, 3, 9, 0),
    send: async (data) => {
      if (sendSucceeds) sent.push(data.toString('utf8'));
      return sendSucceeds;
    },
    close: () => {
      closes += 1;
    },
  };
  const registry: ConnectionRegistry = { open: (id) => (open && id === ID ? conn : undefined) };
  return {
    registry,
    sent,
    closes: () => closes,
    /** The connection closes between the lookup and the send. */
    failSends: () => {
      sendSucceeds = false;
    },
  };
}

const servers: Array<Parameters<typeof closeServer>[0]> = [];
/** Request handler failures (the local server answers them 500): none expected. */
const failures: unknown[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeServer(server);
  expect(failures.splice(0)).toEqual([]);
});

async function serve(registry: ConnectionRegistry, faults?: FaultPlan): Promise<string> {
  const api = managementApi({ stage: 'dev', registry, faults });
  const server = createLocalServer(
    (req, res) => api(req, res, new URL(req.url ?? '/', 'http://local').pathname),
    (err) => failures.push(err),
  );
  servers.push(server);
  return `http://127.0.0.1:${await listen(server, 'management API test', '127.0.0.1', 0)}`;
}

const at = (base: string, id = ID, stage = '') => `${base}${stage}/@connections/${encodeURIComponent(id)}`;

async function errorType(res: Response): Promise<string | null> {
  await res.arrayBuffer();
  return res.headers.get('x-amzn-errortype');
}

describe('management API over a connection registry', () => {
  it('POST sends the body as one frame to the registered connection', async () => {
    const fake = fakeConnection();
    const base = await serve(fake.registry);
    const res = await fetch(at(base), { method: 'POST', body: '{"hello":"world"}' });
    expect(res.status).toBe(200);
    expect(fake.sent).toEqual(['{"hello":"world"}']);
    expect((await fetch(at(base, ID, '/dev'), { method: 'POST', body: 'staged' })).status).toBe(200);
    expect(fake.sent).toEqual(['{"hello":"world"}', 'staged']);
  });

  it('GET describes the connection with the field names the service uses', async () => {
    const base = await serve(fakeConnection().registry);
    const res = await fetch(at(base));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      connectedAt: '2025-01-02T03:04:05.000Z',
      identity: { sourceIp: '10.0.0.7', userAgent: 'test-agent' },
      lastActiveAt: '2025-01-02T03:09:00.000Z',
    });
  });

  it('DELETE closes the connection and answers 204', async () => {
    const fake = fakeConnection();
    const base = await serve(fake.registry);
    expect((await fetch(at(base), { method: 'DELETE' })).status).toBe(204);
    expect(fake.closes()).toBe(1);
  });

  it('answers 410 GoneException when the registry has no open connection, or the send fails', async () => {
    const fake = fakeConnection(false);
    const base = await serve(fake.registry);
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await fetch(at(base), { method, ...(method === 'POST' ? { body: 'x' } : {}) });
      expect(res.status).toBe(410);
      expect(await errorType(res)).toBe('GoneException');
    }
    expect(fake.closes()).toBe(0);

    const closing = fakeConnection();
    closing.failSends();
    const res = await fetch(at(await serve(closing.registry)), { method: 'POST', body: 'x' });
    expect(res.status).toBe(410);
    expect(closing.sent).toEqual([]);
  });

  it('refuses what API Gateway refuses: big payloads, other methods, other stages and paths', async () => {
    const fake = fakeConnection();
    const base = await serve(fake.registry);
    const big = await fetch(at(base), { method: 'POST', body: 'x'.repeat(MAX_MESSAGE_BYTES + 1) });
    expect([big.status, await errorType(big)]).toEqual([413, 'PayloadTooLargeException']);
    const put = await fetch(at(base), { method: 'PUT', body: 'x' });
    expect([put.status, await errorType(put)]).toEqual([405, 'MethodNotAllowedException']);
    const stage = await fetch(at(base, ID, '/prod'));
    expect([stage.status, await errorType(stage)]).toEqual([404, 'NotFoundException']);
    const other = await fetch(`${base}/elsewhere`);
    expect([other.status, await errorType(other)]).toEqual([404, 'NotFoundException']);
    const badId = await fetch(`${base}/@connections/%E0%A4%A`);
    expect([badId.status, await errorType(badId)]).toEqual([400, 'BadRequestException']);
    expect(fake.sent).toEqual([]);
  });

  it('applies the fault plan before it looks the connection up', async () => {
    const fake = fakeConnection();
    const plan = emptyFaultPlan();
    const base = await serve(fake.registry, plan);
    plan.throttleNext = 1;
    const throttled = await fetch(at(base), { method: 'POST', body: 'x' });
    expect([throttled.status, await errorType(throttled)]).toEqual([429, 'LimitExceededException']);
    plan.goneIds.add(ID);
    const gone = await fetch(at(base));
    expect([gone.status, await errorType(gone)]).toEqual([410, 'GoneException']);
    expect(fake.sent).toEqual([]);
    plan.goneIds.clear();
    expect((await fetch(at(base), { method: 'POST', body: 'y' })).status).toBe(200);
    expect(fake.sent).toEqual(['y']);
  });
});
