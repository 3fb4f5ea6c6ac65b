/**
 * The one place that holds the shared Lambda defaults: Node.js 22 on ARM, a code package built by
 * `buildFunctionAsset` (the handler bundle with the AWS SDK inside, its V8 code cache, a source map
 * not loaded at start), Powertools settings, and a log group with a retention.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Duration, FileSystem, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type HandlerName, SETTINGS } from '../../lambdas/contract/index.js';
import {
  BUNDLE_OPTIONS,
  buildFunctionAsset,
  FUNCTION_MEMORY_MB,
  LAMBDA_HANDLER,
  lambdaNodeFlags,
  SHARED_ENVIRONMENT,
} from './function-bundle.js';

/** The sources a code package is built from: its hash is theirs (with the lockfile and the build settings). */
const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));
const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('../../package-lock.json', import.meta.url));

export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;

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
   * @default FUNCTION_MEMORY_MB[handlerName] (256; the broadcaster 1,024)
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
export type FunctionSizing = Pick<NodeFunctionProps, 'memorySize' | 'timeout'>;

/**
 * Builds the function of one handler as `scope`'s child `id`. The stack makes one per handler
 * from its wiring table (lib/handler-wiring.ts: description, environment, grants); a construct
 * that holds a function calls it and adds only what is its own job (routes, targets, retries).
 */
export type HandlerFunctionFactory = (scope: Construct, id: string, sizing?: FunctionSizing) => NodeFunction;

/**
 * A Lambda function with the project's defaults, its own log group, and a role that may write
 * to that log group and nothing else until a caller grants more.
 */
export class NodeFunction extends Construct {
  public readonly function: LambdaFunction;
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

    const memorySize = props.memorySize ?? FUNCTION_MEMORY_MB[props.handlerName];
    this.function = new LambdaFunction(this, 'Function', {
      code: functionCode(props.handlerName, memorySize),
      handler: LAMBDA_HANDLER,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description ? { description: props.description } : {}),
      environment: { ...SHARED_ENVIRONMENT, ...props.environment },
    });

    Validations.of(this.function.node.defaultChild as CfnFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is pinned on purpose and is in Lambda standard support: the bundles are built with esbuild target node22, ' +
        'and a newer major (nodejs24.x) is adopted as a tested upgrade of runtime and bundle target together, not as synth-time drift.',
    });
  }
}

/**
 * A handler's code package, built at synth by `buildFunctionAsset` through CDK's local bundling
 * (skipped, as for any asset, in stacks that do not need it). The asset hash is that of what the
 * package is built from: the `lambdas/` sources, the lockfile, the build options, the Node that
 * builds it and the function's memory (the flags the code cache is written under), since the
 * cache itself differs from one build to the next.
 */
function functionCode(handlerName: HandlerName, memoryMb: number): Code {
  const inputs = createHash('sha256')
    .update(FileSystem.fingerprint(LAMBDAS_DIR))
    .update(readFileSync(LOCK_FILE))
    // Paths relative to the checkout, so that the same commit hashes the same on every machine.
    .update(JSON.stringify({ handlerName, BUNDLE_OPTIONS, v8: process.versions.v8, flags: lambdaNodeFlags(memoryMb) }))
    .digest('hex')
    .replaceAll(ROOT_DIR, '');
  return Code.fromAsset(LAMBDAS_DIR, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: inputs,
    bundling: {
      image: FUNCTION_RUNTIME.bundlingImage,
      local: {
        tryBundle(outputDir: string): boolean {
          buildFunctionAsset(handlerName, outputDir, { memoryMb });
          return true;
        },
      },
    },
  });
}
