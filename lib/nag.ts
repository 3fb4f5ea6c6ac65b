/**
 * Acknowledging cdk-nag findings precisely. cdk-nag v3 reports one finding per wildcard resource
 * (`AwsSolutions-IAM5[Resource::<flattened ARN>]`), and the flattened ARN holds logical ids, the
 * stage name and, in an environment-bound stack, the region: so the id is computed from the
 * grant itself rather than written out by hand.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges `AwsSolutions-IAM5` for each wildcard resource of `grant`, on the policy that
 * holds it (the role's default policy), and nowhere else.
 */
export function acknowledgeWildcardResources(role: iam.Role, grant: iam.Grant, reason: string): void {
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
  if (!policy)
    throw new Error(`acknowledgeWildcardResources: ${role.node.path} has no default policy yet; grant first`);
  const stack = Stack.of(role);
  for (const statement of grant.principalStatements) {
    for (const resource of statement.resources) {
      const flattened = flattenReference(stack.resolve(resource));
      if (flattened.includes('*')) acknowledge(policy, `AwsSolutions-IAM5[Resource::${flattened}]`, reason);
    }
  }
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * A resolved CloudFormation value as a flat string, the way cdk-nag names IAM5 findings:
 * `Fn::Join` joined, `Ref` as `<Name>`, `Fn::GetAtt` as `<Name.Attr>`, `${x}` as `<x>`.
 */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (node['Fn::Join']) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (node['Fn::Sub']) return flattenReference(node['Fn::Sub']);
    if (node['Fn::GetAtt']) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (node['Fn::ImportValue']) return flattenReference(node['Fn::ImportValue']);
    if (node.Ref) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
