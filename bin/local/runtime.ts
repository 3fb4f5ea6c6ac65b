import { verifierOptionsFromEnv } from '../../lambdas/adapters/auth.js';
import {
  BROADCASTER_TIMEOUT_SECONDS,
  broadcastEventPattern,
  Env,
  Handler,
  type HandlerName,
  LAMBDA_ROUTE_KEYS,
  ROUTES,
} from '../../lambdas/contract/index.js';
import { silenceSdkNodeVersionWarning } from './cli.js';
import { CONSOLE_PATH, localConsole } from './console.js';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_DEV_JWT_SECRET, LOCAL_REGION } from './defaults.js';
import { type LocalDynamo, startDynamo } from './dynamo.js';
import { type DynamoFaultProxy, startDynamoFaultProxy } from './dynamo-faults.js';
import { buildEvent, type LocalEventBridge, type LocalEventBridgeEvent, startEventBridge } from './eventbridge.js';
import { emptyFaultPlan, FAULTS_PATH, type FaultPlan } from './faults.js';
import { type Gateway, type RouteTable, startGateway } from './gateway.js';
import { type HttpApiEmulator, LOCAL_APP_VERSION, startHttpApi } from './http-api.js';
import { invokeLambda, type LambdaHandler } from './lambda.js';
import { errorMessage } from './log.js';
import { settlesWithin } from './queue.js';
import { startWorkerFunction } from './worker-function.js';

export { type LocalRuntimeOptions, runtimeOptionsFromEnv } from './runtime-options.js';

import { type LocalRuntimeOptions, runtimeOptionsFromEnv } from './runtime-options.js';

export interface LocalRuntime {
  wsUrl: string;
  managementUrl: string;
  eventsUrl: string;
  /** The HTTP API: `http://host:port` (GET /health, /events, /presence, /status). */
  httpUrl: string;
  /** The debug console: `${httpUrl}/console`. */
  consoleUrl: string;
  httpApi: HttpApiEmulator;
  /** DynamoDB itself (dynalite or DYNAMODB_ENDPOINT): never subject to injected faults. */
  dynamodbEndpoint: string;
  /** The handlers' DYNAMODB_ENDPOINT: the fault proxy when faults are on, else `dynamodbEndpoint`. */
  handlerDynamodbEndpoint: string;
  tables: { connections: string; events: string };
  stage: string;
  gateway: Gateway;
  /** The fault plan shared by the gateway and the DynamoDB proxy (only with faults on). */
  faults?: FaultPlan;
  /** The DynamoDB fault proxy (only with faults on). */
  dynamoFaultProxy?: DynamoFaultProxy;
  eventBridge: LocalEventBridge;
  /** Runs the sweeper once now (as its schedule would). */
  sweep(): Promise<unknown>;
  /** Resolves when no WebSocket handler or event delivery is pending. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** API Gateway's integration timeout; also the route handlers' Lambda timeout locally. */
const ROUTE_TIMEOUT_MS = 29_000;
/** Timeout of the broadcaster and the sweeper (the stack's: both run for at most this long). */
const BACKGROUND_TIMEOUT_MS = BROADCASTER_TIMEOUT_SECONDS * 1000;

function setDefault(name: string, value: string): void {
  if (process.env[name] === undefined || process.env[name] === '') process.env[name] = value;
}

/**
 * The handlers' environment. The runtime owns the tables and endpoints; the JWT secret defaults
 * to the documented dev secret unless another key source is configured; every other variable
 * (JWT_ISSUER, JWT_AUDIENCE, TENANT_CLAIM, AUTH_TIMEOUT_SECONDS, ALLOWED_ORIGINS,
 * EVENT_RETENTION_HOURS, FANOUT_CONCURRENCY, FANOUT_MAX_RPS) passes through from the shell.
 */
function configureHandlerEnv(
  options: LocalRuntimeOptions,
  dynamo: LocalDynamo,
  dynamodbEndpoint: string,
  managementUrl: string,
): void {
  for (const [name, value] of Object.entries(options.handlerEnv)) if (value !== undefined) process.env[name] = value;
  process.env[Env.connectionsTable] = dynamo.tables.connections;
  process.env[Env.eventLogTable] = dynamo.tables.events;
  process.env[Env.managementEndpoint] = managementUrl;
  process.env[Env.dynamodbEndpoint] = dynamodbEndpoint;
  // The HTTP API reports these on GET /health (STATUS_ROLE passes through from the shell).
  process.env[Env.stage] = options.stage;
  process.env[Env.appVersion] = LOCAL_APP_VERSION;
  const keySources = [Env.jwtSecret, Env.jwtSecretArn, Env.jwksUrl].filter((name) => process.env[name]);
  if (keySources.length === 0) process.env[Env.jwtSecret] = LOCAL_DEV_JWT_SECRET;
  if (process.env[Env.jwtSecretArn])
    options.log.warn(`${Env.jwtSecretArn} is set: the auth handler will call AWS Secrets Manager`);
  setDefault('AWS_REGION', LOCAL_REGION);
  setDefault('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
  setDefault('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
  setDefault('POWERTOOLS_LOG_LEVEL', 'WARN');
  setDefault('POWERTOOLS_METRICS_DISABLED', 'true');
}

type Handlers = Record<HandlerName, LambdaHandler>;

/** Imports every handler module; one error names all modules that failed. */
async function loadHandlers(dir: URL): Promise<Handlers> {
  const names = [...new Set(Object.values(Handler))];
  const failures: string[] = [];
  const loaded = await Promise.all(
    names.map(async (name) => {
      // `.js` specifiers resolve to the `.ts` sources under tsx and vitest.
      const url = new URL(`${name}.js`, dir);
      try {
        const mod: unknown = await import(url.href);
        const handler = (mod as { handler?: unknown } | null)?.handler;
        if (typeof handler !== 'function') throw new Error('does not export a `handler` function');
        return [name, handler as LambdaHandler] as const;
      } catch (err) {
        failures.push(`  ${name}: ${errorMessage(err)}`);
        return undefined;
      }
    }),
  );
  if (failures.length > 0) throw new Error(`cannot load handler modules from ${dir.pathname}:\n${failures.join('\n')}`);
  return Object.fromEntries(loaded.filter((entry) => entry !== undefined)) as Handlers;
}

function functionName(stage: string, name: HandlerName): string {
  return `tenant-realtime-${stage}-${name}`;
}

/** The gateway's routes, straight from the contract's ROUTES. */
function routeTable(handlers: Handlers, stage: string): RouteTable {
  const table: RouteTable = {};
  for (const key of LAMBDA_ROUTE_KEYS) {
    const spec = ROUTES[key];
    table[key] = {
      handler: handlers[spec.handler],
      returnResponse: spec.returnResponse,
      functionName: functionName(stage, spec.handler),
    };
  }
  return table;
}

/** EventBridge's scheduled event, as a rule with `rate(1 minute)` sends it. */
function scheduledEvent(stage: string): LocalEventBridgeEvent {
  return buildEvent({
    source: 'aws.events',
    detailType: 'Scheduled Event',
    detail: {},
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${functionName(stage, Handler.sweeper)}`],
  });
}

let started = false;

export async function startLocalRuntime(overrides: Partial<LocalRuntimeOptions> = {}): Promise<LocalRuntime> {
  if (started)
    throw new Error(
      'a local runtime was already started in this process; handler modules cache their configuration, so start one per process',
    );
  started = true;
  const options: LocalRuntimeOptions = { ...runtimeOptionsFromEnv(), ...overrides };
  const { log, stage } = options;
  silenceSdkNodeVersionWarning();

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.warn('error while closing', err);
      }
    }
  };

  try {
    const dynamo = await startDynamo({
      stage,
      host: options.host,
      ...(options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint } : {}),
    });
    closers.push(() => dynamo.close());

    // Test-only: the handlers reach DynamoDB through a proxy that can fail their requests.
    const faults = options.faults ? emptyFaultPlan() : undefined;
    let dynamoFaultProxy: DynamoFaultProxy | undefined;
    if (faults) {
      const proxy = await startDynamoFaultProxy({ host: options.host, upstream: dynamo.endpoint, plan: faults, log });
      dynamoFaultProxy = proxy;
      closers.push(() => proxy.close());
    }
    const handlerDynamodbEndpoint = dynamoFaultProxy?.url ?? dynamo.endpoint;

    // The gateway listens first (its port is the management endpoint); it holds requests until
    // the handlers are loaded.
    let resolveRoutes: (table: RouteTable) => void = () => undefined;
    let rejectRoutes: (err: unknown) => void = () => undefined;
    const routes = new Promise<RouteTable>((resolve, reject) => {
      resolveRoutes = resolve;
      rejectRoutes = reject;
    });
    const gateway = await startGateway({
      host: options.host,
      port: options.wsPort,
      stage,
      routes,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      maxConnectionSeconds: options.maxConnectionSeconds,
      handlerTimeoutMs: ROUTE_TIMEOUT_MS,
      ...(faults ? { faults } : {}),
      log,
    });
    closers.push(() => gateway.close());
    if (dynamoFaultProxy) {
      log.warn(
        `fault injection enabled: ${gateway.managementUrl}${FAULTS_PATH}; ` +
          `handlers reach DynamoDB through the fault proxy ${dynamoFaultProxy.url} (stats: ${dynamoFaultProxy.url}/_local/stats)`,
      );
    }

    configureHandlerEnv(options, dynamo, handlerDynamodbEndpoint, gateway.managementUrl);
    // Check the token settings now (as synth does), not at the first auth: e.g. a JWKS_URL needs
    // JWT_ISSUER. The auth handler builds its verifier from the same function.
    try {
      verifierOptionsFromEnv();
    } catch (err) {
      rejectRoutes(err);
      throw err;
    }
    let handlers: Handlers;
    try {
      handlers = await loadHandlers(options.handlersDir);
    } catch (err) {
      rejectRoutes(err);
      throw err;
    }
    resolveRoutes(routeTable(handlers, stage));

    // The broadcaster runs in its own worker thread, as in its own Lambda environment.
    const broadcaster = await startWorkerFunction(
      new URL(`${Handler.broadcaster}.js`, options.handlersDir),
      functionName(stage, Handler.broadcaster),
    );
    closers.push(() => broadcaster.close());

    const eventBridge = await startEventBridge({
      host: options.host,
      port: options.eventsPort,
      pattern: broadcastEventPattern(),
      target: (event) =>
        invokeLambda(broadcaster.handler, event, functionName(stage, Handler.broadcaster), BACKGROUND_TIMEOUT_MS),
      attempts: options.deliveryAttempts,
      baseDelayMs: options.deliveryBaseDelayMs,
      gatewayIdle: () => gateway.idle(),
      log,
    });
    closers.push(() => eventBridge.close());

    // The debug console and its local-only tools, on the HTTP API's port.
    let httpUrl = '';
    const console_ = localConsole({
      urls: () => ({ wsUrl: gateway.url, httpUrl, eventsUrl: eventBridge.url }),
      log,
    });
    closers.push(() => console_.close());

    // The HTTP API: the contract's HTTP routes on the `http` handler module, CORS from ALLOWED_ORIGINS.
    const httpApi = await startHttpApi({
      local: console_.handle,
      host: options.host,
      port: options.httpPort,
      handlerFor: (name) => handlers[name],
      functionName: (name) => functionName(stage, name),
      allowedOrigins: (process.env[Env.allowedOrigins] ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ''),
      handlerTimeoutMs: ROUTE_TIMEOUT_MS,
      log,
    });
    closers.push(() => httpApi.close());
    httpUrl = httpApi.url;

    const sweep = () =>
      invokeLambda(
        handlers[Handler.sweeper],
        scheduledEvent(stage),
        functionName(stage, Handler.sweeper),
        BACKGROUND_TIMEOUT_MS,
      );
    if (options.sweepIntervalSeconds > 0) {
      let running: Promise<void> | undefined;
      const timer = setInterval(() => {
        if (running) return; // no overlapping sweeps
        running = sweep()
          .then(
            () => undefined,
            (err: unknown) => log.error('sweeper failed', err),
          )
          .finally(() => (running = undefined));
      }, options.sweepIntervalSeconds * 1000);
      closers.push(async () => {
        clearInterval(timer);
        if (running) await settlesWithin(running, 5000);
      });
    }

    return {
      wsUrl: gateway.url,
      managementUrl: gateway.managementUrl,
      eventsUrl: eventBridge.url,
      httpUrl: httpApi.url,
      consoleUrl: `${httpApi.url}${CONSOLE_PATH}`,
      httpApi,
      dynamodbEndpoint: dynamo.endpoint,
      handlerDynamodbEndpoint,
      tables: dynamo.tables,
      stage,
      gateway,
      ...(faults ? { faults } : {}),
      ...(dynamoFaultProxy ? { dynamoFaultProxy } : {}),
      eventBridge,
      sweep,
      idle: async () => {
        await eventBridge.idle();
        await gateway.idle();
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
