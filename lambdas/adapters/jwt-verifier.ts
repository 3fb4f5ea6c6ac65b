/**
 * TokenVerifier with jose: HS256 with a shared secret, or RS256/ES256 against a JWKS URL.
 * The algorithm allowlist is explicit per key type, so `alg: none` and HS/RS confusion are
 * refused; `exp` is required; `iss`/`aud` are checked when configured. Errors are mapped to
 * client-safe codes and never contain the token.
 */
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { AuthErrorCode, TOKEN_CLOCK_TOLERANCE_SECONDS } from '../contract/index.js';
import { AuthError } from '../core/errors.js';
import { identityFromClaims } from '../core/identity.js';
import type { Identity, TokenVerifier } from '../core/ports.js';

export const HMAC_ALGORITHMS = ['HS256'];
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'];

export type KeySource = { kind: 'secret'; secret: () => Promise<Uint8Array> } | { kind: 'jwks'; url: URL };

export interface VerifierOptions {
  key: KeySource;
  issuer?: string | undefined;
  audience?: string | undefined;
  tenantClaim: string;
}

/**
 * JWKS sets cached per process, keyed by issuer and URL: a key fetched for one issuer is never
 * used to verify another issuer's token.
 */
const jwksCache = new Map<string, JWTVerifyGetKey>();
export function jwksFor(url: URL, issuer: string | undefined): JWTVerifyGetKey {
  const cacheKey = `${issuer ?? ''}\u0000${url.href}`;
  let jwks = jwksCache.get(cacheKey);
  if (!jwks) {
    jwks = createRemoteJWKSet(url, { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 3_000 });
    jwksCache.set(cacheKey, jwks);
  }
  return jwks;
}

/** Maps jose's errors to an auth.error code and a message that helps without leaking. */
export function toAuthError(err: unknown): AuthError | undefined {
  if (err instanceof errors.JWTExpired)
    return new AuthError(AuthErrorCode.tokenExpired, 'token has expired (exp)', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'exp')
      return new AuthError(AuthErrorCode.invalidClaims, 'claim "exp" is required', { cause: err });
    if (err.claim === 'nbf')
      return new AuthError(AuthErrorCode.invalidToken, 'token is not valid yet (nbf)', { cause: err });
    if (err.claim === 'iss')
      return new AuthError(AuthErrorCode.invalidToken, 'unexpected issuer (iss)', { cause: err });
    if (err.claim === 'aud')
      return new AuthError(AuthErrorCode.invalidToken, 'unexpected audience (aud)', { cause: err });
    return new AuthError(AuthErrorCode.invalidToken, `invalid claim "${err.claim}"`, { cause: err });
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AuthError(AuthErrorCode.invalidToken, 'token algorithm is not allowed', { cause: err });
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new AuthError(AuthErrorCode.invalidToken, 'signature verification failed', { cause: err });
  if (err instanceof errors.JWKSNoMatchingKey)
    return new AuthError(AuthErrorCode.invalidToken, 'no key matches the token (kid)', { cause: err });
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return new AuthError(AuthErrorCode.invalidToken, 'several keys match the token; set kid', { cause: err });
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return new AuthError(AuthErrorCode.invalidToken, 'token is malformed', { cause: err });
  }
  return undefined;
}

export class JoseVerifier implements TokenVerifier {
  constructor(private readonly options: VerifierOptions) {}

  async verify(token: string): Promise<Identity> {
    const { key, issuer, audience, tenantClaim } = this.options;
    const verifyOptions = {
      clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp'],
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
    };
    let payload: Record<string, unknown>;
    try {
      payload =
        key.kind === 'secret'
          ? (await jwtVerify(token, await key.secret(), { ...verifyOptions, algorithms: HMAC_ALGORITHMS })).payload
          : (await jwtVerify(token, jwksFor(key.url, issuer), { ...verifyOptions, algorithms: ASYMMETRIC_ALGORITHMS }))
              .payload;
    } catch (err) {
      // JWKS unreachable or another server-side failure is not the client's fault: rethrow.
      throw toAuthError(err) ?? err;
    }
    return identityFromClaims(payload, tenantClaim);
  }
}
