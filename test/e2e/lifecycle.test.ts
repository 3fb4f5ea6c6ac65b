/**
 * Connection lifecycle against the real local runtime: auth, refresh, ping, subscriptions,
 * bad frames, Origin refusal, auth deadline, disconnect.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTableNames } from '../../bin/local/defaults.js';
import { ConnectionAttr, MAX_MESSAGE_BYTES, requestTime } from '../../lambdas/contract/index.js';
import { authedClient, Client, type Runtime, startRuntime, tableClient, token } from './harness.js';

const ORIGIN = 'https://app.example.com';
const STAGE = 'e2e';

describe('connection lifecycle', () => {
  let rt: Runtime;
  let db: DynamoDBDocumentClient;
  const clients: Client[] = [];
  const connect = async () => {
    const c = await Client.connect(rt.wsUrl, { origin: ORIGIN });
    clients.push(c);
    return c;
  };
  const record = async (connectionId: string) =>
    (
      await db.send(
        new GetCommand({
          TableName: localTableNames(STAGE).connections,
          Key: { [ConnectionAttr.connectionId]: connectionId },
        }),
      )
    ).Item;

  beforeAll(async () => {
    rt = await startRuntime({ ALLOWED_ORIGINS: `${ORIGIN},https://other.example.com`, STAGE });
    db = tableClient(rt);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    db?.destroy();
    await rt?.stop();
  });

  it('authenticates with a JWT sent as the first message and records the identity', async () => {
    const c = await connect();
    const reply = await c.request(
      { action: 'auth', token: await token({ tenant: 'acme', user: 'alice', roles: ['admin'], ttl: 600 }) },
      ['auth.success', 'auth.error'],
    );
    expect(reply.type).toBe('auth.success');
    expect(reply.data).toMatchObject({ tenantId: 'acme', userId: 'alice' });
    expect(typeof reply.data.connectionId).toBe('string');
    expect(Date.parse(String(reply.data.expiresAt))).toBeGreaterThan(Date.now() + 590_000);
    expect(Date.parse(String(reply.timestamp))).not.toBeNaN();
    const item = await record(String(reply.data.connectionId));
    expect(item).toMatchObject({ tenantId: 'acme', userId: 'alice', roles: ['admin'] });
    expect(item?.[ConnectionAttr.authDeadline]).toBeUndefined();
  });

  const refused: Array<[string, () => Promise<string>, string]> = [
    ['garbage', async () => 'not-a-jwt', 'invalid_token'],
    ['wrong secret', () => token({ secret: 'another-secret-that-is-long-enough-to-use!!' }), 'invalid_token'],
    ['expired', () => token({ ttl: -120 }), 'token_expired'],
    ['missing tenant claim', () => token({ tenant: undefined, claims: { tenantId: undefined } }), 'invalid_claims'],
    ['missing sub', () => token({ user: null }), 'invalid_claims'],
    ['numeric tenant', () => token({ tenant: 42 }), 'invalid_claims'],
  ];
  it.each(refused)('refuses a token (%s) with auth.error %s and stays pending', async (_name, make, code) => {
    const c = await connect();
    const reply = await c.request({ action: 'auth', token: await make() }, ['auth.success', 'auth.error']);
    expect(reply.type).toBe('auth.error');
    expect(reply.data.code).toBe(code);
    expect(String(reply.data.message).length).toBeGreaterThan(0);
    // Still pending: subscribing is refused, but the socket is open and may retry.
    expect((await c.request({ action: 'subscribe', eventTypes: ['goal.*'] }, ['error'])).data.code).toBe(
      'not_authenticated',
    );
    expect((await c.request({ action: 'auth', token: await token() }, ['auth.success', 'auth.error'])).type).toBe(
      'auth.success',
    );
  });

  it('a non-string token gets auth.error invalid_token naming the field', async () => {
    const c = await connect();
    const reply = await c.request({ action: 'auth', token: 12345 }, ['auth.error']);
    expect(reply.data).toMatchObject({ code: 'invalid_token' });
    expect(String(reply.data.message)).toContain('token');
  });

  it('refreshes a token for the same tenant and user, and refuses another tenant or user', async () => {
    const c = await authedClient(rt, { tenant: 'acme', user: 'bob', ttl: 60 }, { origin: ORIGIN });
    clients.push(c);
    const refreshed = await c.request(
      { action: 'auth', token: await token({ tenant: 'acme', user: 'bob', ttl: 7200 }) },
      ['auth.success', 'auth.error'],
    );
    expect(refreshed.type).toBe('auth.success');
    expect(Date.parse(String(refreshed.data.expiresAt))).toBeGreaterThan(Date.now() + 7000_000);
    const id = String(refreshed.data.connectionId);

    for (const other of [
      { tenant: 'evil', user: 'bob' },
      { tenant: 'acme', user: 'mallory' },
    ]) {
      const reply = await c.request({ action: 'auth', token: await token(other) }, ['auth.success', 'auth.error']);
      expect(reply.type).toBe('auth.error');
      expect(reply.data.code).toBe('tenant_mismatch');
    }
    expect(await record(id)).toMatchObject({ tenantId: 'acme', userId: 'bob' });
  });

  it('answers ping with pong', async () => {
    const c = await connect();
    const reply = await c.request({ action: 'ping' }, ['pong']);
    // The MOCK route's template: stamped by API Gateway (epoch ms, and its CLF requestTime).
    expect(reply).toMatchObject({ type: 'pong', data: { requestTimeEpoch: expect.any(Number) } });
    expect(Math.abs(Number(reply.data?.requestTimeEpoch) - Date.now())).toBeLessThan(5_000);
    expect(String(reply.timestamp)).toBe(requestTime(Number(reply.data?.requestTimeEpoch)));
  });

  it('refuses subscribe before auth and keeps the set after', async () => {
    const c = await connect();
    expect((await c.request({ action: 'subscribe', eventTypes: ['goal.created'] }, ['error'])).data.code).toBe(
      'not_authenticated',
    );
    expect((await c.request({ action: 'unsubscribe', eventTypes: ['goal.created'] }, ['error'])).data.code).toBe(
      'not_authenticated',
    );
    const auth = await c.request({ action: 'auth', token: await token() }, ['auth.success']);
    const sub = await c.request({ action: 'subscribe', eventTypes: ['goal.*', 'action.created'] }, [
      'subscribe.success',
      'error',
    ]);
    expect(sub).toMatchObject({ type: 'subscribe.success', data: { eventTypes: ['goal.*', 'action.created'] } });
    const more = await c.request({ action: 'subscribe', eventTypes: ['action.created', 'issue.resolved'] }, [
      'subscribe.success',
    ]);
    expect(more.data.eventTypes).toEqual(['goal.*', 'action.created', 'issue.resolved']);
    const unsub = await c.request({ action: 'unsubscribe', eventTypes: ['goal.*'] }, ['unsubscribe.success']);
    expect(unsub.data.eventTypes).toEqual(['action.created', 'issue.resolved']);
    expect((await record(String(auth.data.connectionId)))?.[ConnectionAttr.subscriptions]).toEqual([
      'action.created',
      'issue.resolved',
    ]);
  });

  it.each([
    ['not JSON', '{nope', 'bad_request'],
    ['a JSON array', '[]', 'bad_request'],
    ['a JSON string', '"x"', 'bad_request'],
    ['a JSON number', '1', 'bad_request'],
    ['JSON null', 'null', 'bad_request'],
    ['no action', '{"foo":1}', 'unknown_action'],
    ['an unknown action', '{"action":"launch"}', 'unknown_action'],
    ['a bad pattern', '{"action":"subscribe","eventTypes":["*"]}', 'bad_request'],
    ['a wrong field type', '{"action":"subscribe","eventTypes":"goal.*"}', 'bad_request'],
    ['a garbage lastEventId', '{"action":"resume","lastEventId":42}', 'bad_request'],
  ])('answers %s with error %s and stays usable', async (_name, frame, code) => {
    const c = await connect();
    await c.request({ action: 'auth', token: await token() }, ['auth.success']);
    const reply = await c.request(frame, ['error']);
    expect(reply.data.code).toBe(code);
    expect(String(reply.data.message).length).toBeGreaterThan(0);
    expect((await c.request({ action: 'ping' }, ['pong'])).type).toBe('pong');
  });

  it('names the failing field of a known action', async () => {
    const c = await connect();
    await c.request({ action: 'auth', token: await token() }, ['auth.success']);
    const reply = await c.request({ action: 'subscribe', eventTypes: ['goal.created', 'goal.**'] }, ['error']);
    expect(reply.data.message).toMatch(/^eventTypes\.1: /);
  });

  it('closes a connection that sends a frame over 128 KB with 1009, like API Gateway', async () => {
    const c = await connect();
    c.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    expect(await c.waitClosed()).toBe(1009);
  });

  it('refuses a handshake from an Origin not on the allowlist with 403', async () => {
    await expect(Client.connect(rt.wsUrl, { origin: 'https://evil.example.net' })).rejects.toThrow(/403/);
    await expect(Client.connect(rt.wsUrl)).rejects.toThrow(/403/);
  });

  it('deletes the record on disconnect', async () => {
    const c = await connect();
    const auth = await c.request({ action: 'auth', token: await token() }, ['auth.success']);
    const id = String(auth.data.connectionId);
    expect(await record(id)).toBeDefined();
    c.close();
    await c.waitClosed();
    for (let i = 0; i < 50 && (await record(id)) !== undefined; i++) await sleep(50);
    expect(await record(id)).toBeUndefined();
  });
});

describe('auth deadline', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ AUTH_TIMEOUT_SECONDS: '1', SWEEP_INTERVAL_SECONDS: '1' });
  });
  afterAll(async () => rt?.stop());

  it('closes a pending connection after its deadline, with auth.error auth_timeout first', async () => {
    const pending = await Client.connect(rt.wsUrl);
    const authed = await authedClient(rt);
    const code = await pending.waitClosed(8_000);
    expect(code).toBeGreaterThanOrEqual(1000);
    expect(pending.frames.map((f) => f.type)).toContain('auth.error');
    expect(pending.frames.find((f) => f.type === 'auth.error')?.data.code).toBe('auth_timeout');
    // The authenticated one stays open and usable.
    expect((await authed.request({ action: 'ping' }, ['pong'])).type).toBe('pong');
    authed.close();
  });

  it('closes a connection whose token expired, with auth.expired first', async () => {
    const c = await authedClient(rt, { ttl: 1 });
    // exp + clock tolerance is not involved: the sweeper compares exp with now.
    await c.waitClosed(8_000);
    expect(c.frames.map((f) => f.type)).toContain('auth.expired');
  });
});

describe('an expired session, with the sweeper off', () => {
  // Nothing closes the connection in the background: every action must refuse it by itself.
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ SWEEP_INTERVAL_SECONDS: '0', STAGE: 'expiry' });
  });
  afterAll(async () => rt?.stop());

  const expiredClient = async (tenant: string) => {
    const c = await authedClient(rt, { tenant, ttl: 2 });
    await sleep(3_100);
    return c;
  };

  it('gets auth.expired for subscribe and unsubscribe, and its subscriptions do not change', async () => {
    const tenant = `expiry-${Date.now()}`;
    const c = await expiredClient(tenant);
    for (const message of [
      { action: 'subscribe', eventTypes: ['goal.*'] },
      { action: 'unsubscribe', eventTypes: ['goal.*'] },
    ]) {
      const reply = await c.request(message, ['auth.expired', 'subscribe.success', 'unsubscribe.success', 'pong']);
      expect(reply, JSON.stringify(message)).toMatchObject({ type: 'auth.expired', data: { code: 'token_expired' } });
    }
    c.close();
  });

  // ping is a MOCK route (API Gateway answers it, no function reads the record): an expired
  // session still gets pong. It receives no events (the broadcaster skips expired records) and
  // the sweeper, or its next other action, closes it. See SECURITY.md.
  it('still gets pong once expired: ping reads nothing', async () => {
    const c = await expiredClient(`expiry-${Date.now()}`);
    const reply = await c.request({ action: 'ping' }, ['auth.expired', 'pong']);
    expect(reply.type).toBe('pong');
    c.close();
  });

  it('gets auth.expired for resume, and the server closes the connection', async () => {
    const tenant = `expiry-${Date.now()}`;
    const c = await expiredClient(tenant);
    c.send({ action: 'resume', lastEventId: 'evt_anything' });
    await c.waitClosed(5_000);
    expect(c.frames.map((f) => f.type)).toContain('auth.expired');
    expect(c.frames.map((f) => f.type)).not.toContain('resume.success');
    expect(c.frames.map((f) => f.type)).not.toContain('resume.error');
  });

  it('cannot revive the session with a new token once it has expired', async () => {
    const tenant = `expiry-${Date.now()}`;
    const c = await expiredClient(tenant);
    const reply = await c.request({ action: 'auth', token: await token({ tenant }) }, [
      'auth.success',
      'auth.error',
      'auth.expired',
    ]);
    expect(reply.type).toBe('auth.expired');
    c.close();
  });
});

describe('start-up', () => {
  it('refuses to start with JWKS_URL and no JWT_ISSUER, naming jwtIssuer', async () => {
    // Keys of a shared JWKS (a provider's common endpoint) sign other issuers' tokens too.
    const started = startRuntime({
      JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
      JWT_ISSUER: '',
      JWT_SECRET: '',
    });
    await expect(started).rejects.toThrow(/jwtIssuer/);
    await started.then((rt) => rt.stop()).catch(() => undefined);
  });
});
