/**
 * A corpus of good and bad tokens against JoseVerifier: HS256 with a shared secret, and
 * RS256/ES256 against a JWKS served from 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  errors,
  exportJWK,
  exportSPKI,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JoseVerifier, jwksFor, toAuthError, type VerifierOptions } from '../../lambdas/adapters/jwt-verifier.js';
import { AuthError } from '../../lambdas/core/errors.js';

const SECRET = new TextEncoder().encode('a-test-secret-that-is-long-enough-for-hs256!');
const OTHER_SECRET = new TextEncoder().encode('another-secret-that-is-also-long-enough-000');
const NOW = 1_736_942_400; // 2025-01-15T12:00:00Z

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function hs256(
  claims: JWTPayload,
  options: { secret?: Uint8Array; alg?: string; exp?: number | null; sub?: string | null } = {},
): Promise<string> {
  const jwt = new SignJWT({ tenantId: 'acme', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt(NOW - 10);
  if (options.sub !== null) jwt.setSubject(options.sub ?? 'user-1');
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? NOW + 600);
  return jwt.sign(options.secret ?? SECRET);
}

/** Verifies and returns the AuthError, checking it never echoes the token. */
async function refusal(verifier: JoseVerifier, token: string): Promise<AuthError> {
  let error: unknown;
  try {
    const identity = await verifier.verify(token);
    throw new Error(`expected a refusal, got ${JSON.stringify(identity)}`);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(AuthError);
  const authError = error as AuthError;
  if (token.length > 0) expect(authError.message).not.toContain(token);
  for (const part of token.split('.').filter((p) => p.length > 8)) expect(authError.message).not.toContain(part);
  return authError;
}

describe('JoseVerifier, HS256 secret', () => {
  const verifier = (options: Partial<VerifierOptions> = {}) =>
    new JoseVerifier({ key: { kind: 'secret', secret: async () => SECRET }, tenantClaim: 'tenantId', ...options });

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('verifies a valid token and returns the identity', async () => {
    const token = await hs256({ roles: ['admin'] });
    expect(await verifier().verify(token)).toEqual({
      tenantId: 'acme',
      userId: 'user-1',
      roles: ['admin'],
      expiresAt: NOW + 600,
    });
  });

  it('reads the tenant from the configured claim', async () => {
    const token = await hs256({ 'custom:tenant': 'globex' });
    expect((await verifier({ tenantClaim: 'custom:tenant' }).verify(token)).tenantId).toBe('globex');
  });

  it('refuses an unsecured token (alg: none) as invalid_token', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ tenantId: 'acme', sub: 'user-1', exp: NOW + 600 })}.`;
    expect((await refusal(verifier(), token)).code).toBe('invalid_token');
    expect((await refusal(verifier(), token.slice(0, -1))).code).toBe('invalid_token');
  });

  it('refuses a token signed with another secret', async () => {
    const err = await refusal(verifier(), await hs256({}, { secret: OTHER_SECRET }));
    expect(err.code).toBe('invalid_token');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await hs256({})).split('.');
    const forged = `${header}.${b64url({ tenantId: 'globex', sub: 'user-1', exp: NOW + 600, iat: NOW - 10 })}.${signature}`;
    expect((await refusal(verifier(), forged)).code).toBe('invalid_token');
  });

  it('refuses a token without its signature', async () => {
    const [header, payload] = (await hs256({})).split('.');
    expect((await refusal(verifier(), `${header}.${payload}.`)).code).toBe('invalid_token');
    expect((await refusal(verifier(), `${header}.${payload}`)).code).toBe('invalid_token');
  });

  it.each(['HS384', 'HS512'])('refuses %s (only HS256 is allowed with a secret)', async (alg) => {
    expect((await refusal(verifier(), await hs256({}, { alg }))).code).toBe('invalid_token');
  });

  it('refuses an RS256 token in secret mode', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ tenantId: 'acme' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('u')
      .setExpirationTime(NOW + 600)
      .sign(privateKey);
    expect((await refusal(verifier(), token)).code).toBe('invalid_token');
  });

  it('refuses an expired token as token_expired, within the clock tolerance it is still valid', async () => {
    const expired = await refusal(verifier(), await hs256({}, { exp: NOW - 60 }));
    expect(expired).toMatchObject({ code: 'token_expired', message: 'token has expired (exp)' });
    expect((await refusal(verifier(), await hs256({}, { exp: NOW - 6 }))).code).toBe('token_expired');
    expect((await verifier().verify(await hs256({}, { exp: NOW - 3 }))).expiresAt).toBe(NOW - 3);
  });

  it('refuses a token not valid yet (nbf in the future) as invalid_token', async () => {
    const err = await refusal(verifier(), await hs256({ nbf: NOW + 60 }));
    expect(err).toMatchObject({ code: 'invalid_token', message: 'token is not valid yet (nbf)' });
    expect((await verifier().verify(await hs256({ nbf: NOW + 3 }))).tenantId).toBe('acme');
  });

  describe('with issuer and audience configured', () => {
    const strict = () => verifier({ issuer: 'https://auth.example', audience: 'realtime' });

    it('accepts the expected issuer and audience', async () => {
      const token = await hs256({ iss: 'https://auth.example', aud: ['other', 'realtime'] });
      expect((await strict().verify(token)).userId).toBe('user-1');
    });

    it.each([
      ['a wrong issuer', { iss: 'https://evil.example', aud: 'realtime' }, 'unexpected issuer (iss)'],
      ['no issuer', { aud: 'realtime' }, 'unexpected issuer (iss)'],
      ['a wrong audience', { iss: 'https://auth.example', aud: 'billing' }, 'unexpected audience (aud)'],
      ['no audience', { iss: 'https://auth.example' }, 'unexpected audience (aud)'],
    ])('refuses %s as invalid_token', async (_label, claims, message) => {
      expect(await refusal(strict(), await hs256(claims))).toMatchObject({ code: 'invalid_token', message });
    });

    it('does not check iss or aud when they are not configured', async () => {
      expect((await verifier().verify(await hs256({ iss: 'anyone', aud: 'anything' }))).tenantId).toBe('acme');
    });
  });

  it.each([
    ['no sub', () => hs256({}, { sub: null }), 'claim "sub" is missing'],
    ['no tenant claim', () => hs256({ tenantId: undefined }), 'tenant claim "tenantId" is missing'],
    ['a tenant with #', () => hs256({ tenantId: 'acme#x' }), 'tenant claim "tenantId" is invalid'],
    ['roles that are not strings', () => hs256({ roles: [1, 2] }), 'claim "roles"'],
    ['no exp', () => hs256({}, { exp: null }), 'claim "exp" is required'],
  ])('refuses a token with %s as invalid_claims', async (_label, mint, message) => {
    const err = await refusal(verifier(), await mint());
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toContain(message);
  });

  it.each([
    'garbage',
    '',
    'a.b.c',
    '...',
    'eyJhbGciOiJIUzI1NiJ9.e30',
    `${b64url({ alg: 'HS256' })}.not-base64-json.sig`,
  ])('refuses the malformed token %j as invalid_token', async (token) => {
    expect((await refusal(verifier(), token)).code).toBe('invalid_token');
  });

  it('keeps the jose error as the cause', async () => {
    const err = await refusal(verifier(), await hs256({}, { exp: NOW - 60 }));
    expect(err.cause).toBeInstanceOf(errors.JWTExpired);
  });
});

describe('toAuthError', () => {
  it.each([
    ['a plain Error', new Error('boom')],
    ['a JWKS timeout', new errors.JWKSTimeout()],
    [
      'a generic JOSEError (e.g. JWKS answered 500)',
      new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response'),
    ],
    ['an invalid JWKS', new errors.JWKSInvalid()],
    ['a string', 'nope'],
    ['undefined', undefined],
  ])('maps %s to undefined (the caller rethrows it)', (_label, err) => {
    expect(toAuthError(err)).toBeUndefined();
  });

  it.each([
    [new errors.JWSSignatureVerificationFailed(), 'invalid_token'],
    [new errors.JOSEAlgNotAllowed('no'), 'invalid_token'],
    [new errors.JWKSNoMatchingKey(), 'invalid_token'],
    [new errors.JWKSMultipleMatchingKeys(), 'invalid_token'],
    [new errors.JWSInvalid('bad'), 'invalid_token'],
    [new errors.JWTInvalid('bad'), 'invalid_token'],
    [new errors.JWTExpired('expired', {}, 'exp', 'check_failed'), 'token_expired'],
    [new errors.JWTClaimValidationFailed('missing', {}, 'exp', 'missing'), 'invalid_claims'],
    [new errors.JWTClaimValidationFailed('jti', {}, 'jti', 'check_failed'), 'invalid_token'],
  ])('maps %s to %s, keeping it as the cause', (err, code) => {
    const mapped = toAuthError(err);
    expect(mapped).toBeInstanceOf(AuthError);
    expect(mapped?.code).toBe(code);
    expect(mapped?.cause).toBe(err);
  });
});

describe('JoseVerifier, JWKS (RS256 / ES256)', () => {
  let server: Server;
  let url: URL;
  let requests = 0;
  const keys: JWK[] = [];
  let rsa: GenerateKeyPairResult;
  let ec: GenerateKeyPairResult;
  let impostor: GenerateKeyPairResult;
  let rsaPublicJwk: JWK;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    impostor = await generateKeyPair('RS256');
    rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    keys.push(rsaPublicJwk, { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' });
    server = createServer((req, res) => {
      requests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const verifier = () => new JoseVerifier({ key: { kind: 'jwks', url }, tenantClaim: 'tenantId' });
  const sign = (alg: string, kid: string | undefined, key: CryptoKey | Uint8Array, claims: JWTPayload = {}) =>
    new SignJWT({ tenantId: 'acme', ...claims })
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setSubject('user-1')
      .setExpirationTime(now() + 600)
      .sign(key);

  it('verifies an RS256 token against the JWKS', async () => {
    const identity = await verifier().verify(await sign('RS256', 'rsa-1', rsa.privateKey, { roles: ['viewer'] }));
    expect(identity).toMatchObject({ tenantId: 'acme', userId: 'user-1', roles: ['viewer'] });
    expect(requests).toBeGreaterThan(0);
  });

  it('verifies an ES256 token against the JWKS', async () => {
    expect((await verifier().verify(await sign('ES256', 'ec-1', ec.privateKey))).userId).toBe('user-1');
  });

  it("refuses an HS256 token signed with the RSA public key's PEM as the HMAC secret (algorithm confusion)", async () => {
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const err = await refusal(verifier(), await sign('HS256', 'rsa-1', pem));
    expect(err.code).toBe('invalid_token');
  });

  it("refuses an HS256 token signed with the RSA public JWK's bytes as the HMAC secret", async () => {
    const jwkBytes = new TextEncoder().encode(JSON.stringify(rsaPublicJwk));
    expect((await refusal(verifier(), await sign('HS256', 'rsa-1', jwkBytes))).code).toBe('invalid_token');
    const modulus = Buffer.from(rsaPublicJwk.n!, 'base64url');
    expect((await refusal(verifier(), await sign('HS256', undefined, new Uint8Array(modulus)))).code).toBe(
      'invalid_token',
    );
  });

  it('refuses an unsecured token (alg: none) in JWKS mode', async () => {
    const token = `${b64url({ alg: 'none', kid: 'rsa-1' })}.${b64url({ tenantId: 'acme', sub: 'u', exp: now() + 600 })}.`;
    expect((await refusal(verifier(), token)).code).toBe('invalid_token');
  });

  it('refuses a token whose kid is not in the JWKS', async () => {
    const err = await refusal(verifier(), await sign('RS256', 'rsa-unknown', rsa.privateKey));
    expect(err).toMatchObject({ code: 'invalid_token', message: 'no key matches the token (kid)' });
  });

  it('refuses a token signed by another key that claims a known kid', async () => {
    const err = await refusal(verifier(), await sign('RS256', 'rsa-1', impostor.privateKey));
    expect(err).toMatchObject({ code: 'invalid_token', message: 'signature verification failed' });
  });

  it("refuses an RS256 token that names the EC key's kid", async () => {
    expect((await refusal(verifier(), await sign('RS256', 'ec-1', rsa.privateKey))).code).toBe('invalid_token');
  });

  it('caches one key set per issuer and URL', () => {
    expect(jwksFor(url, 'https://a.example')).toBe(jwksFor(url, 'https://a.example'));
    expect(jwksFor(url, 'https://a.example')).not.toBe(jwksFor(url, 'https://b.example'));
    expect(jwksFor(url, undefined)).not.toBe(jwksFor(url, 'https://a.example'));
  });

  it('rethrows, not as an AuthError, when the JWKS answers 500 (a server-side failure)', async () => {
    const broken = createServer((_req, res) => res.writeHead(500).end('oops'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const brokenUrl = new URL(`http://127.0.0.1:${(broken.address() as AddressInfo).port}/jwks`);
      const outcome = new JoseVerifier({ key: { kind: 'jwks', url: brokenUrl }, tenantClaim: 'tenantId' }).verify(
        await sign('RS256', 'rsa-1', rsa.privateKey),
      );
      await expect(outcome).rejects.toThrow();
      await expect(outcome).rejects.not.toBeInstanceOf(AuthError);
    } finally {
      await new Promise<void>((resolve) => broken.close(() => resolve()));
    }
  });

  it('rethrows, not as an AuthError, when the JWKS endpoint is unreachable (a server-side failure)', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const deadUrl = new URL(`http://127.0.0.1:${port}/jwks`);

    const outcome = new JoseVerifier({ key: { kind: 'jwks', url: deadUrl }, tenantClaim: 'tenantId' }).verify(
      await sign('RS256', 'rsa-1', rsa.privateKey),
    );

    // The client's token is fine: telling it "invalid_token: token is malformed" would be wrong.
    await expect(outcome).rejects.toThrow();
    await expect(outcome).rejects.not.toBeInstanceOf(AuthError);
  });
});
