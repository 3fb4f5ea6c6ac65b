/**
 * The HTTP side next to the WebSocket: an API Gateway HTTP API whose routes come from the
 * contract's `HTTP_ROUTES`, all served by one `http` function (payload format 2.0) that verifies
 * bearer tokens with the same verifier module and configuration as the WebSocket `auth` route;
 * a throttled `$default` stage with JSON access logs; CORS from the same origin allowlist as
 * `$connect`.
 */
import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnRoute,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_STAGE,
  DEFAULT_STATUS_ROLE,
  DEFAULT_TENANT_CLAIM,
  Env,
  HTTP_CORS,
  HTTP_ROUTE_NAMES,
  HTTP_ROUTES,
  type HttpRouteName,
  TENANT_INDEX,
} from '../../lambdas/contract/index.js';
import type { ConnectionStore } from './connection-store.js';
import { NodeFunction } from './node-function.js';
import type { TokenVerification } from './websocket-gateway.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface HttpApiGatewayProps {
  /** Where connection records (tenant index, for presence) and the event log live. */
  readonly store: ConnectionStore;
  /** Token verification: pass the WebSocket gateway's, so both sides verify alike. */
  readonly tokens: TokenVerification;
  /**
   * The HS256 secret; required unless `tokens.jwksUrl` is set.
   * @default - none (tokens are verified against `tokens.jwksUrl`)
   */
  readonly jwtSecret?: secretsmanager.ISecret;
  /**
   * Deployment stage reported by `GET /health` (the HTTP API itself serves the `$default` stage).
   * @default DEFAULT_STAGE ('dev')
   */
  readonly stageName?: string;
  /**
   * Token role allowed on `GET /status` and `GET /health?deep=1`.
   * @default DEFAULT_STATUS_ROLE ('admin')
   */
  readonly statusRole?: string;
  /**
   * Hours the event log keeps events (reported by `GET /status`; an older `since` is a gap).
   * @default DEFAULT_EVENT_RETENTION_HOURS (24)
   */
  readonly eventRetentionHours?: number;
  /**
   * Origins allowed by CORS.
   * @default - any origin
   */
  readonly allowedOrigins?: readonly string[];
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
   * Release reported by `GET /health`.
   * @default - the `version` of package.json
   */
  readonly version?: string;
  /**
   * Retention of the access log group and of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The token verifier's environment, as the `auth` function gets it: the tenant claim, the
 * optional issuer and audience, and the JWKS URL or the secret's ARN (never the secret itself).
 */
export function tokenVerificationEnvironment(
  tokens: TokenVerification,
  secret: secretsmanager.ISecret | undefined,
): Record<string, string> {
  if (tokens.jwksUrl === undefined && secret === undefined)
    throw new Error('tokenVerificationEnvironment: tokens need a jwksUrl or a secret');
  return {
    [Env.tenantClaim]: tokens.tenantClaim ?? DEFAULT_TENANT_CLAIM,
    ...(tokens.issuer ? { [Env.jwtIssuer]: tokens.issuer } : {}),
    ...(tokens.audience ? { [Env.jwtAudience]: tokens.audience } : {}),
    ...(tokens.jwksUrl ? { [Env.jwksUrl]: tokens.jwksUrl } : { [Env.jwtSecretArn]: secret?.secretArn ?? '' }),
  };
}

/** Access log line: one JSON object per request; never a header or a query string (tokens, cursors). */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    protocol: '$context.protocol',
    status: '$context.status',
    responseLength: '$context.responseLength',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    error: '$context.error.message',
  }),
);

const APIG4_REASON = {
  public:
    'GET /health is a liveness probe for load balancers and uptime checks, so anyone may call it; it makes no database call and reveals only the stage and release. ' +
    'Its deep variant (?deep=1) is authorized in the function: a bearer JWT verified with jose, holding the status role.',
  authenticated:
    'The http function authorizes every request itself: it verifies the bearer JWT with the same jose verifier module and configuration as the WebSocket auth route ' +
    '(HS256 secret from Secrets Manager or JWKS with issuer, tenant and sub claims validated, the same error codes), then reads only the token tenant partition. ' +
    'An API Gateway JWT authorizer cannot replace it: it accepts only RSA-signed tokens from an issuer with a JWKS endpoint, so it would refuse the HS256 deployments, ' +
    'and it would not validate the tenant claim or answer the auth.error codes clients already handle.',
} as const;

export class HttpApiGateway extends Construct {
  public readonly api: HttpApi;
  /** The `$default` stage: `url` is `https://{apiId}.execute-api.{region}.{suffix}/`. */
  public readonly stage: HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  /** The one function behind every route. */
  public readonly handler: NodeFunction;
  public readonly routes: ReadonlyMap<HttpRouteName, HttpRoute>;

  constructor(scope: Construct, id: string, props: HttpApiGatewayProps) {
    super(scope, id);
    if (props.tokens.jwksUrl !== undefined && props.jwtSecret !== undefined)
      throw new Error('HttpApiGateway: set either tokens.jwksUrl or jwtSecret, not both');
    if (props.tokens.jwksUrl === undefined && props.jwtSecret === undefined)
      throw new Error('HttpApiGateway: tokens need a jwksUrl, or pass the HS256 jwtSecret');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const { store } = props;

    this.handler = new NodeFunction(this, 'Handler', {
      handlerName: HTTP_ROUTES.health.handler,
      description: 'HTTP API: polling fallback (GET /events), presence, tenant status and health',
      logRetention,
      removalPolicy,
      environment: {
        [Env.connectionsTable]: store.connections.tableName,
        [Env.eventLogTable]: store.eventLog.tableName,
        [Env.eventRetentionHours]: String(props.eventRetentionHours ?? DEFAULT_EVENT_RETENTION_HOURS),
        [Env.statusRole]: props.statusRole ?? DEFAULT_STATUS_ROLE,
        [Env.stage]: props.stageName ?? DEFAULT_STAGE,
        [Env.appVersion]: props.version ?? PACKAGE_VERSION,
        ...tokenVerificationEnvironment(props.tokens, props.jwtSecret),
      },
    });
    // Events after a cursor (the id marker's GetItem, then range queries) and the newest event.
    store.grantEventLog(this.handler.function, 'dynamodb:GetItem', 'dynamodb:Query');
    // Presence and status: the tenant's authenticated connections, from the sparse tenant index.
    store.grantQueryConnectionIndex(this.handler.function, TENANT_INDEX);
    props.jwtSecret?.grantRead(this.handler.function);

    this.api = new HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-http`,
      description: 'Tenant real-time HTTP API: polling fallback, presence, status, health',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.allowedOrigins && props.allowedOrigins.length > 0 ? [...props.allowedOrigins] : ['*'],
        allowMethods: HTTP_CORS.allowMethods.map((method) => CorsHttpMethod[method]),
        allowHeaders: [...HTTP_CORS.allowHeaders],
        maxAge: Duration.seconds(HTTP_CORS.maxAgeSeconds),
      },
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 500, burstLimit: props.throttleBurstLimit ?? 1000 },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogGroup), format: ACCESS_LOG_FORMAT },
    });

    const integration = new HttpLambdaIntegration('Integration', this.handler.function);
    const routes = new Map<HttpRouteName, HttpRoute>();
    for (const name of HTTP_ROUTE_NAMES) {
      const spec = HTTP_ROUTES[name];
      const [route] = this.api.addRoutes({ path: spec.path, methods: [HttpMethod[spec.method]], integration });
      if (!route) throw new Error(`HttpApiGateway: no route created for ${spec.routeKey}`);
      Validations.of(route.node.defaultChild as CfnRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: spec.access === 'public' ? APIG4_REASON.public : APIG4_REASON.authenticated,
      });
      routes.set(name, route);
    }
    this.routes = routes;
  }
}
