/**
 * Per-handler settings read from the environment once. Defaults and ranges are the contract's
 * `SETTINGS` entries, the same ones the stack validates its options with.
 */
import { DEFAULT_STATUS_ROLE, Env, type NumericSetting, SETTINGS } from '../contract/index.js';
import { intEnv, listEnv, once, optionalEnv, requiredEnv } from './config.js';

/** The range a handler accepts: the setting's own, or its lower handler floor. */
const handlerRange = (setting: NumericSetting) => ({ min: setting.handlerMin ?? setting.min, max: setting.max });

export const connectSettings = once(() => ({
  authTimeoutSeconds: intEnv(
    Env.authTimeoutSeconds,
    SETTINGS.authTimeoutSeconds.default,
    handlerRange(SETTINGS.authTimeoutSeconds),
  ),
  allowedOrigins: listEnv(Env.allowedOrigins),
}));

export const broadcastSettings = once(() => ({
  concurrency: intEnv(
    Env.fanoutConcurrency,
    SETTINGS.fanoutConcurrency.default,
    handlerRange(SETTINGS.fanoutConcurrency),
  ),
  /** Unset means no cap. */
  maxRps:
    optionalEnv(Env.fanoutMaxRps) === undefined
      ? undefined
      : intEnv(Env.fanoutMaxRps, 0, handlerRange(SETTINGS.fanoutMaxRps)),
  retentionSeconds:
    intEnv(Env.eventRetentionHours, SETTINGS.eventRetentionHours.default, handlerRange(SETTINGS.eventRetentionHours)) *
    3600,
}));

export const httpSettings = once(() => ({
  stage: requiredEnv(Env.stage),
  version: requiredEnv(Env.appVersion),
  statusRole: optionalEnv(Env.statusRole) ?? DEFAULT_STATUS_ROLE,
  eventRetentionHours: intEnv(
    Env.eventRetentionHours,
    SETTINGS.eventRetentionHours.default,
    handlerRange(SETTINGS.eventRetentionHours),
  ),
}));
