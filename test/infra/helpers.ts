/**
 * Builds the stack the way `bin/app.ts` does — same cdk.json feature flags, same context
 * parsing — but with bundling skipped, so a synth takes well under a second.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext } from '../../lib/config.js';
import { RealtimeStack, stackNameFor } from '../../lib/realtime-stack.js';

const CDK_JSON = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context?: Record<string, unknown>;
};

/**
 * An App with cdk.json's context, the given context (as `-c key=value` would give it), and no
 * bundling. CDK's built-in CloudFormation validation costs ~3 s per worker to start, so it is
 * off unless a test asks for it (the nag test runs one full synth with it, as `cdk synth` does).
 */
export function testApp(context: Record<string, unknown> = {}, options: { builtinValidation?: boolean } = {}): App {
  return new App({
    context: { ...CDK_JSON.context, ...context, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: options.builtinValidation ?? false,
  });
}

export interface Built {
  readonly app: App;
  readonly stack: RealtimeStack;
  readonly template: Template;
}

export function buildStack(context: Record<string, unknown> = {}): Built {
  const app = testApp(context);
  const config = configFromContext(app.node);
  const stack = new RealtimeStack(app, stackNameFor(config.stage), { config });
  return { app, stack, template: Template.fromStack(stack) };
}

type Json = unknown;

/** Logical ids a CloudFormation value refers to (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`), pseudo parameters excluded. */
export function referencedIds(value: Json): Set<string> {
  const ids = new Set<string>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'Ref' && typeof child === 'string' && !child.startsWith('AWS::')) ids.add(child);
        else if (key === 'Fn::GetAtt' && Array.isArray(child)) ids.add(String(child[0]));
        else if (key === 'Fn::Sub') {
          const text = Array.isArray(child) ? child[0] : child;
          for (const m of String(text).matchAll(/\$\{([^}.!]+)/g)) if (!m[1]!.startsWith('AWS::')) ids.add(m[1]!);
          if (Array.isArray(child)) visit(child[1]);
        } else visit(child);
      }
    }
  };
  visit(value);
  return ids;
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
}

/** Every IAM policy statement of the template, with the roles its policy is attached to. */
export function policyStatements(template: Template): { roles: string[]; statement: Statement }[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((policy) => {
    const props = policy.Properties as { Roles: Json[]; PolicyDocument: { Statement: Statement[] } };
    const roles = props.Roles.flatMap((r) => [...referencedIds(r)]);
    return props.PolicyDocument.Statement.map((statement) => ({ roles, statement }));
  });
}

export const actionsOf = (s: Statement): string[] => [s.Action].flat();
export const resourcesOf = (s: Statement): Json[] => [s.Resource].flat();
