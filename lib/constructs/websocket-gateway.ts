/**
 * The API Gateway WebSocket API: routes built from the contract's `ROUTES`, one function per
 * handler behind them (with its environment and least-privilege grants), and a stage with
 * throttling and JSON access logs.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnRoute,
  LogGroupLogDestination,
  WebSocketApi,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_AUTH_TIMEOUT_SECONDS,
  DEFAULT_STAGE,
  DEFAULT_TENANT_CLAIM,
  Env,
  Handler,
  type HandlerName,
  ROUTE_KEYS,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
  Route,
  type RouteKey,
} from '../../lambdas/contract/index.js';
import { acknowledgeWildcardResources } from '../nag.js';
import { asInterface } from './cdk-interop.js';
import type { ConnectionStore } from './connection-store.js';
import { NodeFunction } from './node-function.js';

/** How the auth function verifies tokens: a JWKS URL, or an HS256 secret in Secrets Manager. */
export interface TokenVerification {
  /**
   * JWKS URL (https) for RS256/ES256 tokens. Exclusive with `secret`.
   * @default - HS256 with `secret`
   */
  readonly jwksUrl?: string;
  /**
   * Secret whose SecretString is the HS256 key. Exclusive with `jwksUrl`.
   * @default - a generated 64-character secret, unless `jwksUrl` is set
   */
  readonly secret?: secretsmanager.ISecret;
  /**
   * Token claim holding the tenant id.
   * @default DEFAULT_TENANT_CLAIM ('tenantId')
   */
  readonly tenantClaim?: string;
  /**
   * Required `iss` claim.
   * @default - any issuer
   */
  readonly issuer?: string;
  /**
   * Required `aud` claim.
   * @default - any audience
   */
  readonly audience?: string;
}

export interface WebSocketGatewayProps {
  /** Where connection records and the event log live. */
  readonly store: ConnectionStore;
  /** Token verification for the `auth` route. */
  readonly tokens: TokenVerification;
  /**
   * Stage name; part of the URL and of the management endpoint.
   * @default DEFAULT_STAGE ('dev')
   */
  readonly stageName?: string;
  /**
   * Stage default route throttling: steady-state requests per second.
   * @default 500
   */
  readonly throttleRateLimit?: number;
  /**
   * Stage default route throttling: burst size.
   * @default 1000
   */
  readonly throttleBurstLimit?: number;
  /**
   * Seconds a new connection has to authenticate.
   * @default DEFAULT_AUTH_TIMEOUT_SECONDS (30)
   */
  readonly authTimeoutSeconds?: number;
  /**
   * Origins allowed to connect.
   * @default - any Origin
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Retention of the access log group and of every function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to log groups and a generated secret when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What each route handler needs: its environment and its grants. Typed over every handler that
 * is not a background function, so a handler added to the contract's routes must be wired here.
 */
type RouteHandlerName = Exclude<HandlerName, typeof Handler.broadcaster | typeof Handler.sweeper>;
interface RouteFunctionSpec {
  readonly description: string;
  environment(gateway: WebSocketGateway): Record<string, string>;
  grant(gateway: WebSocketGateway, fn: NodeFunction): void;
}

const ROUTE_FUNCTIONS: { readonly [H in RouteHandlerName]: RouteFunctionSpec } = {
  [Handler.connect]: {
    description: `${Route.connect}: checks the Origin and records the connection as pending`,
    environment: (g) => ({
      [Env.connectionsTable]: g.store.connections.tableName,
      [Env.authTimeoutSeconds]: String(g.authTimeoutSeconds),
      ...(g.allowedOrigins ? { [Env.allowedOrigins]: g.allowedOrigins.join(',') } : {}),
    }),
    grant: (g, fn) => g.store.grantConnections(fn.function, 'dynamodb:PutItem'),
  },
  [Handler.auth]: {
    description: `${Route.auth}: verifies the JWT and authenticates the connection`,
    environment: (g) => ({
      [Env.connectionsTable]: g.store.connections.tableName,
      [Env.eventLogTable]: g.store.eventLog.tableName,
      [Env.tenantClaim]: g.tokens.tenantClaim,
      ...(g.tokens.issuer ? { [Env.jwtIssuer]: g.tokens.issuer } : {}),
      ...(g.tokens.audience ? { [Env.jwtAudience]: g.tokens.audience } : {}),
      ...(g.tokens.jwksUrl ? { [Env.jwksUrl]: g.tokens.jwksUrl } : { [Env.jwtSecretArn]: g.requireSecret().secretArn }),
    }),
    grant: (g, fn) => {
      // One conditional update; a refused one is read back to say why (mismatch, expired, closed).
      g.store.grantConnections(fn.function, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
      // The tenant's newest event id, returned in auth.success as a resume point.
      g.store.grantEventLog(fn.function, 'dynamodb:Query');
      g.jwtSecret?.grantRead(fn.function);
    },
  },
  [Handler.ping]: {
    description: `${Route.ping}: application keep-alive`,
    // Reads the record: an expired session's ping is answered auth.expired.
    environment: (g) => ({ [Env.connectionsTable]: g.store.connections.tableName }),
    grant: (g, fn) => g.store.grantConnections(fn.function, 'dynamodb:GetItem'),
  },
  [Handler.default]: {
    description: `${Route.default}: explains frames that selected no route`,
    environment: () => ({}),
    grant: () => undefined,
  },
  [Handler.subscribe]: {
    description: `${Route.subscribe} / ${Route.unsubscribe}: changes the event types a connection receives`,
    environment: (g) => ({ [Env.connectionsTable]: g.store.connections.tableName }),
    grant: (g, fn) => g.store.grantConnections(fn.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem'),
  },
  [Handler.resume]: {
    description: `${Route.resume}: replays the tenant events logged after lastEventId`,
    environment: (g) => ({
      [Env.connectionsTable]: g.store.connections.tableName,
      [Env.eventLogTable]: g.store.eventLog.tableName,
      [Env.managementEndpoint]: g.stage.callbackUrl,
    }),
    grant: (g, fn) => {
      // UpdateItem: the rate limit, the sequence's paging state, marking a broken connection;
      // DeleteItem: forgetting an expired session (conditionally, as the broadcaster does).
      g.store.grantConnections(fn.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
      g.store.grantEventLog(fn.function, 'dynamodb:GetItem', 'dynamodb:Query');
      grantManageConnections(g.stage, fn);
    },
  },
  [Handler.disconnect]: {
    description: `${Route.disconnect}: deletes the connection record`,
    environment: (g) => ({ [Env.connectionsTable]: g.store.connections.tableName }),
    grant: (g, fn) => g.store.grantConnections(fn.function, 'dynamodb:DeleteItem'),
  },
};

/**
 * `execute-api:ManageConnections` on the stage's `@connections` resources only
 * (`stage.grantManagementApiAccess`), and the acknowledgement of the wildcard that remains.
 */
export function grantManageConnections(stage: WebSocketStage, fn: NodeFunction): iam.Grant {
  const grant = stage.grantManagementApiAccess(fn.function);
  acknowledgeWildcardResources(
    fn.role,
    grant,
    'grantManagementApiAccess scopes execute-api:ManageConnections to this API and this stage; the remaining wildcards are the ' +
      'connection id (a new random id per connection, unknowable at deploy time) and the HTTP method (POST to send, DELETE to close, GET to inspect).',
  );
  return grant;
}

/** Access log line: one JSON object per request, never a message body (it may hold a token). */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    requestTime: '$context.requestTime',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    connectionId: '$context.connectionId',
    messageId: '$context.messageId',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integration.status',
    integrationError: '$context.integration.error',
    error: '$context.error.message',
  }),
);

const APIG4_REASON = {
  connect:
    'Browsers cannot send an Authorization header (or any custom header) on the WebSocket handshake, and a token in the query string would end up in access logs. ' +
    'Authentication is a post-connect `auth` message whose JWT the auth function verifies with jose; until then the connection is pending ' +
    '(no tenantId, so it is absent from the tenant index and receives no events) and the sweeper closes it at its auth deadline.',
  message:
    'API Gateway WebSocket APIs accept an authorizer on $connect only; this route runs on an already accepted connection. ' +
    'Its handler authorizes per message from the connection record: only an authenticated record (set by the `auth` route after jose verifies the JWT) may subscribe or resume, ' +
    'and unauthenticated connections are closed by the sweeper at their auth deadline.',
} as const;

export class WebSocketGateway extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly accessLogGroup: logs.LogGroup;
  /** One function per route handler (`subscribe` serves two routes). */
  public readonly functions: ReadonlyMap<HandlerName, NodeFunction>;
  public readonly routes: ReadonlyMap<RouteKey, WebSocketRoute>;
  /** The HS256 secret (generated or imported); undefined when tokens are verified with a JWKS URL. */
  public readonly jwtSecret?: secretsmanager.ISecret;

  public readonly store: ConnectionStore;
  public readonly tokens: Required<Pick<TokenVerification, 'tenantClaim'>> & TokenVerification;
  public readonly authTimeoutSeconds: number;
  public readonly allowedOrigins?: readonly string[];

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps) {
    super(scope, id);
    if (props.tokens.jwksUrl !== undefined && props.tokens.secret !== undefined) {
      throw new Error('WebSocketGateway: set either tokens.jwksUrl or tokens.secret, not both');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.store = props.store;
    this.tokens = { ...props.tokens, tenantClaim: props.tokens.tenantClaim ?? DEFAULT_TENANT_CLAIM };
    this.authTimeoutSeconds = props.authTimeoutSeconds ?? DEFAULT_AUTH_TIMEOUT_SECONDS;
    if (props.allowedOrigins && props.allowedOrigins.length > 0) this.allowedOrigins = props.allowedOrigins;

    if (props.tokens.jwksUrl === undefined)
      this.jwtSecret = props.tokens.secret ?? asInterface<secretsmanager.ISecret>(this.generateSecret(removalPolicy));

    this.api = new WebSocketApi(this, 'Api', {
      description: 'Tenant real-time events over WebSocket',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    // API Gateway writes WebSocket logs with the account's API Gateway CloudWatch role
    // (AWS::ApiGateway::Account, set once per account and region), not with a resource policy.
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? DEFAULT_STAGE,
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 500, burstLimit: props.throttleBurstLimit ?? 1000 },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogGroup), format: ACCESS_LOG_FORMAT },
    });

    const functions = new Map<HandlerName, NodeFunction>();
    const routes = new Map<RouteKey, WebSocketRoute>();
    for (const routeKey of ROUTE_KEYS) {
      const { handler, returnResponse } = ROUTES[routeKey];
      let fn = functions.get(handler);
      if (!fn) {
        fn = this.routeFunction(handler, removalPolicy, logRetention);
        functions.set(handler, fn);
      }
      const route = this.api.addRoute(routeKey, {
        integration: new WebSocketLambdaIntegration(`${routeKey}-Integration`, fn.function),
        returnResponse,
      });
      Validations.of(route.node.defaultChild as CfnRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: routeKey === Route.connect ? APIG4_REASON.connect : APIG4_REASON.message,
      });
      routes.set(routeKey, route);
    }
    this.functions = functions;
    this.routes = routes;
  }

  /** The function behind a route handler; throws for a handler no route uses. */
  public functionFor(handler: HandlerName): NodeFunction {
    const fn = this.functions.get(handler);
    if (!fn) throw new Error(`WebSocketGateway: no route is served by the "${handler}" handler`);
    return fn;
  }

  private routeFunction(
    handler: HandlerName,
    removalPolicy: RemovalPolicy,
    logRetention: logs.RetentionDays,
  ): NodeFunction {
    const spec = (ROUTE_FUNCTIONS as Partial<Record<HandlerName, RouteFunctionSpec>>)[handler];
    if (!spec)
      throw new Error(`WebSocketGateway: the "${handler}" handler serves a route but has no wiring in ROUTE_FUNCTIONS`);
    // `<Name>Handler`: a construct id of plain `Default` would vanish from logical ids.
    const fn = new NodeFunction(this, `${handler.charAt(0).toUpperCase()}${handler.slice(1)}Handler`, {
      handlerName: handler,
      description: spec.description,
      environment: spec.environment(this),
      logRetention,
      removalPolicy,
    });
    spec.grant(this, fn);
    return fn;
  }

  /** The HS256 secret; only called where no JWKS URL is configured, so one always exists. */
  requireSecret(): secretsmanager.ISecret {
    if (!this.jwtSecret) throw new Error('WebSocketGateway: no HS256 secret (a JWKS URL is configured)');
    return this.jwtSecret;
  }

  private generateSecret(removalPolicy: RemovalPolicy): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'JwtSecret', {
      description: 'HS256 key that signs client tokens; the auth function reads it, token issuers sign with it',
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
      removalPolicy,
    });
    Validations.of(secret.node.defaultChild as secretsmanager.CfnSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A shared HS256 signing key cannot rotate on a schedule without a rotation function that also re-keys every token issuer; ' +
        'an uncoordinated rotation would reject every live session. Rotate it manually (put a new value, re-key issuers): the auth function ' +
        're-reads the secret every 15 minutes. Deployments that need rotation use jwksUrl (asymmetric keys rotated by the identity provider).',
    });
    return secret;
  }
}
