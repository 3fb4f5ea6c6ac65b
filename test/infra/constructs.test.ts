/**
 * Each construct on its own, CDK style: what it builds from its props, and the errors it throws
 * on bad input (up front, naming the construct and the mistake).
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { Env, Handler, type HandlerName, TENANT_INDEX } from '../../lambdas/contract/index.js';
import { validateConfig } from '../../lib/config.js';
import { ConnectionLifecycle } from '../../lib/constructs/connection-lifecycle.js';
import { ConnectionTables } from '../../lib/constructs/connection-tables.js';
import { EventFanout } from '../../lib/constructs/event-fanout.js';
import { type HandlerFunctionFactory, NodeFunction } from '../../lib/constructs/node-function.js';
import { ROUTE_HANDLERS, WebSocketGateway } from '../../lib/constructs/websocket-gateway.js';
import { HANDLER_WIRING, HandlerFunctions } from '../../lib/handler-wiring.js';
import { acknowledgeWildcardResources } from '../../lib/nag.js';
import { testApp } from './helpers.js';

const newStack = () => new Stack(testApp(), 'Test');

/** A factory that builds a bare function running `handler` (no environment, no grants). */
const bare =
  (handler: HandlerName): HandlerFunctionFactory =>
  (scope, id, sizing) =>
    new NodeFunction(scope, id, { handlerName: handler, ...sizing });

/** Gives every route handler not added yet a bare function, so the gateway synthesizes. */
const completeRoutes = (gateway: WebSocketGateway, except: readonly HandlerName[] = []) => {
  for (const handler of ROUTE_HANDLERS.filter((h) => !except.includes(h)))
    gateway.addRouteHandler(handler, bare(handler));
};

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbC123';

describe('ConnectionTables', () => {
  it('refuses a grant with no actions', () => {
    const stack = newStack();
    const tables = new ConnectionTables(stack, 'Tables');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => tables.grantConnections(role)).toThrow('ConnectionTables: grant at least one action');
    expect(() => tables.grantEventLog(role)).toThrow('ConnectionTables: grant at least one action');
  });

  it('refuses a query grant on an index the contract does not define', () => {
    const stack = newStack();
    const tables = new ConnectionTables(stack, 'Tables');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => tables.grantQueryConnectionIndex(role, 'byNothing')).toThrow(
      'ConnectionTables: the connections table has no index "byNothing"',
    );
  });

  it('grants Query on exactly the named index', () => {
    const stack = newStack();
    const tables = new ConnectionTables(stack, 'Tables');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    tables.grantQueryConnectionIndex(role, TENANT_INDEX);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'dynamodb:Query',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^TablesConnections'), 'Arn'] }, `/index/${TENANT_INDEX}`],
              ],
            },
          },
        ],
      },
    });
  });

  it('turns on deletion protection and retains both tables when asked', () => {
    const stack = newStack();
    new ConnectionTables(stack, 'Tables', { deletionProtection: true, removalPolicy: RemovalPolicy.RETAIN });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });
});

describe('WebSocketGateway', () => {
  it('refuses both token key sources at once', () => {
    const stack = newStack();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN);
    expect(
      () => new WebSocketGateway(stack, 'Gateway', { tokens: { jwksUrl: 'https://idp.example.com/jwks', secret } }),
    ).toThrow('WebSocketGateway: set either tokens.jwksUrl or tokens.secret, not both');
  });

  it('generates an HS256 secret unless a JWKS URL or a secret is given', () => {
    const generated = newStack();
    const gateway = new WebSocketGateway(generated, 'Gateway');
    completeRoutes(gateway);
    expect(gateway.jwtSecret).toBeDefined();
    Template.fromStack(generated).resourceCountIs('AWS::SecretsManager::Secret', 1);

    const jwks = newStack();
    const withJwks = new WebSocketGateway(jwks, 'Gateway', { tokens: { jwksUrl: 'https://idp.example.com/jwks' } });
    completeRoutes(withJwks);
    expect(withJwks.jwtSecret).toBeUndefined();
    Template.fromStack(jwks).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('refuses a handler that serves no route', () => {
    const gateway = new WebSocketGateway(newStack(), 'Gateway');
    expect(() => gateway.addRouteHandler(Handler.broadcaster, bare(Handler.broadcaster))).toThrow(
      'WebSocketGateway: no route is served by the "broadcaster" handler',
    );
  });

  it('refuses the same handler twice', () => {
    const gateway = new WebSocketGateway(newStack(), 'Gateway');
    gateway.addRouteHandler(Handler.auth, bare(Handler.auth));
    expect(() => gateway.addRouteHandler(Handler.auth, bare(Handler.auth))).toThrow(
      'WebSocketGateway: the "auth" handler is already added',
    );
  });

  it('refuses a factory that builds the function of another handler', () => {
    const gateway = new WebSocketGateway(newStack(), 'Gateway');
    expect(() => gateway.addRouteHandler(Handler.auth, bare(Handler.default))).toThrow(
      'WebSocketGateway: asked for the "auth" handler, built a "default" function',
    );
  });

  it('names the handler it has no function for', () => {
    const gateway = new WebSocketGateway(newStack(), 'Gateway');
    expect(() => gateway.functionFor(Handler.auth)).toThrow('WebSocketGateway: no function serves the "auth" handler');
  });

  it('fails synth while a contract route has no function, naming the routes', () => {
    const stack = newStack();
    const gateway = new WebSocketGateway(stack, 'Gateway');
    completeRoutes(gateway, [Handler.subscribe]);
    expect(() => Template.fromStack(stack)).toThrow(/no function serves the route\(s\) subscribe, unsubscribe/);
  });

  it('routes both subscribe and unsubscribe to the one subscribe function', () => {
    const stack = newStack();
    const gateway = new WebSocketGateway(stack, 'Gateway');
    completeRoutes(gateway);
    const fnId = stack.getLogicalId(gateway.functionFor(Handler.subscribe).function.node.defaultChild as never);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 8);
    template.resourcePropertiesCountIs(
      'AWS::ApiGatewayV2::Integration',
      { IntegrationUri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [fnId, 'Arn'] }])] } },
      2,
    );
  });

  it('grants connection management on this stage’s @connections only', () => {
    const stack = newStack();
    const gateway = new WebSocketGateway(stack, 'Gateway', { stageName: 'qa' });
    const fn = gateway.addRouteHandler(Handler.resume, bare(Handler.resume));
    gateway.grantManageConnections(fn);
    completeRoutes(gateway, [Handler.resume]);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(fn.role.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'execute-api:ManageConnections',
            Resource: { 'Fn::Join': ['', Match.arrayWith(['/qa/*/@connections/*'])] },
          }),
        ]),
      },
    });
  });
});

describe('EventFanout and ConnectionLifecycle', () => {
  it('refuse a factory that builds the wrong handler', () => {
    expect(() => new EventFanout(newStack(), 'Fanout', { broadcaster: bare(Handler.sweeper) })).toThrow(
      'EventFanout: the broadcaster must run the "broadcaster" handler, got "sweeper"',
    );
    expect(() => new ConnectionLifecycle(newStack(), 'Lifecycle', { sweeper: bare(Handler.broadcaster) })).toThrow(
      'ConnectionLifecycle: the sweeper must run the "sweeper" handler, got "broadcaster"',
    );
  });

  it('size their functions for background work', () => {
    const stack = newStack();
    const fanout = new EventFanout(stack, 'Fanout', { broadcaster: bare(Handler.broadcaster) });
    const lifecycle = new ConnectionLifecycle(stack, 'Lifecycle', { sweeper: bare(Handler.sweeper) });
    const template = Template.fromStack(stack).toJSON();
    const props = (fn: NodeFunction) =>
      template.Resources[stack.getLogicalId(fn.function.node.defaultChild as never)].Properties;
    expect(props(fanout.broadcaster)).toMatchObject({ MemorySize: 1024, Timeout: 60 });
    expect(props(lifecycle.sweeper)).toMatchObject({ MemorySize: 256, Timeout: 60 });
  });
});

describe('HandlerFunctions (the wiring table)', () => {
  const setUp = (config = validateConfig()) => {
    const stack = newStack();
    const tables = new ConnectionTables(stack, 'Tables');
    const gateway = new WebSocketGateway(stack, 'Gateway', { tokens: { jwksUrl: config.jwksUrl } });
    return { stack, gateway, functions: new HandlerFunctions({ config, tables, gateway }) };
  };

  it('names every handler that no construct built', () => {
    const { gateway, functions } = setUp();
    for (const handler of ROUTE_HANDLERS) gateway.addRouteHandler(handler, functions.factory(handler));
    expect(() => functions.all()).toThrow('handler wiring: no construct built the function of broadcaster, sweeper');
  });

  it('builds each function once', () => {
    const { stack, functions } = setUp();
    const build = functions.factory(Handler.sweeper);
    build(stack, 'One');
    expect(() => build(stack, 'Two')).toThrow('handler wiring: the "sweeper" function is already built');
  });

  it('refuses an auth function with neither a JWKS URL nor an HS256 secret', () => {
    const config = validateConfig();
    const stack = newStack();
    const tables = new ConnectionTables(stack, 'Tables');
    // A gateway told about a JWKS URL that the configuration does not have: no key at all.
    const gateway = new WebSocketGateway(stack, 'Gateway', { tokens: { jwksUrl: 'https://idp.example.com/jwks' } });
    expect(() => HANDLER_WIRING[Handler.auth].environment({ config, tables, gateway })).toThrow(
      'handler wiring: no JWKS URL is configured, yet the gateway has no HS256 secret',
    );
  });

  it('gives the functions the configured settings, not the defaults', () => {
    const config = validateConfig({ authTimeoutSeconds: 45, fanoutConcurrency: 7, eventRetentionHours: 2 });
    const { stack, gateway, functions } = setUp(config);
    const connect = gateway.addRouteHandler(Handler.connect, functions.factory(Handler.connect));
    completeRoutes(gateway, [Handler.connect]);
    const broadcaster = functions.factory(Handler.broadcaster)(stack, 'Broadcaster');
    const resources = Template.fromStack(stack).toJSON().Resources;
    const env = (fn: NodeFunction) =>
      resources[stack.getLogicalId(fn.function.node.defaultChild as never)].Properties.Environment.Variables;
    expect(env(connect)).toMatchObject({ [Env.authTimeoutSeconds]: '45' });
    expect(env(broadcaster)).toMatchObject({ [Env.fanoutConcurrency]: '7', [Env.eventRetentionHours]: '2' });
  });
});

describe('acknowledgeWildcardResources', () => {
  it('refuses a role that has no policy yet (grant first)', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const grant = iam.Grant.drop(role, 'nothing');
    expect(() => acknowledgeWildcardResources(role, grant, 'reason')).toThrow(/has no default policy yet; grant first/);
  });
});
