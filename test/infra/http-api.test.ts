/**
 * The HTTP API in the template: API, routes from the contract, integration (payload 2.0), the
 * function's environment and grants, CORS, stage throttling, access logs and the output; once
 * with every option at its default and once configured.
 */
import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_STATUS_ROLE,
  Env,
  Handler,
  HTTP_CORS,
  HTTP_ROUTE_NAMES,
  HTTP_ROUTES,
  TENANT_INDEX,
} from '../../lambdas/contract/index.js';
import type { RealtimeStack } from '../../lib/realtime-stack.js';
import { actionsOf, buildStack, policyStatements, referencedIds, resourcesOf } from './helpers.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const ROUTE_KEYS = HTTP_ROUTE_NAMES.map((name) => HTTP_ROUTES[name].routeKey);
const TOKEN_ENV = [Env.tenantClaim, Env.jwtIssuer, Env.jwtAudience, Env.jwksUrl, Env.jwtSecretArn, Env.jwtSecret];

function helpers(stack: RealtimeStack, template: Template) {
  const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation resource properties, read by many differently shaped assertions
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const env = (construct: IConstruct): Record<string, unknown> =>
    resources[idOf(construct)]!.Properties.Environment.Variables;
  const httpRoutes = () =>
    Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: idOf(stack.httpApi.api) } } }),
    );
  return { idOf, resources, env, httpRoutes };
}

describe('HTTP API, defaults', () => {
  let stack: RealtimeStack;
  let template: Template;
  let h: ReturnType<typeof helpers>;
  beforeAll(() => {
    ({ stack, template } = buildStack());
    h = helpers(stack, template);
  });

  it('is an HTTP API that allows any origin, GET and OPTIONS, and the Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      Name: 'TenantRealtime-dev-http',
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowMethods: ['GET', 'OPTIONS'],
        AllowHeaders: ['authorization'],
        MaxAge: HTTP_CORS.maxAgeSeconds,
      },
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
  });

  it('has exactly the contract routes, all without an API Gateway authorizer', () => {
    expect(
      h
        .httpRoutes()
        .map((r) => r.Properties.RouteKey)
        .sort(),
    ).toEqual([...ROUTE_KEYS].sort());
    for (const route of h.httpRoutes()) expect(route.Properties.AuthorizationType).toBe('NONE');
  });

  it('sends every route to the http function with payload format 2.0', () => {
    for (const route of h.httpRoutes()) {
      const [integrationId] = [...referencedIds(route.Properties.Target)];
      const integration = h.resources[integrationId!]!;
      expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      expect([...referencedIds(integration.Properties.IntegrationUri)]).toEqual([
        h.idOf(stack.httpApi.handler.function),
      ]);
    }
  });

  it.each(HTTP_ROUTE_NAMES)('lets API Gateway invoke the function for GET /%s only', (name) => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [h.idOf(stack.httpApi.handler.function), 'Arn'] },
      SourceArn: {
        'Fn::Join': ['', Match.arrayWith([{ Ref: h.idOf(stack.httpApi.api) }, `/*/*${HTTP_ROUTES[name].path}`])],
      },
    });
  });

  it('deploys the $default stage automatically, throttled, with JSON access logs of no header or query string', () => {
    const [stage] = Object.values(
      template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: { Ref: h.idOf(stack.httpApi.api) } } }),
    );
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [h.idOf(stack.httpApi.accessLogGroup), 'Arn'] } },
    });
    const format = JSON.parse(stage!.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      path: '$context.path',
      integrationError: '$context.integrationErrorMessage',
    });
    for (const value of Object.values(format)) {
      expect(value).toMatch(/^\$context\./);
      expect(value).not.toMatch(/header|querystring|authorizer|body/i);
    }
    expect(h.resources[h.idOf(stack.httpApi.accessLogGroup)]!.Properties.RetentionInDays).toBe(30);
  });

  it('configures the function like the auth function for tokens, plus what the routes report', () => {
    const vars = h.env(stack.httpApi.handler.function);
    expect(vars).toMatchObject({
      [Env.connectionsTable]: { Ref: h.idOf(stack.tables.connections) },
      [Env.eventLogTable]: { Ref: h.idOf(stack.tables.eventLog) },
      [Env.eventRetentionHours]: '24',
      [Env.statusRole]: DEFAULT_STATUS_ROLE,
      [Env.stage]: 'dev',
      [Env.appVersion]: VERSION,
    });
    const auth = h.env(stack.gateway.functionFor(Handler.auth).function);
    const tokenEnv = (v: Record<string, unknown>) =>
      Object.fromEntries(TOKEN_ENV.filter((n) => n in v).map((n) => [n, v[n]]));
    expect(tokenEnv(vars)).toEqual(tokenEnv(auth));
    expect(tokenEnv(vars)).toEqual({
      [Env.tenantClaim]: 'tenantId',
      [Env.jwtSecretArn]: { Ref: h.idOf(stack.gateway.jwtSecret! as unknown as IConstruct) },
    });
  });

  it('puts no secret value in the environment: only the ARN, as for auth', () => {
    const text = JSON.stringify(h.env(stack.httpApi.handler.function));
    expect(text).not.toMatch(/resolve:secretsmanager|SecretString|JWT_SECRET"/);
  });

  it('grants the function exactly its reads: event log items, the tenant index, the secret, its log group', () => {
    const role = h.idOf(stack.httpApi.handler.role);
    const grants = policyStatements(template)
      .filter(({ roles }) => roles.includes(role))
      .flatMap(({ statement }) =>
        actionsOf(statement).flatMap((action) => resourcesOf(statement).map((r) => `${action} ${JSON.stringify(r)}`)),
      )
      .sort();
    const arn = (construct: IConstruct) => JSON.stringify({ 'Fn::GetAtt': [h.idOf(construct), 'Arn'] });
    const secret = JSON.stringify({ Ref: h.idOf(stack.gateway.jwtSecret! as unknown as IConstruct) });
    const tenantIndex = JSON.stringify({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [h.idOf(stack.tables.connections), 'Arn'] }, `/index/${TENANT_INDEX}`]],
    });
    expect(grants).toEqual(
      [
        `dynamodb:GetItem ${arn(stack.tables.eventLog)}`,
        `dynamodb:Query ${arn(stack.tables.eventLog)}`,
        `dynamodb:Query ${tenantIndex}`,
        `logs:CreateLogStream ${arn(stack.httpApi.handler.logGroup)}`,
        `logs:PutLogEvents ${arn(stack.httpApi.handler.logGroup)}`,
        `secretsmanager:DescribeSecret ${secret}`,
        `secretsmanager:GetSecretValue ${secret}`,
      ].sort(),
    );
  });

  it('alarms when the http function is throttled', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: h.idOf(stack.httpApi.handler.function) } }],
    });
  });

  it('outputs the HTTP API URL', () => {
    template.hasOutput('HttpApiUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: h.idOf(stack.httpApi.api) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
          ],
        ],
      },
    });
  });
});

describe('HTTP API, configured', () => {
  const CONTEXT = {
    stage: 'prod',
    jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
    jwtIssuer: 'https://issuer.example.com/',
    jwtAudience: 'realtime',
    tenantClaim: 'org',
    allowedOrigins: 'https://app.example.com, https://admin.example.com',
    eventRetentionHours: '48',
    throttleRateLimit: '50',
    throttleBurstLimit: '100',
    statusRole: ' ops ',
  };
  let stack: RealtimeStack;
  let template: Template;
  let h: ReturnType<typeof helpers>;
  beforeAll(() => {
    ({ stack, template } = buildStack(CONTEXT));
    h = helpers(stack, template);
  });

  it('allows only the configured origins', () => {
    expect(h.resources[h.idOf(stack.httpApi.api)]!.Properties.CorsConfiguration).toMatchObject({
      AllowOrigins: ['https://app.example.com', 'https://admin.example.com'],
    });
  });

  it('throttles its stage with the configured limits', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: h.idOf(stack.httpApi.api) },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('verifies tokens with the JWKS URL, issuer, audience and tenant claim, and reads no secret', () => {
    const vars = h.env(stack.httpApi.handler.function);
    expect(vars).toMatchObject({
      [Env.jwksUrl]: CONTEXT.jwksUrl,
      [Env.jwtIssuer]: CONTEXT.jwtIssuer,
      [Env.jwtAudience]: CONTEXT.jwtAudience,
      [Env.tenantClaim]: 'org',
      [Env.statusRole]: 'ops',
      [Env.stage]: 'prod',
      [Env.eventRetentionHours]: '48',
    });
    expect(vars).not.toHaveProperty(Env.jwtSecretArn);
    const role = h.idOf(stack.httpApi.handler.role);
    expect(
      policyStatements(template).filter(
        ({ roles, statement }) =>
          roles.includes(role) && actionsOf(statement).some((a) => a.startsWith('secretsmanager:')),
      ),
    ).toEqual([]);
  });

  it('keeps the access logs of prod', () => {
    expect(template.toJSON().Resources[h.idOf(stack.httpApi.accessLogGroup)].DeletionPolicy).toBe('Retain');
  });
});
