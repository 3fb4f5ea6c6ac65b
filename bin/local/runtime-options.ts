/** The local runtime's options, and how `npm start` reads them from the environment. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DEFAULT_STAGE,
  Env,
  type EnvName,
  IDLE_TIMEOUT_SECONDS,
  MAX_CONNECTION_SECONDS,
} from '../../lambdas/contract/index.js';
import {
  DEFAULT_EVENTS_PORT,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_SWEEP_INTERVAL_SECONDS,
  DEFAULT_WS_PORT,
} from './defaults.js';
import { log as defaultLog, type Log } from './log.js';

export interface LocalRuntimeOptions {
  host: string;
  /** WebSocket + management API port (WS_PORT); 0 = any free port. */
  wsPort: number;
  /** EventBridge port (EVENTS_PORT); 0 = any free port. */
  eventsPort: number;
  /** HTTP API port (HTTP_PORT); 0 = any free port. */
  httpPort: number;
  stage: string;
  idleTimeoutSeconds: number;
  maxConnectionSeconds: number;
  /** How often the sweeper runs (SWEEP_INTERVAL_SECONDS); 0 disables it. */
  sweepIntervalSeconds: number;
  /**
   * Fault injection (LOCAL_FAULTS=1), controlled at `{managementUrl}/_local/faults`: on the
   * management API, and on DynamoDB through a proxy the handlers' DYNAMODB_ENDPOINT points at.
   */
  faults: boolean;
  /** An external DynamoDB (DYNAMODB_ENDPOINT); dynalite in memory when unset. */
  dynamodbEndpoint?: string;
  /** Broadcaster delivery attempts and first backoff (EventBridge retry policy, shortened). */
  deliveryAttempts: number;
  deliveryBaseDelayMs: number;
  /** Handler configuration overriding process.env (tests), e.g. `{ AUTH_TIMEOUT_SECONDS: '2' }`. */
  handlerEnv: Partial<Record<EnvName, string>>;
  /** Folder of the handler modules (`<name>.ts`, each exporting `handler`); LOCAL_HANDLERS_DIR. */
  handlersDir: URL;
  log: Log;
}

/** Where the handler modules are: the same files the stack bundles. */
const HANDLERS_DIR = new URL('../../lambdas/handlers/', import.meta.url);

function numberFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  rule: string,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new Error(`${name} must be ${rule}, got "${raw}"`);
  return value;
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
const isPositive = (n: number) => n > 0;

/** Options from the environment, with the defaults of `npm start`. */
export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LocalRuntimeOptions {
  const options: LocalRuntimeOptions = {
    host: env.HOST?.trim() || DEFAULT_HOST,
    wsPort: numberFromEnv(env, 'WS_PORT', DEFAULT_WS_PORT, isPort, 'a port number (0 = any free port)'),
    eventsPort: numberFromEnv(env, 'EVENTS_PORT', DEFAULT_EVENTS_PORT, isPort, 'a port number (0 = any free port)'),
    httpPort: numberFromEnv(env, 'HTTP_PORT', DEFAULT_HTTP_PORT, isPort, 'a port number (0 = any free port)'),
    stage: env.STAGE?.trim() || DEFAULT_STAGE,
    idleTimeoutSeconds: numberFromEnv(
      env,
      'IDLE_TIMEOUT_SECONDS',
      IDLE_TIMEOUT_SECONDS,
      isPositive,
      'a positive number of seconds',
    ),
    maxConnectionSeconds: numberFromEnv(
      env,
      'MAX_CONNECTION_SECONDS',
      MAX_CONNECTION_SECONDS,
      isPositive,
      'a positive number of seconds',
    ),
    sweepIntervalSeconds: numberFromEnv(
      env,
      'SWEEP_INTERVAL_SECONDS',
      DEFAULT_SWEEP_INTERVAL_SECONDS,
      (n) => n >= 0,
      'a number of seconds (0 disables)',
    ),
    faults: env.LOCAL_FAULTS === '1' || env.LOCAL_FAULTS === 'true',
    deliveryAttempts: 3,
    deliveryBaseDelayMs: 100,
    handlerEnv: {},
    handlersDir: env.LOCAL_HANDLERS_DIR?.trim()
      ? pathToFileURL(`${resolve(env.LOCAL_HANDLERS_DIR.trim())}/`)
      : HANDLERS_DIR,
    log: defaultLog,
  };
  const dynamodbEndpoint = env[Env.dynamodbEndpoint]?.trim();
  if (dynamodbEndpoint) options.dynamodbEndpoint = dynamodbEndpoint;
  return options;
}
