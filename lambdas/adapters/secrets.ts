/** The HS256 secret: from Secrets Manager on AWS, from the environment locally. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MIN_HS256_SECRET_LENGTH } from '../contract/index.js';
import { ConfigError } from '../core/errors.js';
import { once } from './config.js';

const client = once(() => new SecretsManagerClient({}));
/** Re-read after this long, so a rotated secret is picked up by warm functions. */
const REFRESH_MS = 15 * 60_000;

/**
 * The same minimum for every key source (RFC 7518 §3.2: a key at least as long as the hash).
 * The message names where the key came from, never the key.
 */
export function checkHs256Secret(value: string, source: string): void {
  if (value.length < MIN_HS256_SECRET_LENGTH)
    throw new ConfigError(`${source} must be at least ${MIN_HS256_SECRET_LENGTH} characters for HS256`);
}

export function secretFromValue(value: string): () => Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(value);
  return async () => bytes;
}

/** Reads the secret lazily and caches it for REFRESH_MS; `getClient` is for tests. */
export function secretFromSecretsManager(
  secretId: string,
  getClient: () => Pick<SecretsManagerClient, 'send'> = client,
): () => Promise<Uint8Array> {
  let cached: { bytes: Uint8Array; at: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < REFRESH_MS) return cached.bytes;
    const out = await getClient().send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new ConfigError(`secret ${secretId} has no SecretString`);
    checkHs256Secret(out.SecretString, `the SecretString of ${secretId}`);
    cached = { bytes: new TextEncoder().encode(out.SecretString), at: Date.now() };
    return cached.bytes;
  };
}
