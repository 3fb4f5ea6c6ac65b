/**
 * The API Gateway WebSocket API: a stage with throttling and JSON access logs, the routes of the
 * contract's `ROUTES` to one function per handler, the HS256 key (unless a JWKS URL verifies
 * tokens) and the grant to manage the stage's connections.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnIntegrationResponse,
  type CfnRoute,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketIntegration,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration, WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_STAGE,
  type HandlerName,
  LAMBDA_ROUTE_KEYS,
  MOCK_ROUTE_KEYS,
  MOCK_ROUTES,
  type MockRouteKey,
  ROUTE_KEYS,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
  Route,
  type RouteKey,
  SETTINGS,
} from '../../lambdas/contract/index.js';
import { acknowledgeWildcardResources } from '../nag.js';
import { asInterface } from './cdk-interop.js';
import type { HandlerFunctionFactory, NodeFunction } from './node-function.js';

/**
 * Where the auth function's token key comes from: a JWKS URL, or an HS256 secret in Secrets
 * Manager. Neither: the gateway generates a secret.
 */
export interface TokenKeySource {
  /**
   * JWKS URL (https) for RS256/ES256 tokens. Exclusive with `secret`.
   * @default - HS256 with `secret`
   */
  readonly jwksUrl?: string | undefined;
  /**
   * Secret whose SecretString is the HS256 key. Exclusive with `jwksUrl`.
   * @default - a generated 64-character secret, unless `jwksUrl` is set
   */
  readonly secret?: secretsmanager.ISecret | undefined;
}

export interface WebSocketGatewayProps {
  /**
   * The auth function's token key; decides whether the gateway generates an HS256 secret.
   * @default - a generated HS256 secret
   */
  readonly tokens?: TokenKeySource | undefined;
  /**
   * Stage name; part of the URL and of the management endpoint.
   * @default DEFAULT_STAGE ('dev')
   */
  readonly stageName?: string | undefined;
  /**
   * Stage default route throttling: steady-state requests per second.
   * @default SETTINGS.throttleRateLimit.default (500)
   */
  readonly throttleRateLimit?: number | undefined;
  /**
   * Stage default route throttling: burst size.
   * @default SETTINGS.throttleBurstLimit.default (1000)
   */
  readonly throttleBurstLimit?: number | undefined;
  /**
   * Retention of the access log group.
   * @default SETTINGS.logRetentionDays.default (RetentionDays.ONE_MONTH)
   */
  readonly logRetention?: logs.RetentionDays | undefined;
  /**
   * What happens to the access log group and a generated secret when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
}

/** The handlers behind the contract's routes, in route order (`subscribe` serves two routes). */
export const ROUTE_HANDLERS: readonly HandlerName[] = [...new Set(LAMBDA_ROUTE_KEYS.map((key) => ROUTES[key].handler))];

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
  mock:
    'API Gateway WebSocket APIs accept an authorizer on $connect only; this route runs on an already accepted connection. ' +
    'It is a MOCK integration that answers a constant `pong` stamped with the request time: it reads and changes nothing, so it has nothing to authorize.',
  message:
    'API Gateway WebSocket APIs accept an authorizer on $connect only; this route runs on an already accepted connection. ' +
    'Its handler authorizes per message from the connection record: only an authenticated record (set by the `auth` route after jose verifies the JWT) may subscribe or resume, ' +
    'and unauthenticated connections are closed by the sweeper at their auth deadline.',
} as const;

/** The one template key of MOCK routes: request and response templates are selected by it. */
const MOCK_TEMPLATE_KEY = '$default';

/**
 * The WebSocket API and its stage. Route functions are added with `addRouteHandler`, one per
 * handler of the contract's `ROUTES`; synth fails while a route has none.
 */
export class WebSocketGateway extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly accessLogGroup: logs.LogGroup;
  /** The HS256 secret (generated or imported); undefined when tokens are verified with a JWKS URL. */
  public readonly jwtSecret?: secretsmanager.ISecret;

  /** One function per route handler, and the routes to it. */
  private readonly functions = new Map<HandlerName, NodeFunction>();
  private readonly routes = new Map<RouteKey, WebSocketRoute>();

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps = {}) {
    super(scope, id);
    const tokens = props.tokens ?? {};
    if (tokens.jwksUrl !== undefined && tokens.secret !== undefined) {
      throw new Error('WebSocketGateway: set either tokens.jwksUrl or tokens.secret, not both');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    if (tokens.jwksUrl === undefined)
      this.jwtSecret = tokens.secret ?? asInterface<secretsmanager.ISecret>(this.generateSecret(removalPolicy));

    this.api = new WebSocketApi(this, 'Api', {
      description: 'Tenant real-time events over WebSocket',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? SETTINGS.logRetentionDays.default,
      removalPolicy,
    });
    // API Gateway writes WebSocket logs with the account's API Gateway CloudWatch role
    // (AWS::ApiGateway::Account, set once per account and region), not with a resource policy.
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? DEFAULT_STAGE,
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttleRateLimit ?? SETTINGS.throttleRateLimit.default,
        burstLimit: props.throttleBurstLimit ?? SETTINGS.throttleBurstLimit.default,
      },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogGroup), format: ACCESS_LOG_FORMAT },
    });

    for (const routeKey of MOCK_ROUTE_KEYS) this.addMockRoute(routeKey);

    this.node.addValidation({
      validate: () => {
        const missing = ROUTE_KEYS.filter((key) => !this.routes.has(key));
        return missing.length === 0
          ? []
          : [`WebSocketGateway: no function serves the route(s) ${missing.join(', ')}; call addRouteHandler`];
      },
    });
  }

  /**
   * Builds the function of a route handler with `build` (as this construct's child
   * `<Handler>Handler`) and routes every contract route that the handler serves to it.
   */
  public addRouteHandler(handler: HandlerName, build: HandlerFunctionFactory): NodeFunction {
    const routeKeys = LAMBDA_ROUTE_KEYS.filter((key) => ROUTES[key].handler === handler);
    if (routeKeys.length === 0) throw new Error(`WebSocketGateway: no route is served by the "${handler}" handler`);
    if (this.functions.has(handler)) throw new Error(`WebSocketGateway: the "${handler}" handler is already added`);
    // `<Name>Handler`: a construct id of plain `Default` would vanish from logical ids.
    const fn = build(this, `${handler.charAt(0).toUpperCase()}${handler.slice(1)}Handler`);
    if (fn.handlerName !== handler) {
      throw new Error(`WebSocketGateway: asked for the "${handler}" handler, built a "${fn.handlerName}" function`);
    }
    this.functions.set(handler, fn);
    for (const routeKey of routeKeys) {
      const route = this.api.addRoute(routeKey, {
        integration: new WebSocketLambdaIntegration(`${routeKey}-Integration`, fn.function),
        returnResponse: ROUTES[routeKey].returnResponse,
      });
      Validations.of(route.node.defaultChild as CfnRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: routeKey === Route.connect ? APIG4_REASON.connect : APIG4_REASON.message,
      });
      this.routes.set(routeKey, route);
    }
    return fn;
  }

  /**
   * A route API Gateway answers itself (the contract's `MOCK_ROUTES`): a MOCK integration that
   * always succeeds, an integration response rendering the reply template, and the route
   * response that returns it to the client.
   */
  private addMockRoute(routeKey: MockRouteKey): void {
    const id = `${routeKey}-MockIntegration`;
    const route = this.api.addRoute(routeKey, {
      integration: new WebSocketMockIntegration(id, {
        requestTemplates: { [MOCK_TEMPLATE_KEY]: '{"statusCode":200}' },
        templateSelectionExpression: MOCK_TEMPLATE_KEY,
      }),
      returnResponse: true,
    });
    const integration = [route, this.api]
      .map((scope) => scope.node.tryFindChild(id))
      .find((child): child is WebSocketIntegration => child instanceof WebSocketIntegration);
    if (!integration) throw new Error(`WebSocketGateway: the MOCK integration of ${routeKey} was not created`);
    new CfnIntegrationResponse(route, 'IntegrationResponse', {
      apiId: this.api.apiId,
      integrationId: integration.integrationId,
      integrationResponseKey: MOCK_TEMPLATE_KEY,
      templateSelectionExpression: MOCK_TEMPLATE_KEY,
      responseTemplates: { [MOCK_TEMPLATE_KEY]: MOCK_ROUTES[routeKey].responseTemplate },
    });
    Validations.of(route.node.defaultChild as CfnRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: APIG4_REASON.mock,
    });
    this.routes.set(routeKey, route);
  }

  /** The function behind a route handler; throws for a handler no route uses or not added yet. */
  public functionFor(handler: HandlerName): NodeFunction {
    const fn = this.functions.get(handler);
    if (!fn) throw new Error(`WebSocketGateway: no function serves the "${handler}" handler`);
    return fn;
  }

  /**
   * Lets `fn` send to, inspect and close this stage's connections: `execute-api:ManageConnections`
   * on the stage's `@connections` resources only (`stage.grantManagementApiAccess`), with the
   * cdk-nag acknowledgement of the wildcard that remains.
   */
  public grantManageConnections(fn: NodeFunction): iam.Grant {
    const grant = this.stage.grantManagementApiAccess(fn.function);
    acknowledgeWildcardResources(
      fn.role,
      grant,
      'grantManagementApiAccess scopes execute-api:ManageConnections to this API and this stage; the remaining wildcards are the ' +
        'connection id (a new random id per connection, unknowable at deploy time) and the HTTP method (POST to send, DELETE to close, GET to inspect).',
    );
    return grant;
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
