/** Per-handler settings read from the environment once, with the contract's defaults. */
import {
  DEFAULT_AUTH_TIMEOUT_SECONDS,
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_FANOUT_CONCURRENCY,
  DEFAULT_STATUS_ROLE,
  Env,
} from '../contract/index.js';
import { intEnv, listEnv, once, optionalEnv, requiredEnv } from './config.js';

export const connectSettings = once(() => ({
  authTimeoutSeconds: intEnv(Env.authTimeoutSeconds, DEFAULT_AUTH_TIMEOUT_SECONDS, { min: 1, max: 3600 }),
  allowedOrigins: listEnv(Env.allowedOrigins),
}));

export const broadcastSettings = once(() => ({
  concurrency: intEnv(Env.fanoutConcurrency, DEFAULT_FANOUT_CONCURRENCY, { min: 1, max: 5000 }),
  maxRps: intEnv(Env.fanoutMaxRps, 0, { min: 0, max: 1_000_000 }) || undefined,
  retentionSeconds: intEnv(Env.eventRetentionHours, DEFAULT_EVENT_RETENTION_HOURS, { min: 1, max: 24 * 365 }) * 3600,
}));

export const httpSettings = once(() => ({
  stage: requiredEnv(Env.stage),
  version: requiredEnv(Env.appVersion),
  statusRole: optionalEnv(Env.statusRole) ?? DEFAULT_STATUS_ROLE,
  eventRetentionHours: intEnv(Env.eventRetentionHours, DEFAULT_EVENT_RETENTION_HOURS, { min: 1, max: 24 * 365 }),
}));
