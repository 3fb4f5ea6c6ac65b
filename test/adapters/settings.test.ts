/** The handlers' settings reader: defaults and ranges are the contract's SETTINGS entries. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Env, type EnvName, SETTINGS } from '../../lambdas/contract/index.js';

const NAMES = [
  Env.authTimeoutSeconds,
  Env.allowedOrigins,
  Env.fanoutConcurrency,
  Env.fanoutMaxRps,
  Env.eventRetentionHours,
];
let saved: Partial<Record<EnvName, string | undefined>>;
beforeEach(() => {
  saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
  for (const n of NAMES) delete process.env[n];
  // Each reader computes its settings once per module instance (as in a warm Lambda).
  vi.resetModules();
});
afterEach(() => {
  for (const n of NAMES) {
    const value = saved[n];
    if (value === undefined) delete process.env[n];
    else process.env[n] = value;
  }
});

const load = () => import('../../lambdas/adapters/settings.js');

describe('connectSettings', () => {
  it('defaults to the SETTINGS entry', async () => {
    const { connectSettings } = await load();
    expect(connectSettings()).toEqual({ authTimeoutSeconds: SETTINGS.authTimeoutSeconds.default, allowedOrigins: [] });
  });

  it('accepts deadlines down to the handler floor, below a deployment’s minimum', async () => {
    process.env[Env.authTimeoutSeconds] = String(SETTINGS.authTimeoutSeconds.handlerMin);
    const { connectSettings } = await load();
    expect(SETTINGS.authTimeoutSeconds.handlerMin).toBeLessThan(SETTINGS.authTimeoutSeconds.min);
    expect(connectSettings().authTimeoutSeconds).toBe(SETTINGS.authTimeoutSeconds.handlerMin);
  });

  it('refuses a deadline past the SETTINGS maximum, naming the variable', async () => {
    process.env[Env.authTimeoutSeconds] = String(SETTINGS.authTimeoutSeconds.max + 1);
    const { connectSettings } = await load();
    // The module instance's own ConfigError class (modules were reset for this test).
    const { ConfigError } = await import('../../lambdas/core/errors.js');
    expect(() => connectSettings()).toThrow(ConfigError);
    expect(() => connectSettings()).toThrow(/AUTH_TIMEOUT_SECONDS/);
  });
});

describe('broadcastSettings', () => {
  it('defaults to the SETTINGS entries, with no rate cap', async () => {
    const { broadcastSettings } = await load();
    expect(broadcastSettings()).toEqual({
      concurrency: SETTINGS.fanoutConcurrency.default,
      maxRps: undefined,
      retentionSeconds: SETTINGS.eventRetentionHours.default * 3600,
    });
  });

  it('reads each value at the top of its SETTINGS range', async () => {
    process.env[Env.fanoutConcurrency] = String(SETTINGS.fanoutConcurrency.max);
    process.env[Env.fanoutMaxRps] = String(SETTINGS.fanoutMaxRps.max);
    process.env[Env.eventRetentionHours] = String(SETTINGS.eventRetentionHours.max);
    const { broadcastSettings } = await load();
    expect(broadcastSettings()).toEqual({
      concurrency: SETTINGS.fanoutConcurrency.max,
      maxRps: SETTINGS.fanoutMaxRps.max,
      retentionSeconds: SETTINGS.eventRetentionHours.max * 3600,
    });
  });

  it.each([
    [Env.fanoutConcurrency, SETTINGS.fanoutConcurrency.max + 1],
    [Env.fanoutMaxRps, SETTINGS.fanoutMaxRps.min - 1],
    [Env.eventRetentionHours, SETTINGS.eventRetentionHours.max + 1],
  ])('refuses %s=%d, outside what a deployment may set', async (name, value) => {
    process.env[name] = String(value);
    const { broadcastSettings } = await load();
    expect(() => broadcastSettings()).toThrow(new RegExp(name));
  });
});
