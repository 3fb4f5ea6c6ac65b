/**
 * The one place that holds the shared Lambda defaults: Node.js 22 on ARM, an ESM bundle with the
 * AWS SDK inside, a source map beside it (not loaded at start), Powertools settings, and a log
 * group with a retention.
 */
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import { type HandlerName, METRICS_NAMESPACE, SERVICE_NAME, SETTINGS } from '../../lambdas/contract/index.js';

/** Handler sources: `lambdas/handlers/<HandlerName>.ts`, each exporting `handler`. */
const HANDLERS_DIR = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('../../package-lock.json', import.meta.url));

export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;

/**
 * Environment every function gets; a caller's value for the same name wins. No
 * `NODE_OPTIONS=--enable-source-maps`: with it Node reads and parses the bundle's source map on
 * every cold start, a fifth of a bundle's module init (README, "Cold start"). A stack trace in
 * CloudWatch then names `index.mjs:line:column`; `npm run decode-stack` maps it back to the
 * sources with the `index.mjs.map` shipped beside the bundle.
 */
export const SHARED_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

/** ESM bundles have no `require`; some CommonJS dependencies still call it. */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * Module swaps applied to every bundle. Lambda gives a function its credentials in the
 * environment, so the SDK's default provider chain is replaced by the environment provider
 * alone (lambdas/adapters/env-credentials.ts): a quarter of a DynamoDB bundle's bytes.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': fileURLToPath(
    new URL('../../lambdas/adapters/env-credentials.ts', import.meta.url),
  ),
};

/**
 * How every handler is bundled, as esbuild options: the stack passes them to `NodejsFunction`
 * and `npm run bench` and the bundle-size test hand them to esbuild's API, so what is measured
 * is what is deployed. `NodejsFunction` adds `bundle` and `platform: 'node'` itself.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  // A map for decoding stack traces offline; without the sources' text (a third of the bytes),
  // which the decoder reads from the checkout of the deployed commit.
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  alias: BUNDLE_ALIASES,
} as const satisfies BuildOptions;

/** The source file of a handler. */
export function handlerEntry(handlerName: HandlerName): string {
  return `${HANDLERS_DIR}${handlerName}.ts`;
}

export interface NodeFunctionProps {
  /** Which handler to deploy: bundles `lambdas/handlers/<handlerName>.ts`. */
  readonly handlerName: HandlerName;
  /**
   * What the function does, shown in the console.
   * @default - no description
   */
  readonly description?: string | undefined;
  /**
   * Environment variables, merged over `SHARED_ENVIRONMENT` (the caller wins).
   * @default - only the shared environment
   */
  readonly environment?: Readonly<Record<string, string>> | undefined;
  /**
   * Memory in MB.
   * @default DEFAULT_MEMORY_MB (256)
   */
  readonly memorySize?: number | undefined;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration | undefined;
  /**
   * Retention of the function's log group.
   * @default SETTINGS.logRetentionDays.default (RetentionDays.ONE_MONTH)
   */
  readonly logRetention?: logs.RetentionDays | undefined;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
}

/** What the construct that holds a function decides about it: its size. */
/** Memory of every function that does not set its own (`npm run cost` prices them with it). */
export const DEFAULT_MEMORY_MB = 256;

export type FunctionSizing = Pick<NodeFunctionProps, 'memorySize' | 'timeout'>;

/**
 * Builds the function of one handler as `scope`'s child `id`. The stack makes one per handler
 * from its wiring table (lib/handler-wiring.ts: description, environment, grants); a construct
 * that holds a function calls it and adds only what is its own job (routes, targets, retries).
 */
export type HandlerFunctionFactory = (scope: Construct, id: string, sizing?: FunctionSizing) => NodeFunction;

/**
 * A `NodejsFunction` with the project's defaults, its own log group, and a role that may write
 * to that log group and nothing else until a caller grants more.
 */
export class NodeFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;
  public readonly handlerName: HandlerName;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.handlerName = props.handlerName;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? SETTINGS.logRetentionDays.default,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });

    // Our own role instead of the default one with AWSLambdaBasicExecutionRole, whose
    // logs:CreateLogGroup/CreateLogStream/PutLogEvents apply to every log group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.handlerName} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handlerName),
      handler: 'handler',
      depsLockFilePath: LOCK_FILE,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description ? { description: props.description } : {}),
      environment: { ...SHARED_ENVIRONMENT, ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_OPTIONS.target,
        minify: BUNDLE_OPTIONS.minify,
        sourceMap: BUNDLE_OPTIONS.sourcemap,
        sourcesContent: BUNDLE_OPTIONS.sourcesContent,
        bundleAwsSDK: true,
        mainFields: [...BUNDLE_OPTIONS.mainFields],
        banner: BUNDLE_OPTIONS.banner.js,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_OPTIONS.alias).map(([from, to]) => [`--alias:${from}`, to]),
        ),
      },
    });

    Validations.of(this.function.node.defaultChild as CfnFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is pinned on purpose and is in Lambda standard support: the bundles are built with esbuild target node22, ' +
        'and a newer major (nodejs24.x) is adopted as a tested upgrade of runtime and bundle target together, not as synth-time drift.',
    });
  }
}
