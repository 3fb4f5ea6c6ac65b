/**
 * The stack with every option set, as `cdk deploy -c key=value` hands them over (strings):
 * JWKS verification, origin allowlist, event sources, an imported bus, a fan-out rate cap,
 * alarm e-mail and the prod stage.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { broadcastEventPattern, Env, Handler } from '../../lambdas/contract/index.js';
import type { RealtimeStack } from '../../lib/realtime-stack.js';
import { actionsOf, buildStack, policyStatements } from './helpers.js';

const CONTEXT = {
  stage: 'prod',
  jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: 'realtime',
  tenantClaim: 'org',
  allowedOrigins: 'https://app.example.com, https://admin.example.com',
  authTimeoutSeconds: '45',
  eventRetentionHours: '48',
  eventBusName: 'domain-events',
  eventSources: 'app.goals,app.billing',
  fanoutConcurrency: '250',
  fanoutMaxRps: '2000',
  logRetentionDays: '90',
  throttleRateLimit: '50',
  throttleBurstLimit: '100',
  alarmEmail: 'oncall@example.com',
};

let stack: RealtimeStack;
let template: Template;
let idOf: (construct: IConstruct) => string;
const env = (construct: IConstruct): Record<string, unknown> =>
  template.toJSON().Resources[idOf(construct)].Properties.Environment.Variables;

beforeAll(() => {
  ({ stack, template } = buildStack(CONTEXT));
  idOf = (construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
});

describe('configured stack', () => {
  it('is named after its stage and uses it as the WebSocket stage', () => {
    expect(stack.stackName).toBe('TenantRealtime-prod');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('verifies tokens with the JWKS URL, issuer, audience and tenant claim, and creates no secret', () => {
    expect(env(stack.gateway.functionFor(Handler.auth).function)).toMatchObject({
      [Env.jwksUrl]: CONTEXT.jwksUrl,
      [Env.jwtIssuer]: CONTEXT.jwtIssuer,
      [Env.jwtAudience]: CONTEXT.jwtAudience,
      [Env.tenantClaim]: 'org',
    });
    expect(env(stack.gateway.functionFor(Handler.auth).function)).not.toHaveProperty(Env.jwtSecretArn);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(
      policyStatements(template).filter(({ statement }) =>
        actionsOf(statement).some((a) => a.startsWith('secretsmanager:')),
      ),
    ).toEqual([]);
  });

  it('hands the connect function the origin allowlist, comma-joined, and the auth timeout', () => {
    expect(env(stack.gateway.functionFor(Handler.connect).function)).toMatchObject({
      [Env.allowedOrigins]: 'https://app.example.com,https://admin.example.com',
      [Env.authTimeoutSeconds]: '45',
    });
  });

  it('hands the broadcaster its retention, concurrency and rate cap', () => {
    expect(env(stack.fanout.broadcaster.function)).toMatchObject({
      [Env.eventRetentionHours]: '48',
      [Env.fanoutConcurrency]: '250',
      [Env.fanoutMaxRps]: '2000',
    });
  });

  it('attaches the rule to the existing bus instead of creating one, filtered by source', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const rule = template.toJSON().Resources[idOf(stack.fanout.broadcastRule)].Properties;
    expect(rule.EventBusName).toBe('domain-events');
    expect(rule.EventPattern).toEqual(broadcastEventPattern(['app.goals', 'app.billing']));
    template.hasOutput('EventBusName', { Value: 'domain-events' });
  });

  it('retains data in prod', () => {
    template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: { DeletionProtectionEnabled: true },
    });
    template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 90 } });
  });

  it('e-mails every alarm through an encrypted topic that requires TLS', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: CONTEXT.alarmEmail });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    const topic = { Ref: idOf(stack.observability.alarmTopic!) };
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')))
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
  });
});
