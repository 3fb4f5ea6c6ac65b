/**
 * Log hygiene: with handler logging at DEBUG, a representative session (valid auth, refresh,
 * every kind of refused token, an internal error, tokens where they do not belong, subscribe,
 * resume, delivered and rejected events, the sweeper closing connections) must leave no token,
 * no token segment, no secret and no event payload in anything the runtime printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEV_JWT_SECRET } from '../../bin/local/defaults.js';
import { MAX_TOKEN_LENGTH } from '../../lambdas/contract/index.js';
import { authedClient, Client, entry, putEvents, type Runtime, settled, startRuntime, token } from './harness.js';
import { b64url, barrier, hs256, next, nowSeconds, rawJwt, segments } from './support/adversary.js';

const SECRET = `log-hygiene-secret-${randomBytes(24).toString('hex')}`;
const OTHER_SECRET = `another-secret-${randomBytes(24).toString('hex')}`;
const TENANT = 'logs-t';
/** Values that must never reach a log line although they travel in event details. */
const PAYLOAD_CANARY = `PAYLOAD-CANARY-${randomUUID()}`;

describe('log hygiene', () => {
  let rt: Runtime;
  const open: Client[] = [];
  const track = (c: Client) => {
    open.push(c);
    return c;
  };
  /** Every token string that went over the wire (checked whole and by segment). */
  const used: string[] = [];
  const use = (t: string) => {
    used.push(t);
    return t;
  };
  /** Refusals that reached the token verifier (schema refusals — not a string, over 16 KB — are answered before it, unlogged). */
  let refused = 0;

  const claims = (extra: Record<string, unknown> = {}) => ({
    tenantId: TENANT,
    sub: 'alice',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...extra,
  });
  const key = new TextEncoder().encode(SECRET);

  beforeAll(async () => {
    rt = await startRuntime({
      STAGE: 'logs',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      JWT_SECRET: SECRET,
      AUTH_TIMEOUT_SECONDS: '2',
      SWEEP_INTERVAL_SECONDS: '1',
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await rt?.stop();
  });

  it('runs a valid session: auth, refresh, subscribe, events, resume', async () => {
    const c = track(await Client.connect(rt.wsUrl));
    expect(
      (
        await next(c, {
          action: 'auth',
          token: use(await token({ secret: SECRET, tenant: TENANT, user: 'alice', roles: ['admin'] })),
        })
      ).type,
    ).toBe('auth.success');
    expect(
      (
        await next(c, {
          action: 'auth',
          token: use(await token({ secret: SECRET, tenant: TENANT, user: 'alice', ttl: 7200 })),
        })
      ).type,
    ).toBe('auth.success');
    expect(
      (await next(c, { action: 'auth', token: use(await token({ secret: SECRET, tenant: 'other', user: 'alice' })) }))
        .data.code,
    ).toBe('tenant_mismatch');
    refused++;
    expect((await next(c, { action: 'subscribe', eventTypes: ['goal.*', 'billing.*'] })).type).toBe(
      'subscribe.success',
    );

    const out = await putEvents(rt, [
      entry('goal.created', { tenantId: TENANT, goalId: 'g1', secretNote: PAYLOAD_CANARY }),
      entry('billing.invoice.paid', {
        tenantId: TENANT,
        amount: 42,
        memo: PAYLOAD_CANARY,
        audience: { userIds: ['alice'] },
      }),
      // Rejected ones, each carrying the canary in a field the rejection could be tempted to quote.
      entry('goal.created', { tenantId: TENANT, note: PAYLOAD_CANARY }),
      entry('goal.created', { tenantId: TENANT, goalId: 'g2', blob: `${PAYLOAD_CANARY}${'x'.repeat(200 * 1024)}` }),
      entry('goal.created', { tenantId: TENANT, goalId: 'g3', audience: { userIds: PAYLOAD_CANARY } }),
      entry('goal.created', { tenantId: TENANT, goalId: 7, note: PAYLOAD_CANARY }),
    ]);
    expect(out.FailedEntryCount).toBe(0);
    await settled(rt);
    await barrier(c);
    expect(c.events().map((e) => e.type)).toEqual(['goal.created', 'billing.invoice.paid']);

    const first = c.events()[0]!.eventId!;
    c.close();
    await c.waitClosed();
    const again = track(await Client.connect(rt.wsUrl));
    expect(
      (
        await next(again, {
          action: 'auth',
          token: use(await token({ secret: SECRET, tenant: TENANT, user: 'alice' })),
        })
      ).type,
    ).toBe('auth.success');
    const done = await again.request({ action: 'resume', lastEventId: first }, ['resume.success', 'resume.error']);
    expect(done).toMatchObject({ type: 'resume.success', data: { replayed: 1 } });
    expect((await next(again, { action: 'resume', lastEventId: 'evt_unknown' })).type).toBe('resume.error');
  });

  it('refuses every kind of bad token', async () => {
    const valid = await token({ secret: SECRET, tenant: TENANT, user: 'alice' });
    const { header, payload, signature } = segments(valid);
    const bad: Array<[unknown, string]> = [
      [await token({ secret: SECRET, ttl: -120 }), 'token_expired'],
      [await token({ secret: OTHER_SECRET }), 'invalid_token'],
      // Signed with the documented dev default: this runtime uses JWT_SECRET, so it must fail.
      [await token(), 'invalid_token'],
      [rawJwt({ alg: 'none', typ: 'JWT' }, claims()), 'invalid_token'],
      [`${header}.${payload}.`, 'invalid_token'],
      [`${header}.${b64url(JSON.stringify(claims({ tenantId: 'victim' })))}.${signature}`, 'invalid_token'],
      [await token({ secret: SECRET, claims: { nbf: nowSeconds() + 60 } }), 'invalid_token'],
      [await token({ secret: SECRET, user: null }), 'invalid_claims'],
      [await token({ secret: SECRET, claims: { tenantId: undefined } }), 'invalid_claims'],
      [await token({ secret: SECRET, tenant: `${TENANT}#x` }), 'invalid_claims'],
      [await token({ secret: SECRET, tenant: `${TENANT}\u0001` }), 'invalid_claims'],
      [await token({ secret: SECRET, tenant: 'a'.repeat(257) }), 'invalid_claims'],
      [await token({ secret: SECRET, tenant: 42 }), 'invalid_claims'],
      [hs256({ typ: 'JWT', crit: ['x-unknown'], 'x-unknown': true }, claims(), key), 'invalid_token'],
      [hs256({ typ: 'JWT' }, claims({ exp: undefined }), key), 'invalid_claims'],
      [await token({ secret: SECRET, claims: { pad: 'p'.repeat(76_000) } }), 'invalid_token'],
      ['x'.repeat(100 * 1024), 'invalid_token'],
      [12345, 'invalid_token'],
    ];
    for (const [t, code] of bad) {
      if (typeof t === 'string') use(t);
      const c = track(await Client.connect(rt.wsUrl));
      expect(await next(c, { action: 'auth', token: t })).toMatchObject({ type: 'auth.error', data: { code } });
      if (typeof t === 'string' && t.length <= MAX_TOKEN_LENGTH) refused++;
      c.close();
    }
  });

  it('hits the internal-error path with a valid token (absurd exp) without logging it', async () => {
    const c = track(await Client.connect(rt.wsUrl));
    const reply = await next(c, {
      action: 'auth',
      token: use(hs256({ typ: 'JWT' }, claims({ exp: 1e13, tenantId: 'absurd' }), key)),
    });
    // Whatever the reply (see adversarial.test.ts for the expected one), nothing may be logged.
    expect(['auth.success', 'auth.error', 'error']).toContain(reply.type);
    c.close();
  });

  it('sends tokens where they do not belong: query string, headers, other actions', async () => {
    const t = use(await token({ secret: SECRET, tenant: TENANT, user: 'bob' }));
    const viaQuery = track(
      await Client.connect(`${rt.wsUrl}?token=${encodeURIComponent(t)}&access_token=${encodeURIComponent(t)}`, {
        headers: { Authorization: `Bearer ${t}`, Cookie: `session=${t}` },
      }),
    );
    expect((await next(viaQuery, { action: 'ping' })).type).toBe('pong');
    const c = track(await authedClient(rt, { secret: SECRET, tenant: TENANT, user: 'bob' }));
    const replies = [
      await next(c, { action: t }),
      await next(c, { action: 'subscribe', eventTypes: [t] }),
      await next(c, { action: 'resume', lastEventId: t.slice(0, 500) }),
      await next(c, { action: 'resume', lastEventId: t }),
      await next(c, t),
      await next(c, `{"action":"auth","token":"${t}"`),
    ];
    expect(replies.map((r) => r.type)).toEqual([
      'error',
      'error',
      'resume.error',
      t.length > 512 ? 'error' : 'resume.error',
      'error',
      'error',
    ]);
  });

  it('lets the sweeper close a pending connection and an expired session', async () => {
    const pending = track(await Client.connect(rt.wsUrl));
    const expiring = track(await Client.connect(rt.wsUrl));
    expect(
      (
        await next(expiring, {
          action: 'auth',
          token: use(await token({ secret: SECRET, tenant: TENANT, user: 'carol', ttl: 2 })),
        })
      ).type,
    ).toBe('auth.success');
    await Promise.all([pending.waitClosed(10_000), expiring.waitClosed(10_000)]);
    expect(pending.frames.map((f) => f.data?.code)).toContain('auth_timeout');
    expect(expiring.frames.map((f) => f.type)).toContain('auth.expired');
  });

  it('printed no token, token segment, secret or event payload, and did log', async () => {
    await settled(rt);
    await rt.stop(); // everything flushed
    const output = rt.output();

    // Logging really happened, at the level asked, for the corpus above.
    expect(output).toContain('READY ');
    expect(output).toContain('"message":"authenticated"');
    expect(output).toContain('"message":"event fanned out"');
    expect(output).toContain('"message":"event rejected"');
    expect(output).toContain('"message":"sweep"');
    expect(output.split('"message":"auth refused"').length - 1).toBeGreaterThanOrEqual(refused);

    const secrets: Array<[string, string]> = [
      ['JWT_SECRET', SECRET],
      ['the dev default secret', LOCAL_DEV_JWT_SECRET],
      ['the other signing secret', OTHER_SECRET],
      ['an event payload value', PAYLOAD_CANARY],
    ];
    for (const t of used) {
      const { payload, signature } = segments(t);
      secrets.push(['a token', t]);
      // Segments long enough to be unique (the empty signature of `alg: none` would match anything).
      if (payload.length >= 16) secrets.push(['a token payload segment', payload]);
      if (signature.length >= 16) secrets.push(['a token signature segment', signature]);
    }
    expect(used.length).toBeGreaterThan(20);
    const leaked = secrets
      .filter(([, value]) => value.length >= 16 && output.includes(value))
      .map(([what, value]) => `${what}: ${value.slice(0, 40)}…`);
    expect(leaked).toEqual([]);
  });
});
