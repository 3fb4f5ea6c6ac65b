/** Token verification wiring: the key source and claims from the environment. */
import { DEFAULT_TENANT_CLAIM, Env } from '../contract/index.js';
import { ConfigError } from '../core/errors.js';
import { once, optionalEnv } from './config.js';
import { JoseVerifier, type KeySource } from './jwt-verifier.js';
import { secretFromSecretsManager, secretFromValue } from './secrets.js';

/** Exactly one key source: a JWKS URL, a Secrets Manager ARN, or (locally) a secret value. */
export function keySourceFromEnv(): KeySource {
  const jwksUrl = optionalEnv(Env.jwksUrl);
  const secretArn = optionalEnv(Env.jwtSecretArn);
  const secret = optionalEnv(Env.jwtSecret);
  const given = [jwksUrl, secretArn, secret].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new ConfigError(
      `set exactly one of ${Env.jwksUrl}, ${Env.jwtSecretArn} or ${Env.jwtSecret} (found ${given})`,
    );
  }
  if (jwksUrl) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError(`environment variable ${Env.jwksUrl} is not a URL`);
    }
    return { kind: 'jwks', url };
  }
  if (secretArn) return { kind: 'secret', secret: secretFromSecretsManager(secretArn) };
  if (secret === undefined || secret.length < 32)
    throw new ConfigError(`environment variable ${Env.jwtSecret} must be at least 32 characters for HS256`);
  return { kind: 'secret', secret: secretFromValue(secret) };
}

export const verifier = once(
  () =>
    new JoseVerifier({
      key: keySourceFromEnv(),
      tenantClaim: optionalEnv(Env.tenantClaim) ?? DEFAULT_TENANT_CLAIM,
      issuer: optionalEnv(Env.jwtIssuer),
      audience: optionalEnv(Env.jwtAudience),
    }),
);
