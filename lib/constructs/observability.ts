/**
 * Alarms and a dashboard: dead letters, broadcaster and sweeper errors, connections left broken,
 * throttling of every function, and an optional encrypted SNS topic that e-mails each alarm.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BroadcastMetric,
  METRICS_NAMESPACE,
  REJECT_REASON_DIMENSION,
  SERVICE_NAME,
} from '../../lambdas/contract/index.js';
import type { NodeFunction } from './node-function.js';

const PERIOD = Duration.minutes(1);

/**
 * One of the broadcaster's custom metrics (Powertools adds the `service` dimension). A label
 * (dashboards) turns an alarm's metric into a metric-math form: alarms pass none.
 */
function broadcastMetric(name: string, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
    ...(label ? { label } : {}),
  });
}

export interface ObservabilityProps {
  /** The WebSocket stage (connection and message counts). */
  readonly stage: WebSocketStage;
  /** Functions behind the WebSocket routes. */
  readonly routeFunctions: readonly NodeFunction[];
  readonly broadcaster: NodeFunction;
  readonly sweeper: NodeFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Subscribe this address to a topic that receives every alarm.
   * @default - no topic; alarms only show in the console
   */
  readonly alarmEmail?: string | undefined;
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string | undefined;
  /**
   * What happens to the topic's KMS key when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
}

export class Observability extends Construct {
  public readonly alarms: readonly cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;
  /** Receives every alarm; only when `alarmEmail` is set. */
  public readonly alarmTopic?: sns.Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const allFunctions = [...props.routeFunctions, props.broadcaster, props.sweeper];
    const alarms: cloudwatch.Alarm[] = [];
    const alarmWhenAboveZero = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarms.push(alarm);
    };

    alarmWhenAboveZero(
      'DeadLetterAlarm',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      'Events were dead-lettered: EventBridge could not deliver them to the broadcaster, or the broadcaster kept failing. Inspect and redrive the queue.',
    );
    alarmWhenAboveZero(
      'BroadcasterErrorsAlarm',
      props.broadcaster.function.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      'The broadcaster threw (storage or configuration failure); Lambda retries, then dead-letters the event.',
    );
    alarmWhenAboveZero(
      'SweeperErrorsAlarm',
      props.sweeper.function.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      'The sweeper failed: pending and expired connections are not being closed.',
    );
    alarmWhenAboveZero(
      'BrokenConnectionsAlarm',
      broadcastMetric(BroadcastMetric.broken),
      'A delivery failed for good and the connection could not be closed either (the management API is failing): ' +
        'the client misses events until the sweeper closes it and it resumes. Check API Gateway and the broadcaster logs.',
    );
    for (const fn of allFunctions) {
      alarmWhenAboveZero(
        `${fn.node.id}ThrottlesAlarm`,
        fn.function.metricThrottles({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
        `The ${fn.handlerName} function was throttled (account or reserved concurrency exhausted).`,
      );
    }
    this.alarms = alarms;

    if (props.alarmEmail) {
      // A customer-managed key: CloudWatch alarms cannot publish to a topic encrypted with the
      // AWS-managed SNS key, whose policy cannot grant them kms:GenerateDataKey.
      const key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the alarm topic',
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      });
      key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
      this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
        masterKey: key,
        enforceSSL: true,
        displayName: 'Tenant realtime alarms',
      });
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
      const action = new SnsAction(this.alarmTopic);
      for (const alarm of alarms) alarm.addAlarmAction(action);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
    });
    const stageMetric = (name: string) =>
      props.stage.metric(name, { period: PERIOD, statistic: cloudwatch.Stats.SUM, label: name });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Connections and messages',
        left: [stageMetric('ConnectCount'), stageMetric('MessageCount')],
        right: [stageMetric('ClientError'), stageMetric('IntegrationError'), stageMetric('ExecutionError')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'visible',
          }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Invocations',
        left: allFunctions.map((fn) =>
          fn.function.metricInvocations({ period: PERIOD, statistic: cloudwatch.Stats.SUM, label: fn.handlerName }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Errors and throttles',
        left: allFunctions.map((fn) =>
          fn.function.metricErrors({
            period: PERIOD,
            statistic: cloudwatch.Stats.SUM,
            label: `${fn.handlerName} errors`,
          }),
        ),
        right: allFunctions.map((fn) =>
          fn.function.metricThrottles({
            period: PERIOD,
            statistic: cloudwatch.Stats.SUM,
            label: `${fn.handlerName} throttles`,
          }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Broadcaster duration',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM].map((statistic) =>
          props.broadcaster.function.metricDuration({ period: PERIOD, statistic, label: statistic }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Deliveries',
        left: [BroadcastMetric.delivered, BroadcastMetric.filtered].map((m) => broadcastMetric(m, m)),
        right: [BroadcastMetric.gone, BroadcastMetric.failed, BroadcastMetric.closed, BroadcastMetric.broken].map((m) =>
          broadcastMetric(m, m),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Rejected events by reason',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},${REJECT_REASON_DIMENSION},service} MetricName="${BroadcastMetric.rejected}"', 'Sum', 60)`,
            usingMetrics: {},
            label: '',
            period: PERIOD,
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Broadcaster concurrency',
        left: [
          props.broadcaster.function.metric('ConcurrentExecutions', {
            period: PERIOD,
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'concurrent executions',
          }),
        ],
        width: 12,
      }),
    );
  }
}
