/** The HS256 secret: from Secrets Manager on AWS, from the environment locally. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../core/errors.js';
import { once } from './config.js';

const client = once(() => new SecretsManagerClient({}));
/** Re-read after this long, so a rotated secret is picked up by warm functions. */
const REFRESH_MS = 15 * 60_000;

export function secretFromValue(value: string): () => Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(value);
  return async () => bytes;
}

export function secretFromSecretsManager(secretId: string): () => Promise<Uint8Array> {
  let cached: { bytes: Uint8Array; at: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < REFRESH_MS) return cached.bytes;
    const out = await client().send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new ConfigError(`secret ${secretId} has no SecretString`);
    cached = { bytes: new TextEncoder().encode(out.SecretString), at: Date.now() };
    return cached.bytes;
  };
}
