/**
 * The wiring of every function, in one table: for each handler of the contract, its
 * description, its environment and its grants. A record over `HandlerName`, so a handler added
 * to the contract does not compile until it is wired here. The constructs that hold the
 * functions decide only where each one lives and how it is sized (see `HandlerFunctionFactory`).
 */
import { readFileSync } from 'node:fs';
import {
  Env,
  Handler,
  type HandlerName,
  Route,
  SWEEP_INDEX,
  TENANT_INDEX,
  USER_INDEX,
} from '../lambdas/contract/index.js';
import { type RealtimeConfig, removalPolicyFor } from './config.js';
import type { ConnectionTables } from './constructs/connection-tables.js';
import { type HandlerFunctionFactory, NodeFunction } from './constructs/node-function.js';
import type { WebSocketGateway } from './constructs/websocket-gateway.js';

/** What the table reads: the deployment's options and the resources a function uses. */
export interface WiringContext {
  readonly config: RealtimeConfig;
  readonly tables: ConnectionTables;
  /** Management endpoint (`stage.callbackUrl`), connection management grant, HS256 secret. */
  readonly gateway: WebSocketGateway;
}

export interface HandlerWiring {
  readonly description: string;
  /** The contract variables the handler reads (`Env`), on top of `SHARED_ENVIRONMENT`. */
  environment(ctx: WiringContext): Record<string, string>;
  /** Exactly the operations the handler performs, and nothing else. */
  grant(ctx: WiringContext, fn: NodeFunction): void;
}

/** Release reported by the HTTP API's `GET /health`: the package version. */
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The token verifier's configuration, for every function that verifies tokens (WebSocket `auth`
 * and the HTTP API): the tenant claim, the optional issuer and audience, and the JWKS URL or the
 * secret's ARN (never the secret itself). One definition, so both sides verify alike.
 */
function tokenEnvironment({ config, gateway }: WiringContext): Record<string, string> {
  return {
    [Env.tenantClaim]: config.tenantClaim,
    ...(config.jwtIssuer ? { [Env.jwtIssuer]: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { [Env.jwtAudience]: config.jwtAudience } : {}),
    ...(config.jwksUrl ? { [Env.jwksUrl]: config.jwksUrl } : { [Env.jwtSecretArn]: hs256Secret(gateway).secretArn }),
  };
}

export const HANDLER_WIRING: { readonly [H in HandlerName]: HandlerWiring } = {
  [Handler.connect]: {
    description: `${Route.connect}: checks the Origin and records the connection as pending`,
    environment: ({ config, tables }) => ({
      [Env.connectionsTable]: tables.connections.tableName,
      [Env.authTimeoutSeconds]: String(config.authTimeoutSeconds),
      ...(config.allowedOrigins?.length ? { [Env.allowedOrigins]: config.allowedOrigins.join(',') } : {}),
    }),
    grant: ({ tables }, fn) => tables.grantConnections(fn.function, 'dynamodb:PutItem'),
  },
  [Handler.auth]: {
    description: `${Route.auth}: verifies the JWT and authenticates the connection`,
    environment: (ctx) => ({
      [Env.connectionsTable]: ctx.tables.connections.tableName,
      [Env.eventLogTable]: ctx.tables.eventLog.tableName,
      ...tokenEnvironment(ctx),
    }),
    grant: ({ tables, gateway }, fn) => {
      // One conditional update; a refused one is read back to say why (mismatch, expired, closed).
      tables.grantConnections(fn.function, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
      // The tenant's newest event id, returned in auth.success as a resume point.
      tables.grantEventLog(fn.function, 'dynamodb:Query');
      gateway.jwtSecret?.grantRead(fn.function);
    },
  },
  [Handler.default]: {
    description: `${Route.default}: explains frames that selected no route`,
    environment: () => ({}),
    grant: () => undefined,
  },
  [Handler.subscribe]: {
    description: `${Route.subscribe} / ${Route.unsubscribe}: changes the event types a connection receives`,
    environment: ({ tables }) => ({ [Env.connectionsTable]: tables.connections.tableName }),
    grant: ({ tables }, fn) => tables.grantConnections(fn.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem'),
  },
  [Handler.resume]: {
    description: `${Route.resume}: replays the tenant events logged after lastEventId`,
    environment: ({ tables, gateway }) => ({
      [Env.connectionsTable]: tables.connections.tableName,
      [Env.eventLogTable]: tables.eventLog.tableName,
      [Env.managementEndpoint]: gateway.stage.callbackUrl,
    }),
    grant: ({ tables, gateway }, fn) => {
      // UpdateItem: the rate limit, the sequence's paging state, marking a broken connection;
      // DeleteItem: forgetting an expired session (conditionally, as the broadcaster does).
      tables.grantConnections(fn.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
      tables.grantEventLog(fn.function, 'dynamodb:GetItem', 'dynamodb:Query');
      gateway.grantManageConnections(fn);
    },
  },
  [Handler.disconnect]: {
    description: `${Route.disconnect}: deletes the connection record`,
    environment: ({ tables }) => ({ [Env.connectionsTable]: tables.connections.tableName }),
    grant: ({ tables }, fn) => tables.grantConnections(fn.function, 'dynamodb:DeleteItem'),
  },
  [Handler.broadcaster]: {
    description: 'Fans a domain event out to the subscribed connections of its tenant and logs it for resume',
    environment: ({ config, tables, gateway }) => ({
      [Env.connectionsTable]: tables.connections.tableName,
      [Env.eventLogTable]: tables.eventLog.tableName,
      [Env.managementEndpoint]: gateway.stage.callbackUrl,
      [Env.eventRetentionHours]: String(config.eventRetentionHours),
      [Env.fanoutConcurrency]: String(config.fanoutConcurrency),
      ...(config.fanoutMaxRps !== undefined ? { [Env.fanoutMaxRps]: String(config.fanoutMaxRps) } : {}),
    }),
    grant: ({ tables, gateway }, fn) => {
      tables.grantQueryConnectionIndex(fn.function, TENANT_INDEX);
      tables.grantQueryConnectionIndex(fn.function, USER_INDEX);
      // UpdateItem: mark a connection broken when it missed an event and could not be closed.
      tables.grantConnections(fn.function, 'dynamodb:DeleteItem', 'dynamodb:UpdateItem');
      // GetItem: read the event's id marker; UpdateItem: point a retry's log copy at the first
      // copy. The broadcaster never reads the log by range (no Query).
      tables.grantEventLog(fn.function, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem');
      gateway.grantManageConnections(fn);
    },
  },
  [Handler.http]: {
    description: 'HTTP API: polling fallback (GET /events), presence, tenant status and health',
    environment: (ctx) => ({
      [Env.connectionsTable]: ctx.tables.connections.tableName,
      [Env.eventLogTable]: ctx.tables.eventLog.tableName,
      [Env.eventRetentionHours]: String(ctx.config.eventRetentionHours),
      [Env.statusRole]: ctx.config.statusRole,
      [Env.stage]: ctx.config.stage,
      [Env.appVersion]: PACKAGE_VERSION,
      ...tokenEnvironment(ctx),
    }),
    grant: ({ tables, gateway }, fn) => {
      // Events after a cursor (the id marker's GetItem, then range queries) and the newest event.
      tables.grantEventLog(fn.function, 'dynamodb:GetItem', 'dynamodb:Query');
      // Presence and status: the tenant's authenticated connections, from the sparse tenant index.
      tables.grantQueryConnectionIndex(fn.function, TENANT_INDEX);
      gateway.jwtSecret?.grantRead(fn.function);
    },
  },
  [Handler.sweeper]: {
    description: 'Closes pending connections past their auth deadline and sessions whose token expired',
    environment: ({ tables, gateway }) => ({
      [Env.connectionsTable]: tables.connections.tableName,
      [Env.managementEndpoint]: gateway.stage.callbackUrl,
    }),
    grant: ({ tables, gateway }, fn) => {
      tables.grantQueryConnectionIndex(fn.function, SWEEP_INDEX);
      tables.grantConnections(fn.function, 'dynamodb:DeleteItem');
      gateway.grantManageConnections(fn);
    },
  },
};

/** The HS256 secret; the auth function reads one whenever no JWKS URL is configured. */
function hs256Secret(gateway: WebSocketGateway) {
  if (!gateway.jwtSecret)
    throw new Error('handler wiring: no JWKS URL is configured, yet the gateway has no HS256 secret');
  return gateway.jwtSecret;
}

/**
 * Builds every function from `HANDLER_WIRING`, through the factories it hands out, and knows
 * which have been built: `all()` fails naming any handler that no construct asked for.
 */
export class HandlerFunctions {
  private readonly built = new Map<HandlerName, NodeFunction>();

  constructor(private readonly ctx: WiringContext) {}

  /** The factory a construct calls to build `handler`'s function. */
  public factory(handler: HandlerName): HandlerFunctionFactory {
    return (scope, id, sizing) => {
      if (this.built.has(handler)) throw new Error(`handler wiring: the "${handler}" function is already built`);
      const wiring = HANDLER_WIRING[handler];
      const fn = new NodeFunction(scope, id, {
        handlerName: handler,
        description: wiring.description,
        environment: wiring.environment(this.ctx),
        logRetention: this.ctx.config.logRetentionDays,
        removalPolicy: removalPolicyFor(this.ctx.config),
        ...sizing,
      });
      wiring.grant(this.ctx, fn);
      this.built.set(handler, fn);
      return fn;
    };
  }

  /** Every handler's function. */
  public all(): { readonly [H in HandlerName]: NodeFunction } {
    const missing = Object.values(Handler).filter((handler) => !this.built.has(handler));
    if (missing.length > 0) throw new Error(`handler wiring: no construct built the function of ${missing.join(', ')}`);
    return Object.fromEntries(this.built) as { readonly [H in HandlerName]: NodeFunction };
  }
}
