/**
 * EventBridge → connections: the event bus (new or imported), the broadcast rule with the
 * contract's pattern, and the broadcaster behind it with a dead-letter queue.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BROADCASTER_TIMEOUT_SECONDS, broadcastEventPattern, Handler } from '../../lambdas/contract/index.js';
import { asInterface } from './cdk-interop.js';
import { BROADCASTER_MEMORY_MB } from './function-bundle.js';
import type { HandlerFunctionFactory, NodeFunction } from './node-function.js';

/** EventBridge's own limits: it retries a failed delivery for at most 185 attempts / 24 hours. */
const TARGET_RETRY_ATTEMPTS = 185;
const TARGET_MAX_EVENT_AGE = Duration.hours(24);

export interface EventFanoutProps {
  /**
   * Builds the broadcaster function (its environment and grants are the caller's); this
   * construct sizes it and gives it its trigger, retries and dead-letter queue.
   */
  readonly broadcaster: HandlerFunctionFactory;
  /**
   * The broadcaster's memory in MB (its CPU share; its code cache is built for the heap flags
   * Lambda derives from it).
   * @default SETTINGS.broadcasterMemoryMb.default (1024)
   */
  readonly broadcasterMemoryMb?: number | undefined;
  /**
   * Attach to this existing event bus instead of creating one.
   * @default - a new event bus
   */
  readonly eventBusName?: string | undefined;
  /**
   * Only broadcast events whose `source` is one of these.
   * @default - any source
   */
  readonly eventSources?: readonly string[] | undefined;
  /**
   * What happens to the dead-letter queue when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
}

export class EventFanout extends Construct {
  public readonly eventBus: events.IEventBus;
  public readonly broadcastRule: events.Rule;
  public readonly broadcaster: NodeFunction;
  /** Events EventBridge could not deliver, and broadcaster invocations that kept failing. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventFanoutProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.eventBus = props.eventBusName
      ? events.EventBus.fromEventBusName(this, 'Bus', props.eventBusName)
      : asInterface<events.IEventBus>(
          new events.EventBus(this, 'Bus', { description: 'Domain events broadcast to tenant WebSocket connections' }),
        );

    // SQS-managed encryption: EventBridge cannot send to a queue encrypted with the AWS-managed
    // KMS key (alias/aws/sqs), whose key policy it cannot be granted.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: of the broadcast rule target (events EventBridge could not deliver) and the ' +
        "broadcaster's async-invocation failure destination. Nothing consumes it automatically; an alarm fires on its first message.",
    });

    // The resume overlap (REPLAY_OVERLAP_SECONDS) is derived from this timeout: keep them one.
    this.broadcaster = props.broadcaster(this, 'Broadcaster', {
      memorySize: props.broadcasterMemoryMb ?? BROADCASTER_MEMORY_MB,
      timeout: Duration.seconds(BROADCASTER_TIMEOUT_SECONDS),
    });
    if (this.broadcaster.handlerName !== Handler.broadcaster) {
      throw new Error(
        `EventFanout: the broadcaster must run the "${Handler.broadcaster}" handler, got "${this.broadcaster.handlerName}"`,
      );
    }
    // EventBridge invokes the function asynchronously: its retry policy covers failed
    // invocations (throttling, service errors), while an error thrown by the handler is retried
    // by Lambda and then lands here through the failure destination.
    this.broadcaster.function.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    this.broadcastRule = new events.Rule(this, 'BroadcastRule', {
      eventBus: this.eventBus,
      description: 'Every event whose detail carries a tenantId goes to the broadcaster',
      eventPattern: broadcastEventPattern(props.eventSources),
      targets: [
        new targets.LambdaFunction(this.broadcaster.function, {
          retryAttempts: TARGET_RETRY_ATTEMPTS,
          maxEventAge: TARGET_MAX_EVENT_AGE,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
