/**
 * Adversarial input against the real local runtime, with real clients: hostile tokens (forged,
 * confused, oversized, mistyped), hostile frames, and hostile events from the bus. Nothing may
 * authenticate that should not, nothing may be delivered to a connection that did not
 * authenticate, and nothing may crash the runtime or close a connection that should stay open.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEV_JWT_SECRET } from '../../bin/local/defaults.js';
import { MAX_MESSAGE_BYTES, MAX_SUBSCRIPTIONS, MAX_TENANT_ID_LENGTH } from '../../lambdas/contract/index.js';
import {
  authedClient,
  Client,
  entry,
  type Frame,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  token,
} from './harness.js';
import {
  b64url,
  barrier,
  deadLetters,
  hs256,
  invocations,
  next,
  nowSeconds,
  rawJwt,
  segments,
} from './support/adversary.js';

/** The real tenant of the HS256 runtime; corpus tokens name it, its prefixes and look-alikes. */
const REAL = 't1';
/** The real tenant of the JWKS runtime. */
const JW_TENANT = 'jw1';
const ISSUER = 'https://issuer.e2e.test/';
const AUDIENCE = 'tenant-realtime-e2e';
const KID = 'k1';
/** The JWKS runtime reads the tenant from this claim (TENANT_CLAIM); its tokens also carry a decoy `tenantId`. */
const JW_CLAIM = 'org_id';
const OTHER_SECRET = 'another-secret-that-is-long-enough-to-use!!';

type Runtimes = 'main' | 'jwks';

/** Test titles name the expected code second: `[name, make, code, …]` → `[name, code, make, …]`. */
const byCode = <M>(cases: Array<[string, M, string, boolean?]>) =>
  cases.map(([name, make, code, retry]) => [name, code, make, retry] as const);
/** A properly signed dev token of about 100 KB (base64url makes the padding 4/3 larger). */
const paddedJwt = () => token({ claims: { pad: 'p'.repeat(Math.floor((100 * 1024 * 3) / 4) + 100) } });

describe('adversarial input', () => {
  let rt: Runtime;
  let rtJwks: Runtime;
  let jwksServer: Server;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwk: JWK;
  let spkiPem: string;
  let jwksFetches = 0;

  const open: Client[] = [];
  const track = (c: Client) => {
    open.push(c);
    return c;
  };
  /** Connections that were refused (or must not be authenticated): they must never see an event. */
  const corpus: Array<{ name: string; c: Client; on: Runtimes }> = [];
  const runtimeOf = (on: Runtimes) => (on === 'main' ? rt : rtJwks);

  /** Standard claims of the HS256 runtime, overridable. */
  const claims = (extra: Record<string, unknown> = {}) => ({
    tenantId: REAL,
    sub: 'u1',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...extra,
  });
  const devKey = new TextEncoder().encode(LOCAL_DEV_JWT_SECRET);
  /** A properly signed RS256 token for the JWKS runtime; `claims` override the defaults. */
  const rs256 = async (extra: Record<string, unknown> = {}, key: CryptoKey = rsa.privateKey, kid = KID) =>
    new SignJWT({
      [JW_CLAIM]: JW_TENANT,
      tenantId: REAL,
      sub: 'u1',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      ...extra,
    })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(key);

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    jwk = { ...(await exportJWK(rsa.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
    spkiPem = await exportSPKI(rsa.publicKey);
    jwksServer = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        jwksFetches++;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    [rt, rtJwks] = await Promise.all([
      // Pending corpus connections must outlive the whole file: a long auth deadline.
      startRuntime({ STAGE: 'adv', AUTH_TIMEOUT_SECONDS: '600' }),
      startRuntime({
        STAGE: 'advjwks',
        AUTH_TIMEOUT_SECONDS: '600',
        JWKS_URL: jwksUrl,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        TENANT_CLAIM: JW_CLAIM,
      }),
    ]);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await Promise.all([rt?.stop(), rtJwks?.stop()]);
    jwksServer?.closeAllConnections();
    await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  });

  /** Sends `{action:'auth', ...}` and checks the refusal; the connection must stay open and pending. */
  async function expectRefused(
    on: Runtimes,
    name: string,
    frame: Record<string, unknown>,
    code: string,
  ): Promise<Client> {
    const c = track(await Client.connect(runtimeOf(on).wsUrl));
    // In the corpus before any assertion: a token wrongly accepted must also fail the delivery check.
    corpus.push({ name, c, on });
    const reply = await next(c, { action: 'auth', ...frame });
    expect(reply, `${name}: ${JSON.stringify(reply).slice(0, 300)}`).toMatchObject({
      type: 'auth.error',
      data: { code },
    });
    expect(String(reply.data.message).length).toBeGreaterThan(0);
    expect(c.closeCode).toBeUndefined();
    // Still pending: an authenticated-only action is refused, the socket is usable.
    expect((await next(c, { action: 'subscribe', eventTypes: ['goal.*'] })).data.code).toBe('not_authenticated');
    expect((await next(c, { action: 'ping' })).type).toBe('pong');
    return c;
  }

  /** On a second connection: the bad token is refused, then a valid one still authenticates. */
  async function expectRetryWorks(
    on: Runtimes,
    frame: Record<string, unknown>,
    code: string,
    valid: () => Promise<string>,
  ): Promise<void> {
    const c = track(await Client.connect(runtimeOf(on).wsUrl));
    expect((await next(c, { action: 'auth', ...frame })).data.code).toBe(code);
    const ok = await next(c, { action: 'auth', token: await valid() });
    expect(ok.type).toBe('auth.success');
    c.close();
    await c.waitClosed();
  }

  // ---------------------------------------------------------------- tokens (HS256 runtime)

  describe('tokens on the HS256 runtime', () => {
    const signedBy = (payload: unknown, header: Record<string, unknown> = {}) =>
      hs256({ typ: 'JWT', ...header }, payload, devKey);
    const retryToken = () => token({ tenant: 'retry-ok', user: 'r1' });

    const cases: Array<[name: string, make: () => Promise<unknown> | unknown, code: string, retry?: boolean]> = [
      ['alg none (unsecured JWT)', () => rawJwt({ alg: 'none', typ: 'JWT' }, claims()), 'invalid_token', true],
      ['alg NONE (case variant)', () => rawJwt({ alg: 'NONE', typ: 'JWT' }, claims()), 'invalid_token'],
      [
        'alg none carrying a valid HS256 signature',
        async () => rawJwt({ alg: 'none' }, claims(), segments(signedBy(claims())).signature),
        'invalid_token',
      ],
      [
        'HS512 (not on the allowlist), right key',
        () => {
          const input = `${b64url(JSON.stringify({ alg: 'HS512', typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}`;
          return `${input}.${createHmac('sha512', devKey).update(input).digest('base64url')}`;
        },
        'invalid_token',
      ],
      ['wrong signature (other secret)', () => token({ secret: OTHER_SECRET }), 'invalid_token', true],
      [
        'missing signature (header.payload.)',
        async () => {
          const { header, payload } = segments(await token());
          return `${header}.${payload}.`;
        },
        'invalid_token',
      ],
      [
        'no signature segment (header.payload)',
        async () => {
          const { header, payload } = segments(await token());
          return `${header}.${payload}`;
        },
        'invalid_token',
      ],
      [
        'tampered payload (other tenant, original signature)',
        async () => {
          const { header, signature } = segments(await token({ tenant: REAL, user: 'u1' }));
          return `${header}.${b64url(JSON.stringify(claims({ tenantId: 't2' })))}.${signature}`;
        },
        'invalid_token',
      ],
      [
        'signature bit-flipped',
        async () => {
          const t = await token();
          const { header, payload, signature } = segments(t);
          const sig = Buffer.from(signature, 'base64url');
          sig[0] = sig[0]! ^ 1;
          return `${header}.${payload}.${b64url(sig)}`;
        },
        'invalid_token',
      ],
      ['expired', () => token({ ttl: -120 }), 'token_expired', true],
      ['nbf 60 s in the future', () => token({ claims: { nbf: nowSeconds() + 60 } }), 'invalid_token'],
      ['no exp', () => signedBy({ tenantId: REAL, sub: 'u1', iat: nowSeconds() }), 'invalid_claims'],
      ['missing sub', () => token({ user: null }), 'invalid_claims'],
      ['empty sub', () => signedBy(claims({ sub: '' })), 'invalid_claims'],
      ['sub with #', () => signedBy(claims({ sub: 'u1#admin' })), 'invalid_claims'],
      ['missing tenant claim', () => token({ claims: { tenantId: undefined } }), 'invalid_claims'],
      ['tenant claim is a number', () => token({ tenant: 42 }), 'invalid_claims'],
      ['tenant claim is an object', () => token({ tenant: { id: REAL } }), 'invalid_claims'],
      ['tenant claim is an array', () => token({ tenant: [REAL] }), 'invalid_claims'],
      ['tenant claim is null', () => signedBy(claims({ tenantId: null })), 'invalid_claims'],
      ['tenant claim is empty', () => token({ tenant: '' }), 'invalid_claims'],
      [
        `tenant claim of ${MAX_TENANT_ID_LENGTH + 1} chars`,
        () => token({ tenant: 'a'.repeat(MAX_TENANT_ID_LENGTH + 1) }),
        'invalid_claims',
      ],
      ['tenant claim with # (t1#x)', () => token({ tenant: `${REAL}#x` }), 'invalid_claims', true],
      ['tenant claim with \\u0001', () => token({ tenant: `${REAL}\u0001` }), 'invalid_claims'],
      ['tenant claim with \\n', () => token({ tenant: `${REAL}\n` }), 'invalid_claims'],
      ['tenant claim with \\u0000', () => token({ tenant: `${REAL}\u0000` }), 'invalid_claims'],
      // A lone surrogate is stored as U+FFFD by DynamoDB: "t\ud800" would share "t\ufffd"'s partition.
      ['tenant claim with a lone surrogate (\\ud800)', () => token({ tenant: `${REAL}\ud800` }), 'invalid_claims'],
      ['sub with a lone surrogate (\\udfff)', () => signedBy(claims({ sub: 'u1\udfff' })), 'invalid_claims'],
      ['a role with a lone surrogate', () => token({ roles: ['admin\ud83d'] }), 'invalid_claims'],
      ['roles not an array', () => token({ roles: 'admin' }), 'invalid_claims'],
      ['payload is a JSON array (signed)', () => signedBy([claims()]), 'invalid_token'],
      ['payload is not JSON (signed)', () => signedBy('not json'), 'invalid_token'],
      [
        'unknown crit header (signed)',
        () => signedBy(claims(), { crit: ['x-unknown'], 'x-unknown': true }),
        'invalid_token',
      ],
      ['five segments (JWE shape)', async () => `${await token()}.AAAA.BBBB`, 'invalid_token'],
      ['a 100 KB string', () => 'x'.repeat(100 * 1024), 'invalid_token', true],
      ['a validly signed JWT padded to ~100 KB', () => paddedJwt(), 'invalid_token'],
      ['an empty string', () => '', 'invalid_token'],
    ];

    it.each(byCode(cases))(
      'refuses %s with auth.error %s, leaving the connection pending',
      async (name, code, make, retry) => {
        const value = await make();
        await expectRefused('main', name, { token: value }, code);
        if (retry) await expectRetryWorks('main', { token: value }, code, retryToken);
      },
    );

    it('keeps the connection open after a ~100 KB signed token (the frame is under 128 KB)', async () => {
      const t = await paddedJwt();
      const frame = JSON.stringify({ action: 'auth', token: t });
      expect(Buffer.byteLength(frame)).toBeLessThan(MAX_MESSAGE_BYTES);
      expect(t.length).toBeGreaterThan(100 * 1024);
      const c = await expectRefused('main', 'padded JWT, checked for size', { token: t }, 'invalid_token');
      expect(c.closeCode).toBeUndefined();
    });

    it.each<[string, Record<string, unknown>]>([
      ['a number', { token: 12345 }],
      ['an object', { token: { jwt: 'x' } }],
      ['null', { token: null }],
      ['an array', { token: ['a.b.c'] }],
      ['a boolean', { token: true }],
      ['missing', {}],
    ])('answers a token that is %s with auth.error invalid_token', async (name, frame) => {
      const c = await expectRefused('main', `non-string token: ${name}`, frame, 'invalid_token');
      expect(c.frames.find((f) => f.type === 'auth.error')!.data.message).toMatch(/token/);
      if (name === 'a number') await expectRetryWorks('main', frame, 'invalid_token', retryToken);
    });

    it('accepts the boundary: a tenant claim of exactly 256 characters', async () => {
      const c = track(await Client.connect(rt.wsUrl));
      const reply = await next(c, { action: 'auth', token: await token({ tenant: 'b'.repeat(MAX_TENANT_ID_LENGTH) }) });
      expect(reply.type).toBe('auth.success');
    });

    it('answers a validly signed token with an absurd exp with auth.success or auth.error, and acts on what it answered', async () => {
      // exp = 1e13 s (year ~318,857) is a finite number in the future: jose accepts it. The reply
      // must be a clean auth.success or auth.error, and the connection must be authenticated
      // exactly when the reply says so (a client told to retry must not silently get events).
      const tenant = `absurd-${randomUUID().slice(0, 8)}`;
      const c = track(await Client.connect(rt.wsUrl));
      const reply = await next(c, { action: 'auth', token: signedBy(claims({ tenantId: tenant, exp: 1e13 })) });
      expect.soft(reply.type, JSON.stringify(reply)).toMatch(/^auth\.(success|error)$/);
      const out = await putEvents(rt, [entry('goal.created', { tenantId: tenant, goalId: 'absurd' })]);
      expect(out.FailedEntryCount).toBe(0);
      await settled(rt);
      await barrier(c);
      expect(c.events().length, `reply was ${reply.type}; events received: ${c.events().length}`).toBe(
        reply.type === 'auth.success' ? 1 : 0,
      );
    });
  });

  // ---------------------------------------------------------------- tokens (JWKS runtime)

  describe('tokens on the JWKS runtime (RS256, iss and aud required)', () => {
    it('authenticates a properly signed RS256 token (the setup is real), reading the configured tenant claim', async () => {
      const c = track(await Client.connect(rtJwks.wsUrl));
      const reply = await next(c, { action: 'auth', token: await rs256({ sub: 'control' }) });
      // The token also carries tenantId: "t1"; TENANT_CLAIM=org_id, so that one is ignored.
      expect(reply).toMatchObject({ type: 'auth.success', data: { tenantId: JW_TENANT, userId: 'control' } });
      expect(jwksFetches).toBeGreaterThan(0);
    });

    const hsHeader = { typ: 'JWT', kid: KID };
    const jwClaims = (extra: Record<string, unknown> = {}) => ({
      [JW_CLAIM]: JW_TENANT,
      sub: 'u1',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      ...extra,
    });
    const retryRs = () => rs256({ sub: 'retry' });

    const cases: Array<[name: string, make: () => Promise<string> | string, code: string, retry?: boolean]> = [
      [
        'HS256 keyed with the public key PEM (alg confusion)',
        () => hs256(hsHeader, jwClaims(), spkiPem),
        'invalid_token',
        true,
      ],
      [
        'HS256 keyed with the PEM plus a trailing newline',
        () => hs256(hsHeader, jwClaims(), `${spkiPem.trimEnd()}\n`),
        'invalid_token',
      ],
      [
        'HS256 keyed with the PEM without a trailing newline',
        () => hs256(hsHeader, jwClaims(), spkiPem.trimEnd()),
        'invalid_token',
      ],
      [
        'HS256 keyed with the JWK n bytes',
        () => hs256(hsHeader, jwClaims(), Buffer.from(jwk.n!, 'base64url')),
        'invalid_token',
      ],
      ['HS256 keyed with the JWK n string', () => hs256(hsHeader, jwClaims(), jwk.n!), 'invalid_token'],
      ['HS256 keyed with the JWK JSON', () => hs256(hsHeader, jwClaims(), JSON.stringify(jwk)), 'invalid_token'],
      ['HS256 keyed with the local dev secret', () => hs256(hsHeader, jwClaims(), devKey), 'invalid_token'],
      ['alg none', () => rawJwt({ alg: 'none', kid: KID }, jwClaims()), 'invalid_token'],
      [
        'RS256 signed by another key under the same kid',
        async () => rs256({}, (await generateKeyPair('RS256')).privateKey),
        'invalid_token',
      ],
      [
        'ES256 with an unknown kid',
        async () => {
          const es = await generateKeyPair('ES256');
          return new SignJWT(jwClaims()).setProtectedHeader({ alg: 'ES256', kid: 'unknown' }).sign(es.privateKey);
        },
        'invalid_token',
      ],
      ['RS256 with a wrong iss', () => rs256({ iss: 'https://evil.example/' }), 'invalid_token', true],
      [
        'RS256 with an iss that only differs by a trailing slash',
        () => rs256({ iss: ISSUER.replace(/\/$/, '') }),
        'invalid_token',
      ],
      ['RS256 without iss', () => rs256({ iss: undefined }), 'invalid_token'],
      ['RS256 with a wrong aud', () => rs256({ aud: 'another-api' }), 'invalid_token', true],
      ['RS256 with aud as a list without ours', () => rs256({ aud: ['a', 'b'] }), 'invalid_token'],
      ['RS256 without aud', () => rs256({ aud: undefined }), 'invalid_token'],
      ['RS256 expired', () => rs256({ exp: nowSeconds() - 120 }), 'token_expired'],
      ['RS256 with a tenant claim containing #', () => rs256({ [JW_CLAIM]: `${JW_TENANT}#x` }), 'invalid_claims'],
      [
        'RS256 with only the default tenantId claim (TENANT_CLAIM is org_id)',
        () => rs256({ [JW_CLAIM]: undefined, tenantId: JW_TENANT }),
        'invalid_claims',
      ],
      ['RS256 with the tenant claim as a number', () => rs256({ [JW_CLAIM]: 7 }), 'invalid_claims'],
    ];

    it.each(byCode(cases))('refuses %s with auth.error %s', async (name, code, make, retry) => {
      const value = await make();
      await expectRefused('jwks', name, { token: value }, code);
      if (retry) await expectRetryWorks('jwks', { token: value }, code, retryRs);
    });

    it('accepts correct iss and aud (aud in a list too)', async () => {
      for (const aud of [AUDIENCE, ['other', AUDIENCE]]) {
        const c = track(await Client.connect(rtJwks.wsUrl));
        expect((await next(c, { action: 'auth', token: await rs256({ aud, sub: 'aud-ok' }) })).type).toBe(
          'auth.success',
        );
        c.close();
      }
    });
  });

  // ---------------------------------------------------------------- frames

  describe('frames', () => {
    type FrameCase = {
      name: string;
      frame: string;
      type: string;
      code: string;
      pendingCode?: string;
      message?: RegExp;
    };
    const subscribeMany = JSON.stringify({
      action: 'subscribe',
      eventTypes: Array.from({ length: 1000 }, (_, i) => `goal.type${i}`),
    });
    const badFrames: FrameCase[] = [
      { name: 'invalid JSON', frame: '{nope', type: 'error', code: 'bad_request' },
      { name: 'truncated JSON', frame: '{"action":"ping"', type: 'error', code: 'bad_request' },
      { name: 'an empty frame', frame: '', type: 'error', code: 'bad_request' },
      { name: 'a JSON array', frame: '[]', type: 'error', code: 'bad_request' },
      { name: 'a JSON string', frame: '"x"', type: 'error', code: 'bad_request' },
      { name: 'a JSON number', frame: '1', type: 'error', code: 'bad_request' },
      { name: 'JSON null', frame: 'null', type: 'error', code: 'bad_request' },
      { name: 'JSON true', frame: 'true', type: 'error', code: 'bad_request' },
      { name: 'an unknown action', frame: '{"action":"launch"}', type: 'error', code: 'unknown_action' },
      { name: 'no action', frame: '{"foo":1}', type: 'error', code: 'unknown_action' },
      { name: 'a numeric action', frame: '{"action":42}', type: 'error', code: 'unknown_action' },
      { name: 'action $connect', frame: '{"action":"$connect"}', type: 'error', code: 'unknown_action' },
      { name: 'action $disconnect', frame: '{"action":"$disconnect"}', type: 'error', code: 'unknown_action' },
      { name: 'action __proto__', frame: '{"action":"__proto__"}', type: 'error', code: 'unknown_action' },
      { name: 'action constructor', frame: '{"action":"constructor"}', type: 'error', code: 'unknown_action' },
      {
        name: 'subscribe eventTypes as a string',
        frame: '{"action":"subscribe","eventTypes":"goal.*"}',
        type: 'error',
        code: 'bad_request',
      },
      {
        name: 'subscribe eventTypes as numbers',
        frame: '{"action":"subscribe","eventTypes":[1,2]}',
        type: 'error',
        code: 'bad_request',
      },
      // (`{"action":"subscribe"}` without eventTypes is valid since issue 14: it answers the filter.)
      ...(
        [
          ['subscribe sources as a string', { action: 'subscribe', sources: 'billing' }, /^sources: /],
          ['subscribe an empty source', { action: 'subscribe', sources: [''] }, /^sources\.0: /],
          ['subscribe a numeric source', { action: 'unsubscribe', sources: [7] }, /^sources\.0: /],
          ['subscribe a source of 257 chars', { action: 'subscribe', sources: ['s'.repeat(257)] }, /^sources\.0: /],
          [
            'subscribe 21 sources',
            { action: 'subscribe', sources: Array.from({ length: 21 }, (_, i) => `s${i}`) },
            /^sources: /,
          ],
          ['subscribe minPriority "urgent"', { action: 'subscribe', minPriority: 'urgent' }, /^minPriority: /],
          ['subscribe minPriority "HIGH"', { action: 'subscribe', minPriority: 'HIGH' }, /^minPriority: /],
          ['unsubscribe minPriority 3', { action: 'unsubscribe', minPriority: 3 }, /^minPriority: /],
          ['subscribe minPriority null', { action: 'subscribe', minPriority: null }, /^minPriority: /],
        ] as const
      ).map(
        ([name, frame, message]): FrameCase => ({
          name,
          frame: JSON.stringify(frame),
          type: 'error',
          code: 'bad_request',
          message,
        }),
      ),
      {
        name: 'unsubscribe eventTypes as an object',
        frame: '{"action":"unsubscribe","eventTypes":{"0":"goal.*"}}',
        type: 'error',
        code: 'bad_request',
      },
      {
        name: 'resume lastEventId as a number',
        frame: '{"action":"resume","lastEventId":42}',
        type: 'error',
        code: 'bad_request',
      },
      {
        name: 'resume lastEventId empty',
        frame: '{"action":"resume","lastEventId":""}',
        type: 'error',
        code: 'bad_request',
      },
      {
        name: 'resume lastEventId of 513 chars',
        frame: JSON.stringify({ action: 'resume', lastEventId: 'x'.repeat(513) }),
        type: 'error',
        code: 'bad_request',
      },
      {
        name: 'subscribe with 1,000 valid-looking patterns',
        frame: subscribeMany,
        type: 'error',
        code: 'bad_request',
        message: new RegExp(String(MAX_SUBSCRIPTIONS)),
      },
      ...[
        '*',
        'goal.**',
        '../',
        'goal',
        'GOAL..created',
        'goal.*.created',
        '.goal',
        'goal.created ',
        'goal.créé',
        '*.created',
        `goal.${'x'.repeat(124)}`,
      ].map(
        (p): FrameCase => ({
          name: `bad pattern ${JSON.stringify(p.length > 20 ? `${p.slice(0, 20)}…` : p)}`,
          frame: JSON.stringify({ action: 'subscribe', eventTypes: [p] }),
          type: 'error',
          code: 'bad_request',
        }),
      ),
    ];

    let foreignEventId: string;
    const resumeFrames = (): FrameCase[] => [
      {
        name: "resume with a foreign tenant's real eventId",
        frame: JSON.stringify({ action: 'resume', lastEventId: foreignEventId }),
        type: 'resume.error',
        code: 'gap',
        pendingCode: 'not_authenticated',
      },
      {
        name: 'resume with ../../etc',
        frame: JSON.stringify({ action: 'resume', lastEventId: '../../etc' }),
        type: 'resume.error',
        code: 'gap',
        pendingCode: 'not_authenticated',
      },
      {
        name: 'resume with 500 chars of x',
        frame: JSON.stringify({ action: 'resume', lastEventId: 'x'.repeat(500) }),
        type: 'resume.error',
        code: 'gap',
        pendingCode: 'not_authenticated',
      },
      {
        name: 'resume with an unknown evt_ id',
        frame: JSON.stringify({ action: 'resume', lastEventId: `evt_${randomUUID()}` }),
        type: 'resume.error',
        code: 'gap',
        pendingCode: 'not_authenticated',
      },
      // 512 characters (the schema's limit) of a 3-byte character: 1,536 bytes.
      {
        name: 'resume with 512 multi-byte characters',
        frame: JSON.stringify({ action: 'resume', lastEventId: '€'.repeat(512) }),
        type: 'resume.error',
        code: 'gap',
        pendingCode: 'not_authenticated',
      },
    ];

    beforeAll(async () => {
      const foreign = `foreign-${randomUUID().slice(0, 8)}`;
      const out = await putEvents(rt, [entry('goal.created', { tenantId: foreign, goalId: 'g1' })]);
      expect(out.FailedEntryCount).toBe(0);
      await settled(rt);
      const eventBridgeId = out.Entries![0]!.EventId!;
      const record = (await invocations(rt)).find((i) => i.eventId === eventBridgeId);
      expect(record?.result).toMatchObject({ status: 'delivered' });
      foreignEventId = String(record!.result!.eventId);
    });

    const expectReply = (
      reply: Frame,
      k: FrameCase,
      code = k.code,
      type = code === 'not_authenticated' ? 'error' : k.type,
    ) => {
      expect(reply, `${k.name}: ${JSON.stringify(reply).slice(0, 300)}`).toMatchObject({ type, data: { code } });
      expect(String(reply.data.message).length).toBeGreaterThan(0);
      if (k.message && code === k.code) expect(String(reply.data.message)).toMatch(k.message);
    };

    it.each(badFrames.map((k) => [k.name, k] as const))(
      'answers %s with an error and stays usable',
      async (_name, k) => {
        const c = track(await authedClient(rt, { tenant: 'frames', user: 'f1' }));
        expectReply(await next(c, k.frame), k);
        expect((await next(c, { action: 'ping' })).type).toBe('pong');
        expect(c.closeCode).toBeUndefined();
      },
    );

    it('answers resume with foreign or garbage ids with resume.error gap, and not_authenticated when pending', async () => {
      for (const k of resumeFrames()) {
        const authed = track(await authedClient(rt, { tenant: 'frames', user: 'f2' }));
        expectReply(await next(authed, k.frame), k);
        expect((await next(authed, { action: 'ping' })).type).toBe('pong');
        expect(authed.events()).toHaveLength(0);
        const pending = track(await Client.connect(rt.wsUrl));
        expectReply(await next(pending, k.frame), k, 'not_authenticated');
      }
    });

    it('answers not_authenticated to subscribe, unsubscribe and resume on a pending connection', async () => {
      const c = track(await Client.connect(rt.wsUrl));
      for (const frame of [
        { action: 'subscribe', eventTypes: ['goal.*'] },
        { action: 'unsubscribe', eventTypes: ['goal.*'] },
        { action: 'resume', lastEventId: foreignEventId },
      ]) {
        expect(await next(c, frame)).toMatchObject({ type: 'error', data: { code: 'not_authenticated' } });
      }
      expect((await next(c, { action: 'ping' })).type).toBe('pong');
      corpus.push({ name: 'pending, refused actions', c, on: 'main' });
    });

    it('routes a binary frame carrying a valid auth message to $default, without authenticating', async () => {
      const c = track(await Client.connect(rt.wsUrl));
      corpus.push({ name: 'binary auth frame', c, on: 'main' });
      const seen = c.frames.length;
      c.ws.send(Buffer.from(JSON.stringify({ action: 'auth', token: await token() })), { binary: true });
      const reply = await c.waitFor((f) => c.frames.indexOf(f) >= seen, 5_000, 'reply to a binary frame');
      expect(reply).toMatchObject({ type: 'error', data: { code: 'bad_request' } });
      expect((await next(c, { action: 'subscribe', eventTypes: ['goal.*'] })).data.code).toBe('not_authenticated');
    });

    it('closes with 1009 on a frame over 128 KB', async () => {
      const c = track(await Client.connect(rt.wsUrl));
      c.send(JSON.stringify({ action: 'auth', token: 'x'.repeat(MAX_MESSAGE_BYTES) }));
      expect(await c.waitClosed()).toBe(1009);
      const authed = track(await authedClient(rt, { tenant: 'frames', user: 'f3' }));
      authed.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
      expect(await authed.waitClosed()).toBe(1009);
    });

    it('survives all of them on ONE connection, pending then authenticated, and still receives a real event', async () => {
      const t = `one-${randomUUID().slice(0, 8)}`;
      const c = track(await Client.connect(rt.wsUrl));
      const all = [...badFrames, ...resumeFrames()];
      for (const k of all) expectReply(await next(c, k.frame), k, k.pendingCode ?? k.code);
      // Hostile tokens on the same connection, too.
      for (const bad of [
        rawJwt({ alg: 'none' }, claims({ tenantId: t })),
        await token({ tenant: t, secret: OTHER_SECRET }),
        'x'.repeat(100 * 1024),
        42,
      ]) {
        expect((await next(c, { action: 'auth', token: bad })).type).toBe('auth.error');
      }
      expect(c.closeCode).toBeUndefined();

      expect((await next(c, { action: 'auth', token: await token({ tenant: t, user: 'one' }) })).type).toBe(
        'auth.success',
      );
      for (const k of all) expectReply(await next(c, k.frame), k);
      expect((await next(c, { action: 'subscribe', eventTypes: ['goal.*'] })).type).toBe('subscribe.success');

      const out = await putEvents(rt, [entry('goal.created', { tenantId: t, goalId: 'after-the-storm' })]);
      expect(out.FailedEntryCount).toBe(0);
      await settled(rt);
      const event = await c.waitFor((f) => f.eventId !== undefined, 5_000, 'the real event');
      expect(event).toMatchObject({
        type: 'goal.created',
        tenantId: t,
        data: { tenantId: t, goalId: 'after-the-storm' },
      });
      expect(c.closeCode).toBeUndefined();
    });
  });

  // ---------------------------------------------------------------- events from the bus

  describe('events from the bus', () => {
    const BUS = `bus-${randomUUID().slice(0, 8)}`;
    const goal = (detail: Record<string, unknown>) => ({ goalId: 'g', ...detail });
    /** `null` = filtered by the rule (never reaches the broadcaster). */
    const hostile: Array<[name: string, type: string, detail: Record<string, unknown>, reason: string | null]> = [
      ['missing tenantId', 'goal.created', goal({}), null],
      ['numeric tenantId', 'goal.created', goal({ tenantId: 42 }), 'invalid_tenant'],
      // `exists` applies to leaves only (EventBridge: "exists matching only works on leaf nodes"),
      // so an object-valued tenantId does not match the rule at all.
      ['object tenantId', 'goal.created', goal({ tenantId: { id: BUS } }), null],
      // JSON null is a leaf value in EventBridge patterns (`[null]` matches it), so `exists: true`
      // matches it in the local matcher and the event reaches the broadcaster, which rejects it.
      ['null tenantId', 'goal.created', goal({ tenantId: null }), 'invalid_tenant'],
      ['array tenantId', 'goal.created', goal({ tenantId: [BUS] }), 'invalid_tenant'],
      ['boolean tenantId', 'goal.created', goal({ tenantId: true }), 'invalid_tenant'],
      ['empty tenantId', 'goal.created', goal({ tenantId: '' }), 'invalid_tenant'],
      ['tenantId with #', 'goal.created', goal({ tenantId: `${BUS}#x` }), 'invalid_tenant'],
      ['tenantId with a control character', 'goal.created', goal({ tenantId: `${BUS}\u0000` }), 'invalid_tenant'],
      // Its UTF-8 bytes are those of `${BUS}\ufffd`: the twin tenant below must not get it.
      ['tenantId with a lone surrogate', 'goal.created', goal({ tenantId: `${BUS}\udfff` }), 'invalid_tenant'],
      [
        'audience.userIds with a lone surrogate',
        'goal.created',
        goal({ tenantId: BUS, audience: { userIds: ['control\ud800'] } }),
        'invalid_audience',
      ],
      [
        `tenantId of ${MAX_TENANT_ID_LENGTH + 1} chars`,
        'goal.created',
        goal({ tenantId: 'a'.repeat(MAX_TENANT_ID_LENGTH + 1) }),
        'invalid_tenant',
      ],
      [
        'an oversized detail (~200 KB)',
        'goal.created',
        goal({ tenantId: BUS, blob: 'x'.repeat(200 * 1024) }),
        'too_large',
      ],
      ['a detail-type that is not dot notation', 'GoalCreated', goal({ tenantId: BUS }), 'invalid_detail_type'],
      ['a detail-type with a space', 'goal created', goal({ tenantId: BUS }), 'invalid_detail_type'],
      ['a detail-type with a trailing dot', 'goal.', goal({ tenantId: BUS }), 'invalid_detail_type'],
      ['a detail-type with a wildcard', 'goal.*', goal({ tenantId: BUS }), 'invalid_detail_type'],
      [
        'audience.userIds as a string',
        'goal.created',
        goal({ tenantId: BUS, audience: { userIds: 'u1' } }),
        'invalid_audience',
      ],
      [
        'audience.roles as numbers',
        'goal.created',
        goal({ tenantId: BUS, audience: { roles: [1] } }),
        'invalid_audience',
      ],
      ['audience null', 'goal.created', goal({ tenantId: BUS, audience: null }), 'invalid_audience'],
      ['audience as an array', 'goal.created', goal({ tenantId: BUS, audience: ['u1'] }), 'invalid_audience'],
      [
        'audience with an unknown key',
        'goal.created',
        goal({ tenantId: BUS, audience: { userIds: ['u1'], everyone: true } }),
        'invalid_audience',
      ],
      ...(['urgent', '', 3, null, 'HIGH'] as const).map(
        (priority): [string, string, Record<string, unknown>, string] => [
          `priority ${JSON.stringify(priority)}`,
          'goal.created',
          goal({ tenantId: BUS, priority }),
          'invalid_priority',
        ],
      ),
      ['a known type without its id field', 'goal.created', { tenantId: BUS }, 'invalid_detail'],
      ['a known type with a numeric id field', 'action.created', { tenantId: BUS, actionId: 7 }, 'invalid_detail'],
    ];
    const eventIds = new Map<string, string>();
    let control: Client;
    /** The tenant whose UTF-8 bytes equal those of `${BUS}\udfff`. */
    let twin: Client;
    let validId: string;
    let failedEntries: Array<{
      ErrorCode?: string | undefined;
      ErrorMessage?: string | undefined;
      EventId?: string | undefined;
    }>;

    beforeAll(async () => {
      control = track(await authedClient(rt, { tenant: BUS, user: 'control' }));
      twin = track(await authedClient(rt, { tenant: `${BUS}\ufffd`, user: 'twin' }));
      for (let i = 0; i < hostile.length; i += 10) {
        const batch = hostile.slice(i, i + 10);
        const out = await putEvents(
          rt,
          batch.map(([, type, detail]) => entry(type, detail)),
        );
        expect(out.FailedEntryCount).toBe(0);
        for (const [j, [name]] of batch.entries()) eventIds.set(name, out.Entries![j]!.EventId!);
      }
      // Details that are not JSON objects, in one batch with a valid entry: PutEvents fails those
      // entries alone, like EventBridge (per-entry ErrorCode, counted in FailedEntryCount).
      const notObjects = ['[1,2]', '"x"', 'null', '42', 'not json'];
      const out = await putEvents(rt, [
        ...notObjects.map((d) => entry('goal.created', d)),
        entry('goal.created', { tenantId: BUS, goalId: 'valid' }),
      ]);
      expect(out.FailedEntryCount).toBe(notObjects.length);
      failedEntries = out.Entries!;
      validId = out.Entries!.at(-1)!.EventId!;
      await settled(rt);
      await barrier(control);
    });

    it('refuses a detail that is not a JSON object per entry with MalformedDetail, and accepts the others', () => {
      for (const e of failedEntries.slice(0, -1)) {
        expect(e).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
      }
      expect(failedEntries.at(-1)).toEqual({ EventId: validId });
    });

    it.each(
      hostile.map(
        ([name, , , reason]) =>
          [name, reason ?? 'none: the rule filters it, the broadcaster never runs', reason] as const,
      ),
    )('drops %s (reason: %s)', async (name, _label, reason) => {
      const all = await invocations(rt);
      const records = all.filter((r) => r.eventId === eventIds.get(name));
      if (reason === null) {
        // Filtered by the rule pattern (detail.tenantId exists): the broadcaster never ran.
        expect(records).toEqual([]);
        return;
      }
      expect(records).toHaveLength(1);
      expect(records[0]!.error).toBeUndefined();
      expect(records[0]!.attempts).toBe(1);
      expect(records[0]!.result).toMatchObject({ status: 'rejected', reason });
      expect(String(records[0]!.result!.message).length).toBeGreaterThan(0);
      // Counted and logged with its reason (metrics are disabled locally; the log line carries it).
      expect(rt.output()).toContain(`"reason":"${reason}"`);
    });

    it('delivers the lone-surrogate tenant’s event to no one, not even the tenant it encodes to', async () => {
      await barrier(twin);
      expect(twin.events()).toEqual([]);
    });

    it('never dead-letters or crashes on them, and still delivers the valid event, only it', async () => {
      const dlq = (await deadLetters(rt)) as Array<{ event: { id: string } }>;
      const ids = new Set(eventIds.values());
      expect(dlq.filter((d) => ids.has(d.event.id))).toEqual([]);
      const valid = (await invocations(rt)).find((r) => r.eventId === validId);
      expect(valid?.result).toMatchObject({ status: 'delivered', tenantId: BUS });
      expect(control.events().map((e) => e.data.goalId)).toEqual(['valid']);
      expect(control.events()[0]).toMatchObject({ eventId: `evt_${validId}`, tenantId: BUS, type: 'goal.created' });
      // Still alive and delivering after all of it.
      const out = await putEvents(rt, [entry('goal.updated', { tenantId: BUS, goalId: 'after' })]);
      expect(out.FailedEntryCount).toBe(0);
      await settled(rt);
      await barrier(control);
      expect(control.events().map((e) => e.data.goalId)).toEqual(['valid', 'after']);
    });
  });

  // ---------------------------------------------------------------- no delivery, ever

  it('delivers nothing to any refused or pending connection, for every tenant the corpus named', async () => {
    expect(corpus.length).toBeGreaterThan(40);
    const controlMain = track(await authedClient(rt, { tenant: REAL, user: 'control' }));
    const controlJwks = track(await Client.connect(rtJwks.wsUrl));
    expect((await next(controlJwks, { action: 'auth', token: await rs256({ sub: 'control2' }) })).type).toBe(
      'auth.success',
    );
    // An authenticated connection that tries hostile re-auths keeps its identity, no more.
    const refresher = track(await authedClient(rt, { tenant: REAL, user: 'refresher' }));
    for (const [bad, code] of [
      [rawJwt({ alg: 'none' }, claims({ tenantId: 't2', sub: 'refresher' })), 'invalid_token'],
      [await token({ tenant: 't2', user: 'refresher' }), 'tenant_mismatch'],
      [await token({ tenant: REAL, user: 'someone-else' }), 'tenant_mismatch'],
      [await token({ tenant: `${REAL}#x`, user: 'refresher' }), 'invalid_claims'],
      [await token({ tenant: REAL, user: 'refresher', ttl: -120 }), 'token_expired'],
      [await token({ tenant: 't2', user: 'refresher', secret: OTHER_SECRET }), 'invalid_token'],
    ] as const) {
      expect(await next(refresher, { action: 'auth', token: bad })).toMatchObject({
        type: 'auth.error',
        data: { code },
      });
    }

    // Every tenant any corpus token named, plus look-alikes and prefixes of the real tenants.
    const named = [
      REAL,
      't2',
      'retry-ok',
      '42',
      '[object Object]',
      'a'.repeat(MAX_TENANT_ID_LENGTH + 1),
      `${REAL}#x`,
      `${REAL}#`,
      `${REAL}\u0001`,
      `${REAL}\n`,
      `${REAL}\u0000`,
      't',
      'T1',
      ` ${REAL}`,
      `${REAL} `,
      `${REAL}x`,
      'b'.repeat(MAX_TENANT_ID_LENGTH),
      'frames',
      JW_TENANT,
      `${JW_TENANT}#x`,
      'jw',
      'undefined',
      'null',
    ];
    const entries = named.map((tenantId, i) => entry('goal.created', { tenantId, goalId: `probe-${i}` }));
    for (const target of [rt, rtJwks]) {
      for (let i = 0; i < entries.length; i += 10) {
        const out = await putEvents(target, entries.slice(i, i + 10));
        expect(out.FailedEntryCount).toBe(0);
      }
    }
    await Promise.all([settled(rt), settled(rtJwks)]);

    // Ordering barrier on every connection, then: no frame with an eventId anywhere in the corpus.
    for (const { c } of corpus) if (c.closeCode === undefined) await barrier(c);
    await barrier(controlMain);
    await barrier(controlJwks);
    await barrier(refresher);
    const leaks = corpus.filter(({ c }) =>
      c.frames.some((f) => f.eventId !== undefined || f.tenantId !== undefined || /probe-/.test(JSON.stringify(f))),
    );
    expect(leaks.map((l) => `${l.on}: ${l.name}`)).toEqual([]);

    expect(controlMain.events().map((e) => e.data.goalId)).toEqual([`probe-${named.indexOf(REAL)}`]);
    expect(refresher.events().map((e) => e.data.goalId)).toEqual([`probe-${named.indexOf(REAL)}`]);
    expect(controlJwks.events().map((e) => e.data.goalId)).toEqual([`probe-${named.indexOf(JW_TENANT)}`]);
  });
});
