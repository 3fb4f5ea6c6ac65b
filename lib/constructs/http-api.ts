/**
 * The HTTP side next to the WebSocket: an API Gateway HTTP API whose routes come from the
 * contract's `HTTP_ROUTES`, all served by one `http` function (payload format 2.0) that verifies
 * bearer tokens with the same verifier module and configuration as the WebSocket `auth` route;
 * a throttled `$default` stage with JSON access logs; CORS from the same origin allowlist as
 * `$connect`.
 */
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
import { Construct } from 'constructs';
import {
  HTTP_CORS,
  HTTP_ROUTE_NAMES,
  HTTP_ROUTES,
  type HttpRouteName,
  SETTINGS,
} from '../../lambdas/contract/index.js';
import type { HandlerFunctionFactory, NodeFunction } from './node-function.js';

export interface HttpApiGatewayProps {
  /**
   * Builds the one function behind every route (`HANDLER_WIRING.http`: its environment, the
   * same token verification as WebSocket `auth`, and its grants).
   */
  readonly handler: HandlerFunctionFactory;
  /**
   * Origins allowed by CORS.
   * @default - any origin
   */
  readonly allowedOrigins?: readonly string[] | undefined;
  /**
   * Stage default route throttling: steady-state requests per second.
   * @default SETTINGS.throttleRateLimit.default
   */
  readonly throttleRateLimit?: number | undefined;
  /**
   * Stage default route throttling: burst size.
   * @default SETTINGS.throttleBurstLimit.default
   */
  readonly throttleBurstLimit?: number | undefined;
  /**
   * Retention of the access log group.
   * @default SETTINGS.logRetentionDays.default
   */
  readonly logRetention?: logs.RetentionDays | undefined;
  /**
   * What happens to the access log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
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
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? SETTINGS.logRetentionDays.default;

    this.handler = props.handler(this, 'Handler');

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
      throttle: {
        rateLimit: props.throttleRateLimit ?? SETTINGS.throttleRateLimit.default,
        burstLimit: props.throttleBurstLimit ?? SETTINGS.throttleBurstLimit.default,
      },
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
