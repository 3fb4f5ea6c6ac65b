/**
 * The stack with every option at its default: routes, tables, rule pattern and environment are
 * checked against the contract module, permissions against the least-privilege list.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BroadcastMetric,
  broadcastEventPattern,
  CLOCK_SKEW_MARGIN_SECONDS,
  CONNECTIONS_TABLE,
  ConnectionAttr,
  Env,
  EVENT_LOG_TABLE,
  Handler,
  type HandlerName,
  LAMBDA_ROUTE_KEYS,
  METRICS_NAMESPACE,
  MOCK_ROUTES,
  REPLAY_OVERLAP_SECONDS,
  ROUTE_KEYS,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
  Route,
  SERVICE_NAME,
  SWEEP_INDEX,
  TENANT_INDEX,
  USER_INDEX,
} from '../../lambdas/contract/index.js';
import type { NodeFunction } from '../../lib/constructs/node-function.js';
import { ROUTE_HANDLERS } from '../../lib/constructs/websocket-gateway.js';
import type { RealtimeStack } from '../../lib/realtime-stack.js';
import { actionsOf, buildStack, policyStatements, referencedIds, resourcesOf } from './helpers.js';

let stack: RealtimeStack;
let template: Template;
let idOf: (construct: IConstruct) => string;
let fnFor: (handler: HandlerName) => NodeFunction;

beforeAll(() => {
  ({ stack, template } = buildStack());
  idOf = (construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  fnFor = (handler) => stack.functions[handler];
});

const ALL_HANDLERS = Object.values(Handler);
const CONTRACT_ENV_NAMES = new Set<string>(Object.values(Env));

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation resource properties, read by many differently shaped assertions
function functionProps(handler: HandlerName): Record<string, any> {
  const resource = template.toJSON().Resources[idOf(fnFor(handler).function)];
  expect(resource, `function for ${handler}`).toBeDefined();
  return resource.Properties;
}

describe('WebSocket API', () => {
  it('selects routes with the contract expression', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
  });

  it('has exactly the contract routes', () => {
    const keys = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: idOf(stack.gateway.api) } } }),
    ).map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual([...ROUTE_KEYS].sort());
  });

  it.each(LAMBDA_ROUTE_KEYS)('routes %s to the function of its contract handler', (routeKey) => {
    const [routeId, route] = Object.entries(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }),
    )[0]!;
    const [integrationId] = [...referencedIds(route.Properties.Target)];
    const integration = template.toJSON().Resources[integrationId!];
    expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
    expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
    expect([...referencedIds(integration.Properties.IntegrationUri)]).toEqual([
      idOf(fnFor(ROUTES[routeKey].handler).function),
    ]);

    const responses = template.findResources('AWS::ApiGatewayV2::RouteResponse', {
      Properties: { RouteId: { Ref: routeId } },
    });
    if (ROUTES[routeKey].returnResponse) {
      expect(Object.values(responses).map((r) => r.Properties.RouteResponseKey)).toEqual(['$default']);
      expect(route.Properties.RouteResponseSelectionExpression).toBe('$default');
    } else {
      expect(responses).toEqual({});
    }
  });

  it('serves ping with a MOCK integration: its template replies, through a route response', () => {
    const [routeId, route] = Object.entries(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: Route.ping } }),
    )[0]!;
    const [integrationId] = [...referencedIds(route.Properties.Target)];
    const integration = template.toJSON().Resources[integrationId!];
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'MOCK',
      RequestTemplates: { $default: '{"statusCode":200}' },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::IntegrationResponse', {
      IntegrationId: { Ref: integrationId },
      IntegrationResponseKey: '$default',
      ResponseTemplates: { $default: MOCK_ROUTES[Route.ping].responseTemplate },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteId: { Ref: routeId },
      RouteResponseKey: '$default',
    });
    expect(route.Properties.RouteResponseSelectionExpression).toBe('$default');
  });

  it('has no function, role or invoke permission for ping', () => {
    const names = Object.keys(template.toJSON().Resources);
    expect(names.filter((n) => /ping/i.test(n) && !/MockIntegration|IntegrationResponse|Route/.test(n))).toEqual([]);
    expect(names.filter((n) => /PingHandler/i.test(n))).toEqual([]);
  });

  it('lets API Gateway invoke each route function', () => {
    for (const handler of new Set(Object.values(ROUTES).map((r) => r.handler))) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [idOf(fnFor(handler).function), 'Arn'] },
      });
    }
  });

  it('deploys the stage automatically, throttled, with JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [idOf(stack.gateway.accessLogGroup), 'Arn'] },
        Format: Match.anyValue(),
      },
    });
    const stage = Object.values(
      template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: { Ref: idOf(stack.gateway.api) } } }),
    )[0]!;
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      connectionId: '$context.connectionId',
      status: '$context.status',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('DynamoDB tables', () => {
  const keySchema = (def: typeof CONNECTIONS_TABLE) => [
    { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
    ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
  ];

  it.each([
    ['connections', CONNECTIONS_TABLE],
    ['event log', EVENT_LOG_TABLE],
  ] as const)('builds the %s table from its contract definition', (_name, def) => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: keySchema(def),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true },
    });
  });

  it('gives the connections table exactly the contract indexes, INCLUDE-projected', () => {
    const table = template.toJSON().Resources[idOf(stack.tables.connections)].Properties;
    expect(table.GlobalSecondaryIndexes).toEqual(
      CONNECTIONS_TABLE.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index as unknown as typeof CONNECTIONS_TABLE),
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
      })),
    );
  });

  it.each([TENANT_INDEX, USER_INDEX])(
    'projects into %s every attribute fan-out matches on: the filter (subscriptions, sources, minPriority) and identity',
    (indexName) => {
      const table = template.toJSON().Resources[idOf(stack.tables.connections)].Properties;
      const index = table.GlobalSecondaryIndexes.find((i: { IndexName: string }) => i.IndexName === indexName);
      expect(index.Projection.ProjectionType).toBe('INCLUDE');
      expect(index.Projection.NonKeyAttributes).toEqual(
        expect.arrayContaining([
          'subscriptions',
          'sources',
          'minPriority',
          'userId',
          'roles',
          'tokenExpiresAt',
          'brokenAt',
        ]),
      );
    },
  );

  it('keys the sparse tenant index on tenantId, sorted by connectionId (unique index keys)', () => {
    const table = template.toJSON().Resources[idOf(stack.tables.connections)].Properties;
    const tenantIndex = table.GlobalSecondaryIndexes.find((i: { IndexName: string }) => i.IndexName === TENANT_INDEX);
    expect(tenantIndex.KeySchema).toEqual([
      { AttributeName: ConnectionAttr.tenantId, KeyType: 'HASH' },
      { AttributeName: ConnectionAttr.connectionId, KeyType: 'RANGE' },
    ]);
  });

  it('keys the sweep index on the shard, sorted by a per-connection time key', () => {
    const table = template.toJSON().Resources[idOf(stack.tables.connections)].Properties;
    const sweepIndex = table.GlobalSecondaryIndexes.find((i: { IndexName: string }) => i.IndexName === SWEEP_INDEX);
    expect(sweepIndex.KeySchema).toEqual([
      { AttributeName: ConnectionAttr.sweepShard, KeyType: 'HASH' },
      { AttributeName: ConnectionAttr.sweepKey, KeyType: 'RANGE' },
    ]);
  });

  it('deletes the tables with a non-prod stack', () => {
    template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { DeletionProtectionEnabled: false },
    });
  });
});

describe('event fan-out', () => {
  it('creates an event bus and attaches the contract rule pattern to it', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const rule = template.toJSON().Resources[idOf(stack.fanout.broadcastRule)].Properties;
    expect(rule.EventPattern).toEqual(broadcastEventPattern());
    expect(rule.EventBusName).toEqual({ Ref: idOf(stack.fanout.eventBus as unknown as IConstruct) });
  });

  it('retries delivery to the broadcaster for 24 hours, then dead-letters', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.anyValue(),
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [idOf(stack.fanout.broadcaster.function), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf(stack.fanout.deadLetterQueue), 'Arn'] } },
        },
      ],
    });
  });

  it('sends broadcaster invocations that keep failing to the same queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: idOf(stack.fanout.broadcaster.function) },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [idOf(stack.fanout.deadLetterQueue), 'Arn'] } } },
    });
  });

  it('encrypts the dead-letter queue, keeps messages 14 days and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: idOf(stack.fanout.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});

describe('connection lifecycle', () => {
  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [idOf(stack.lifecycle.sweeper.function), 'Arn'] } })],
    });
  });
});

describe('functions', () => {
  it('creates one function per handler', () => {
    template.resourceCountIs('AWS::Lambda::Function', ALL_HANDLERS.length);
  });

  it('builds each handler’s function in the construct that triggers it', () => {
    for (const handler of ROUTE_HANDLERS) expect(stack.functions[handler]).toBe(stack.gateway.functionFor(handler));
    expect(stack.functions[Handler.broadcaster]).toBe(stack.fanout.broadcaster);
    expect(stack.functions[Handler.sweeper]).toBe(stack.lifecycle.sweeper);
    for (const handler of ALL_HANDLERS) expect(stack.functions[handler].handlerName).toBe(handler);
  });

  it.each(ALL_HANDLERS)(
    'runs %s on nodejs22.x, arm64, with the shared environment and its own log group',
    (handler) => {
      const props = functionProps(handler);
      expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(props.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'tenant-realtime',
        POWERTOOLS_METRICS_NAMESPACE: 'TenantRealtime',
      });
      // No --enable-source-maps: it parses the source map on every cold start (README, "Cold start").
      expect(props.Environment.Variables.NODE_OPTIONS).toBeUndefined();
      expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: idOf(fnFor(handler).logGroup) } });
    },
  );

  it('sizes the broadcaster and sweeper for their work, route functions for a quick reply', () => {
    expect(functionProps(Handler.broadcaster)).toMatchObject({ MemorySize: 1024, Timeout: 60 });
    // resume replays from the cursor minus REPLAY_OVERLAP_SECONDS, which must cover one whole
    // broadcaster attempt plus clock skew (README, "Delivery guarantees").
    expect(functionProps(Handler.broadcaster).Timeout + CLOCK_SKEW_MARGIN_SECONDS).toBeLessThanOrEqual(
      REPLAY_OVERLAP_SECONDS,
    );
    expect(functionProps(Handler.sweeper)).toMatchObject({ Timeout: 60 });
    expect(functionProps(Handler.connect)).toMatchObject({ MemorySize: 256, Timeout: 10 });
  });

  it('-c broadcasterMemoryMb sizes the broadcaster alone, and its code package follows the memory', () => {
    const other = buildStack({ broadcasterMemoryMb: '1769' });
    const props = (built: { stack: RealtimeStack; template: Template }, handler: HandlerName) => {
      const fn = built.stack.functions[handler].function;
      return built.template.toJSON().Resources[built.stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties;
    };
    expect(props(other, Handler.broadcaster).MemorySize).toBe(1769);
    expect(props(other, Handler.connect).MemorySize).toBe(256);
    // The code cache is built under the heap flags Lambda derives from the memory: another asset.
    expect(props(other, Handler.broadcaster).Code).not.toEqual(functionProps(Handler.broadcaster).Code);
    expect(props(other, Handler.connect).Code).toEqual(functionProps(Handler.connect).Code);
    expect(() => buildStack({ broadcasterMemoryMb: '64' })).toThrow(/broadcasterMemoryMb/);
  });

  const EXPECTED_ENV: Record<HandlerName, string[]> = {
    [Handler.connect]: [Env.connectionsTable, Env.authTimeoutSeconds],
    [Handler.auth]: [Env.connectionsTable, Env.eventLogTable, Env.tenantClaim, Env.jwtSecretArn],
    [Handler.default]: [],
    [Handler.subscribe]: [Env.connectionsTable],
    [Handler.resume]: [Env.connectionsTable, Env.eventLogTable, Env.managementEndpoint],
    [Handler.disconnect]: [Env.connectionsTable],
    [Handler.broadcaster]: [
      Env.connectionsTable,
      Env.eventLogTable,
      Env.managementEndpoint,
      Env.eventRetentionHours,
      Env.fanoutConcurrency,
    ],
    [Handler.sweeper]: [Env.connectionsTable, Env.managementEndpoint],
    [Handler.http]: [
      Env.connectionsTable,
      Env.eventLogTable,
      Env.eventRetentionHours,
      Env.statusRole,
      Env.stage,
      Env.appVersion,
      Env.tenantClaim,
      Env.jwtSecretArn,
    ],
  };

  it.each(ALL_HANDLERS)('gives %s exactly the contract variables it reads', (handler) => {
    const names = Object.keys(functionProps(handler).Environment.Variables).filter((name) =>
      CONTRACT_ENV_NAMES.has(name),
    );
    expect(names.sort()).toEqual([...EXPECTED_ENV[handler]].sort());
  });

  it('fills the variables with this stack’s resources and defaults', () => {
    const connections = { Ref: idOf(stack.tables.connections) };
    const managementEndpoint = {
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: idOf(stack.gateway.api) },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/dev',
        ],
      ],
    };
    expect(functionProps(Handler.connect).Environment.Variables).toMatchObject({
      [Env.connectionsTable]: connections,
      [Env.authTimeoutSeconds]: '30',
    });
    expect(functionProps(Handler.auth).Environment.Variables).toMatchObject({
      [Env.tenantClaim]: 'tenantId',
      [Env.jwtSecretArn]: { Ref: idOf(stack.gateway.jwtSecret!) },
    });
    expect(functionProps(Handler.broadcaster).Environment.Variables).toMatchObject({
      [Env.connectionsTable]: connections,
      [Env.eventLogTable]: { Ref: idOf(stack.tables.eventLog) },
      [Env.managementEndpoint]: managementEndpoint,
      [Env.eventRetentionHours]: '24',
      [Env.fanoutConcurrency]: '100',
    });
    expect(functionProps(Handler.sweeper).Environment.Variables[Env.managementEndpoint]).toEqual(managementEndpoint);
    expect(functionProps(Handler.resume).Environment.Variables[Env.managementEndpoint]).toEqual(managementEndpoint);
  });
});

describe('permissions', () => {
  const roleOf = (handler: HandlerName) => idOf(fnFor(handler).role);
  const tableName = (resource: unknown): string => {
    const text = JSON.stringify(resource);
    const table = text.includes(idOf(stack.tables.connections))
      ? 'connections'
      : text.includes(idOf(stack.tables.eventLog))
        ? 'eventLog'
        : text;
    const index = /\/index\/([^"]+)"/.exec(text)?.[1];
    return index ? `${table}/index/${index}` : table;
  };
  /** `dynamodb:Action on table[/index/name]`, for every DynamoDB statement of a function's role. */
  const dynamoGrants = (handler: HandlerName): string[] =>
    policyStatements(template)
      .filter(
        ({ roles, statement }) =>
          roles.includes(roleOf(handler)) && actionsOf(statement).some((a) => a.startsWith('dynamodb:')),
      )
      .flatMap(({ statement }) =>
        actionsOf(statement).flatMap((action) => resourcesOf(statement).map((r) => `${action} on ${tableName(r)}`)),
      )
      .sort();

  const EXPECTED_DYNAMO: Record<HandlerName, string[]> = {
    [Handler.connect]: ['dynamodb:PutItem on connections'],
    [Handler.auth]: [
      'dynamodb:GetItem on connections',
      'dynamodb:Query on eventLog',
      'dynamodb:UpdateItem on connections',
    ],
    [Handler.default]: [],
    [Handler.subscribe]: ['dynamodb:GetItem on connections', 'dynamodb:UpdateItem on connections'],
    [Handler.resume]: [
      'dynamodb:DeleteItem on connections',
      'dynamodb:GetItem on connections',
      'dynamodb:UpdateItem on connections',
      'dynamodb:GetItem on eventLog',
      'dynamodb:Query on eventLog',
    ],
    [Handler.disconnect]: ['dynamodb:DeleteItem on connections'],
    [Handler.broadcaster]: [
      'dynamodb:DeleteItem on connections',
      'dynamodb:UpdateItem on connections',
      `dynamodb:Query on connections/index/${TENANT_INDEX}`,
      `dynamodb:Query on connections/index/${USER_INDEX}`,
      'dynamodb:GetItem on eventLog',
      'dynamodb:PutItem on eventLog',
      'dynamodb:UpdateItem on eventLog',
    ],
    [Handler.sweeper]: ['dynamodb:DeleteItem on connections', `dynamodb:Query on connections/index/${SWEEP_INDEX}`],
    [Handler.http]: [
      'dynamodb:GetItem on eventLog',
      'dynamodb:Query on eventLog',
      `dynamodb:Query on connections/index/${TENANT_INDEX}`,
    ],
  };

  it.each(ALL_HANDLERS)('grants %s exactly its DynamoDB operations', (handler) => {
    expect(dynamoGrants(handler)).toEqual([...EXPECTED_DYNAMO[handler]].sort());
  });

  it('never grants a wildcard action, nor DynamoDB on every resource', () => {
    for (const { statement } of policyStatements(template)) {
      for (const action of actionsOf(statement)) {
        expect(action === '*' || action.endsWith(':*'), `action ${action}`).toBe(false);
      }
      if (actionsOf(statement).some((a) => a.startsWith('dynamodb:')))
        expect(resourcesOf(statement)).not.toContain('*');
    }
  });

  it('attaches no AWS managed policy to any role', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role')))
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('lets only resume, broadcaster and sweeper manage connections, on this stage only', () => {
    const grants = policyStatements(template).filter(({ statement }) =>
      actionsOf(statement).includes('execute-api:ManageConnections'),
    );
    expect(grants.flatMap((g) => g.roles).sort()).toEqual(
      [Handler.resume, Handler.broadcaster, Handler.sweeper].map(roleOf).sort(),
    );
    for (const { statement } of grants) {
      expect(statement.Resource).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: idOf(stack.gateway.api) },
            '/dev/*/@connections/*',
          ],
        ],
      });
    }
  });

  it('lets only the auth and http functions (the token verifiers) read the generated secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 64 },
    });
    const readers = policyStatements(template).filter(({ statement }) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    expect(readers.map((r) => r.roles).sort()).toEqual([[roleOf(Handler.auth)], [roleOf(Handler.http)]].sort());
    for (const reader of readers) expect(reader.statement.Resource).toEqual({ Ref: idOf(stack.gateway.jwtSecret!) });
  });
});

describe('observability', () => {
  it('alarms on the first dead-lettered event', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(stack.fanout.deadLetterQueue), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('alarms on broadcaster errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(stack.fanout.broadcaster.function) } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('alarms on the first connection left broken (a failed delivery whose close failed too)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: BroadcastMetric.broken,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('graphs deliveries and rejected events by reason on the dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    // The body is an Fn::Join of JSON text and tokens; its literal parts hold the metric names.
    const parts = dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const body = parts.filter((p) => typeof p === 'string').join('');
    for (const m of [BroadcastMetric.delivered, BroadcastMetric.failed, BroadcastMetric.broken])
      expect(body).toContain(`"${METRICS_NAMESPACE}","${m}","service","${SERVICE_NAME}"`);
    expect(body).toContain(`MetricName=\\"${BroadcastMetric.rejected}\\"`);
  });

  it.each(ALL_HANDLERS)('alarms when %s is throttled', (handler) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(fnFor(handler).function) } }],
      Threshold: 0,
    });
  });

  it('has a dashboard and, without alarmEmail, no topic', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('stack', () => {
  it('has no dependency cycle, and the stage depends on no function (functions read its URL)', () => {
    const resources = template.toJSON().Resources as Record<string, { Properties?: unknown; DependsOn?: unknown }>;
    const dependencies = (id: string): string[] => {
      const resource = resources[id]!;
      const explicit = [resource.DependsOn ?? []].flat() as string[];
      return [...referencedIds(resource.Properties ?? {}), ...explicit].filter((dep) => dep in resources);
    };
    const reachable = (root: string): Set<string> => {
      const seen = new Set<string>();
      const stack = [...dependencies(root)];
      while (stack.length > 0) {
        const id = stack.pop()!;
        if (!seen.has(id)) {
          seen.add(id);
          stack.push(...dependencies(id));
        }
      }
      return seen;
    };
    for (const id of Object.keys(resources)) expect(reachable(id).has(id), `${id} depends on itself`).toBe(false);

    const stageAndApi = new Set([...reachable(idOf(stack.gateway.stage)), idOf(stack.gateway.api)]);
    const fnIds = ALL_HANDLERS.flatMap((handler) => [idOf(fnFor(handler).function), idOf(fnFor(handler).role)]);
    expect(fnIds.filter((id) => stageAndApi.has(id))).toEqual([]);
    for (const handler of [Handler.resume, Handler.broadcaster, Handler.sweeper])
      expect(reachable(idOf(fnFor(handler).function)), handler).toContain(idOf(stack.gateway.api));
  });

  it('keeps the logical ids of the resources that hold data, history or identity', () => {
    // Renaming a construct id replaces the resource on the next deploy: a new table (the old
    // one's data left behind or deleted), a new secret, new log groups. These ids must not move.
    const ids = (constructs: IConstruct[]) => constructs.map(idOf);
    expect(ids([stack.tables.connections, stack.tables.eventLog])).toEqual([
      'StoreConnections5D339103',
      'StoreEventLog5EFF0A0D',
    ]);
    expect(
      ids([
        stack.gateway.api,
        stack.gateway.stage,
        stack.gateway.accessLogGroup,
        stack.gateway.jwtSecret as unknown as IConstruct,
        stack.fanout.eventBus as unknown as IConstruct,
        stack.fanout.deadLetterQueue,
      ]),
    ).toEqual([
      'GatewayApi4EDF2151',
      'GatewayStage04E5B0D6',
      'GatewayAccessLogs87AA0EC3',
      'GatewayJwtSecret2BBE41C5',
      'FanoutBus0C7E795D',
      'FanoutDeadLetterQueueDAFF220E',
    ]);
    expect(Object.fromEntries(ALL_HANDLERS.map((h) => [h, ids([fnFor(h).function, fnFor(h).logGroup])]))).toEqual({
      [Handler.connect]: ['GatewayConnectHandlerFunction8C51D75A', 'GatewayConnectHandlerLogGroupA9E76297'],
      [Handler.disconnect]: ['GatewayDisconnectHandlerFunction8FEC8035', 'GatewayDisconnectHandlerLogGroup80C9B07E'],
      [Handler.default]: ['GatewayDefaultHandlerFunction13AE4729', 'GatewayDefaultHandlerLogGroup2BCA3DAB'],
      [Handler.auth]: ['GatewayAuthHandlerFunction010D46E2', 'GatewayAuthHandlerLogGroupB160AB9C'],
      [Handler.subscribe]: ['GatewaySubscribeHandlerFunction7B333514', 'GatewaySubscribeHandlerLogGroup89307187'],
      [Handler.resume]: ['GatewayResumeHandlerFunctionAC9EC877', 'GatewayResumeHandlerLogGroup6BEEB7E5'],
      [Handler.broadcaster]: ['FanoutBroadcasterFunctionD4848DAF', 'FanoutBroadcasterLogGroup5F147C23'],
      [Handler.sweeper]: ['FanoutSweeperFunction7190ABA2', 'FanoutSweeperLogGroupD59A03D1'],
      [Handler.http]: ['HttpApiHandlerFunction9CB84C2F', 'HttpApiHandlerLogGroup916AA48A'],
    });
  });

  it('outputs what clients and producers need', () => {
    template.hasOutput('WebSocketUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'wss://',
            { Ref: idOf(stack.gateway.api) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/dev',
          ],
        ],
      },
    });
    template.hasOutput('EventBusName', { Value: { Ref: idOf(stack.fanout.eventBus as unknown as IConstruct) } });
    template.hasOutput('ConnectionsTableName', { Value: { Ref: idOf(stack.tables.connections) } });
    template.hasOutput('EventLogTableName', { Value: { Ref: idOf(stack.tables.eventLog) } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: idOf(stack.fanout.deadLetterQueue) } });
  });
});
