/**
 * EventBridge → connections: the event bus (new or imported), the broadcast rule with the
 * contract's pattern, the broadcaster behind it with a dead-letter queue, and the sweeper on a
 * one-minute schedule.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BROADCASTER_TIMEOUT_SECONDS,
  broadcastEventPattern,
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_FANOUT_CONCURRENCY,
  Env,
  Handler,
  SWEEP_INDEX,
  TENANT_INDEX,
  USER_INDEX,
} from '../../lambdas/contract/index.js';
import { asInterface } from './cdk-interop.js';
import type { ConnectionStore } from './connection-store.js';
import { NodeFunction } from './node-function.js';
import { grantManageConnections } from './websocket-gateway.js';

/** EventBridge's own limits: it retries a failed delivery for at most 185 attempts / 24 hours. */
const TARGET_RETRY_ATTEMPTS = 185;
const TARGET_MAX_EVENT_AGE = Duration.hours(24);

export interface EventFanoutProps {
  /** Where connection records and the event log live. */
  readonly store: ConnectionStore;
  /** The WebSocket stage whose connections receive events (management endpoint and grant). */
  readonly stage: WebSocketStage;
  /**
   * Attach to this existing event bus instead of creating one.
   * @default - a new event bus
   */
  readonly eventBusName?: string;
  /**
   * Only broadcast events whose `source` is one of these.
   * @default - any source
   */
  readonly eventSources?: readonly string[];
  /**
   * Hours the event log keeps an event for `resume`.
   * @default DEFAULT_EVENT_RETENTION_HOURS (24)
   */
  readonly eventRetentionHours?: number;
  /**
   * PostToConnection calls in flight per broadcaster invocation.
   * @default DEFAULT_FANOUT_CONCURRENCY (100)
   */
  readonly fanoutConcurrency?: number;
  /**
   * Cap on PostToConnection calls per second per broadcaster invocation.
   * @default - no cap
   */
  readonly fanoutMaxRps?: number;
  /**
   * Retention of the functions' log groups.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to log groups and the dead-letter queue when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class EventFanout extends Construct {
  public readonly eventBus: events.IEventBus;
  public readonly broadcastRule: events.Rule;
  public readonly broadcaster: NodeFunction;
  /** Events EventBridge could not deliver, and broadcaster invocations that kept failing. */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly sweeper: NodeFunction;
  public readonly sweepSchedule: events.Rule;

  constructor(scope: Construct, id: string, props: EventFanoutProps) {
    super(scope, id);
    const { store, stage } = props;
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

    this.broadcaster = new NodeFunction(this, 'Broadcaster', {
      handlerName: Handler.broadcaster,
      description: 'Fans a domain event out to the subscribed connections of its tenant and logs it for resume',
      memorySize: 1024,
      // The resume overlap (REPLAY_OVERLAP_SECONDS) is derived from this timeout: keep them one.
      timeout: Duration.seconds(BROADCASTER_TIMEOUT_SECONDS),
      logRetention: props.logRetention,
      removalPolicy,
      environment: {
        [Env.connectionsTable]: store.connections.tableName,
        [Env.eventLogTable]: store.eventLog.tableName,
        [Env.managementEndpoint]: stage.callbackUrl,
        [Env.eventRetentionHours]: String(props.eventRetentionHours ?? DEFAULT_EVENT_RETENTION_HOURS),
        [Env.fanoutConcurrency]: String(props.fanoutConcurrency ?? DEFAULT_FANOUT_CONCURRENCY),
        ...(props.fanoutMaxRps !== undefined ? { [Env.fanoutMaxRps]: String(props.fanoutMaxRps) } : {}),
      },
    });
    store.grantQueryConnectionIndex(this.broadcaster.function, TENANT_INDEX);
    store.grantQueryConnectionIndex(this.broadcaster.function, USER_INDEX);
    // UpdateItem: mark a connection broken when it missed an event and could not be closed.
    store.grantConnections(this.broadcaster.function, 'dynamodb:DeleteItem', 'dynamodb:UpdateItem');
    // UpdateItem: point a retry's log copy at the event's first copy.
    store.grantEventLog(
      this.broadcaster.function,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
    );
    grantManageConnections(stage, this.broadcaster);
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

    this.sweeper = new NodeFunction(this, 'Sweeper', {
      handlerName: Handler.sweeper,
      description: 'Closes pending connections past their auth deadline and sessions whose token expired',
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
      removalPolicy,
      environment: {
        [Env.connectionsTable]: store.connections.tableName,
        [Env.managementEndpoint]: stage.callbackUrl,
      },
    });
    store.grantQueryConnectionIndex(this.sweeper.function, SWEEP_INDEX);
    store.grantConnections(this.sweeper.function, 'dynamodb:DeleteItem');
    grantManageConnections(stage, this.sweeper);
    // The next run, a minute later, is the retry.
    this.sweeper.function.configureAsyncInvoke({ retryAttempts: 0 });

    this.sweepSchedule = new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the connection sweeper every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.sweeper.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });
  }
}
