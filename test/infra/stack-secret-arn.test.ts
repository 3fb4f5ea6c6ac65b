/** `jwtSecretArn`: the auth function reads an existing secret; nothing is generated. */
import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Env, Handler } from '../../lambdas/contract/index.js';
import type { RealtimeStack } from '../../lib/realtime-stack.js';
import { actionsOf, buildStack, policyStatements } from './helpers.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:realtime/jwt-AbC123';

let stack: RealtimeStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = buildStack({ jwtSecretArn: SECRET_ARN }));
});

describe('existing HS256 secret', () => {
  it('generates no secret', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('hands the auth function the ARN and no JWKS URL', () => {
    const auth = stack.gateway.functionFor(Handler.auth).function;
    const variables =
      template.toJSON().Resources[stack.getLogicalId(auth.node.defaultChild as CfnElement)].Properties.Environment
        .Variables;
    expect(variables[Env.jwtSecretArn]).toBe(SECRET_ARN);
    expect(variables).not.toHaveProperty(Env.jwksUrl);
  });

  it('lets only the token verifiers (auth and http) read exactly that secret', () => {
    const readers = policyStatements(template).filter(({ statement }) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    const authRole = stack.getLogicalId(stack.gateway.functionFor(Handler.auth).role.node.defaultChild as CfnElement);
    const httpRole = stack.getLogicalId(stack.httpApi.handler.role.node.defaultChild as CfnElement);
    expect(readers.map((r) => r.roles).sort()).toEqual([[authRole], [httpRole]].sort());
    for (const reader of readers) expect(reader.statement.Resource).toBe(SECRET_ARN);
  });
});
