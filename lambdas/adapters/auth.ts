/** Token verification wiring: the key source and claims from the environment. */
import { DEFAULT_TENANT_CLAIM, Env } from '../contract/index.js';
import { ConfigError } from '../core/errors.js';
import { once, optionalEnv } from './config.js';
import { JoseVerifier, type KeySource, type VerifierOptions } from './jwt-verifier.js';
import { checkHs256Secret, secretFromSecretsManager, secretFromValue } from './secrets.js';

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
  checkHs256Secret(secret ?? '', `environment variable ${Env.jwtSecret}`);
  return { kind: 'secret', secret: secretFromValue(secret ?? '') };
}

/**
 * Everything the verifier needs, from the environment. A JWKS needs an issuer: its keys may sign
 * other issuers' tokens too (a provider's shared endpoint), and any of those could claim any
 * tenant here. The local runtime calls this at start-up, so it fails then, not at the first auth.
 */
export function verifierOptionsFromEnv(): VerifierOptions {
  const key = keySourceFromEnv();
  const issuer = optionalEnv(Env.jwtIssuer);
  if (key.kind === 'jwks' && issuer === undefined) {
    throw new ConfigError(
      `environment variable ${Env.jwtIssuer} (jwtIssuer) is required with ${Env.jwksUrl}: set it to the issuer (iss) of your tokens`,
    );
  }
  return {
    key,
    tenantClaim: optionalEnv(Env.tenantClaim) ?? DEFAULT_TENANT_CLAIM,
    issuer,
    audience: optionalEnv(Env.jwtAudience),
  };
}

export const verifier = once(() => new JoseVerifier(verifierOptionsFromEnv()));
