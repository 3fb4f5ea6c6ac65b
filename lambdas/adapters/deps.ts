/**
 * Production wiring: adapters chosen from the environment, each built once per process on
 * first use. Handlers import what they need from here.
 */
import {
  DEFAULT_AUTH_TIMEOUT_SECONDS,
  DEFAULT_TENANT_CLAIM,
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_FANOUT_CONCURRENCY,
  Env,
} from '../contract/index.js';
import { ConfigError } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import { documentClient, managementClient } from './aws.js';
import { intEnv, listEnv, once, optionalEnv, requiredEnv } from './config.js';
import { DynamoEventLog } from './dynamo-event-log.js';
import { DynamoConnectionStore } from './dynamo-store.js';
import { JoseVerifier, type KeySource } from './jwt-verifier.js';
import { ManagementApiSender } from './management-sender.js';
import { secretFromSecretsManager, secretFromValue } from './secrets.js';

export const clock: Clock = () => Date.now();

export const connectionStore = once(() => new DynamoConnectionStore(documentClient(), requiredEnv(Env.connectionsTable)));
export const eventLog = once(() => new DynamoEventLog(documentClient(), requiredEnv(Env.eventLogTable)));
export const sender = once(() => new ManagementApiSender(managementClient()));

export const connectConfig = once(() => ({
  authTimeoutSeconds: intEnv(Env.authTimeoutSeconds, DEFAULT_AUTH_TIMEOUT_SECONDS, { min: 1, max: 3600 }),
  allowedOrigins: listEnv(Env.allowedOrigins),
}));

export const broadcastConfig = once(() => ({
  concurrency: intEnv(Env.fanoutConcurrency, DEFAULT_FANOUT_CONCURRENCY, { min: 1, max: 5000 }),
  maxRps: intEnv(Env.fanoutMaxRps, 0, { min: 0, max: 1_000_000 }) || undefined,
  retentionSeconds: intEnv(Env.eventRetentionHours, DEFAULT_EVENT_RETENTION_HOURS, { min: 1, max: 24 * 365 }) * 3600,
}));

/** Exactly one key source: a JWKS URL, a Secrets Manager ARN, or (locally) a secret value. */
export function keySourceFromEnv(): KeySource {
  const jwksUrl = optionalEnv(Env.jwksUrl);
  const secretArn = optionalEnv(Env.jwtSecretArn);
  const secret = optionalEnv(Env.jwtSecret);
  const given = [jwksUrl, secretArn, secret].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new ConfigError(`set exactly one of ${Env.jwksUrl}, ${Env.jwtSecretArn} or ${Env.jwtSecret} (found ${given})`);
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
  if (secret!.length < 32) throw new ConfigError(`environment variable ${Env.jwtSecret} must be at least 32 characters for HS256`);
  return { kind: 'secret', secret: secretFromValue(secret!) };
}

export const verifier = once(
  () =>
    new JoseVerifier({
      key: keySourceFromEnv(),
      tenantClaim: optionalEnv(Env.tenantClaim) ?? DEFAULT_TENANT_CLAIM,
      ...(optionalEnv(Env.jwtIssuer) ? { issuer: optionalEnv(Env.jwtIssuer) } : {}),
      ...(optionalEnv(Env.jwtAudience) ? { audience: optionalEnv(Env.jwtAudience) } : {}),
    }),
);
