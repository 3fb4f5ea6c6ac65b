/**
 * The only code that reads process.env. Each reader fails fast with the variable's name.
 * Handlers read their configuration once, at first use.
 */

import type { EnvName } from '../contract/index.js';
import { ConfigError } from '../core/errors.js';

export function requiredEnv(name: EnvName): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(`environment variable ${name} is required`);
  return value.trim();
}

export function optionalEnv(name: EnvName): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function intEnv(name: EnvName, fallback: number, range: { min: number; max: number }): number {
  const raw = optionalEnv(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(
      `environment variable ${name} must be an integer from ${range.min} to ${range.max}, got "${raw}"`,
    );
  }
  return value;
}

export function listEnv(name: EnvName): string[] {
  return (optionalEnv(name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Returns a function that computes `build()` once, on first call. */
export function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}
