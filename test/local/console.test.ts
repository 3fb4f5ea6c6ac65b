/**
 * The debug console's local-only tools on the local runtime's HTTP API port (bin/local/console.ts):
 * a dev token that the runtime accepts, an event put through the local EventBridge and delivered,
 * and the guards that keep other origins out. A real runtime in a child process, real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, settled, startRuntime } from '../../bin/tools/harness.js';
import { Client } from '../../bin/tools/ws-client.js';

let rt: Runtime;

beforeAll(async () => {
  rt = await startRuntime({ STAGE: 'consoletools' });
}, 60_000);
afterAll(async () => {
  await rt?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${rt.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('local tools of the debug console', () => {
  it('GET /_local/info names the runtime`s WebSocket and HTTP API', async () => {
    const res = await fetch(`${rt.httpUrl}/_local/info`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ local: true, wsUrl: rt.wsUrl, httpUrl: rt.httpUrl });
    // The contract's routes are still the HTTP API's.
    expect((await fetch(`${rt.httpUrl}/health`)).status).toBe(200);
    expect((await fetch(`${rt.httpUrl}/_local/other`)).status).toBe(404);
  });

  it('POST /_local/token signs a dev token the runtime accepts; POST /_local/emit puts an event that reaches it', async () => {
    const res = await post('/_local/token', { tenant: 'ct', user: 'dev', roles: 'admin,ops', ttl: 120 });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ tenantId: 'ct', sub: 'dev', roles: ['admin', 'ops'] });
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);

    const client = await Client.connect(rt.wsUrl);
    const auth = await client.request({ action: 'auth', token }, ['auth.success', 'auth.error']);
    expect(auth).toMatchObject({ type: 'auth.success', data: { tenantId: 'ct', userId: 'dev' } });

    const emitted = await post('/_local/emit', {
      type: 'goal.created',
      tenant: 'ct',
      data: '{"goalId":"g1"}',
      users: 'dev',
    });
    expect(emitted.status).toBe(200);
    const result = (await emitted.json()) as { FailedEntryCount: number; Entries: Array<{ EventId: string }> };
    expect(result.FailedEntryCount).toBe(0);
    const eventId = `evt_${result.Entries[0]!.EventId}`;
    await settled(rt);
    const frame = await client.waitFor((f) => (f as { eventId?: string }).eventId === eventId);
    expect(frame).toMatchObject({ type: 'goal.created', data: { goalId: 'g1', tenantId: 'ct' } });

    // `source` is the EventBridge source, `priority` goes into the detail (and onto the envelope).
    const sourced = await post('/_local/emit', {
      type: 'goal.created',
      tenant: 'ct',
      data: '{"goalId":"g2"}',
      source: 'app.billing',
      priority: 'critical',
    });
    expect(sourced.status).toBe(200);
    const put = (await sourced.json()) as {
      Entries: Array<{ EventId: string }>;
      entry: { Source: string; Detail: string };
    };
    expect(put.entry.Source).toBe('app.billing');
    expect(JSON.parse(put.entry.Detail)).toEqual({ goalId: 'g2', tenantId: 'ct', priority: 'critical' });
    const sourcedId = `evt_${put.Entries[0]!.EventId}`;
    await settled(rt);
    const second = await client.waitFor((f) => (f as { eventId?: string }).eventId === sourcedId);
    expect(second).toMatchObject({ source: 'app.billing', priority: 'critical', data: { goalId: 'g2' } });
    expect((second as { data: object }).data).not.toHaveProperty('priority');
    client.close();
  });

  it('answers bad input with 400 and the CLI`s message', async () => {
    const noUser = await post('/_local/token', { tenant: 'ct' });
    expect(noUser.status).toBe(400);
    expect(await noUser.json()).toEqual({ message: '--user is required' });
    const badData = await post('/_local/emit', { type: 'goal.created', tenant: 'ct', data: '[1]' });
    expect(badData.status).toBe(400);
    expect(((await badData.json()) as { message: string }).message).toContain('--data must be a JSON object');
    const badType = await post('/_local/emit', { type: 'nodot', tenant: 'ct' });
    expect(badType.status).toBe(400);
    const badPriority = await post('/_local/emit', { type: 'goal.created', tenant: 'ct', priority: 'urgent' });
    expect(badPriority.status).toBe(400);
    expect(((await badPriority.json()) as { message: string }).message).toMatch(/^--priority /);
  });

  it('serves the console`s own origin only: no CORS preflight, JSON only, same host', async () => {
    const preflight = await fetch(`${rt.httpUrl}/_local/token`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const form = await fetch(`${rt.httpUrl}/_local/token`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"tenant":"ct","user":"dev"}',
    });
    expect(form.status).toBe(415);
    const foreign = await post('/_local/token', { tenant: 'ct', user: 'dev' }, { origin: 'http://evil.test' });
    expect(foreign.status).toBe(403);
    const same = await post('/_local/token', { tenant: 'ct', user: 'dev' }, { origin: rt.httpUrl });
    expect(same.status).toBe(200);
  });
});
