/**
 * The deployment: composition of the connection tables, the WebSocket gateway, the HTTP API,
 * the event fan-out, the connection lifecycle and observability. Every resource lives in one of
 * those constructs; every function is wired by `HANDLER_WIRING` (lib/handler-wiring.ts).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { Handler, type HandlerName } from '../lambdas/contract/index.js';
import { type RealtimeConfig, removalPolicyFor, validateConfig } from './config.js';
import { ConnectionLifecycle } from './constructs/connection-lifecycle.js';
import { ConnectionTables } from './constructs/connection-tables.js';
import { EventFanout } from './constructs/event-fanout.js';
import { HttpApiGateway } from './constructs/http-api.js';
import type { NodeFunction } from './constructs/node-function.js';
import { Observability } from './constructs/observability.js';
import { ROUTE_HANDLERS, WebSocketGateway } from './constructs/websocket-gateway.js';
import { HandlerFunctions } from './handler-wiring.js';

export interface RealtimeStackProps extends StackProps {
  /**
   * The deployment options (see `CONFIG_OPTIONS`).
   * @default - every option at its default (`validateConfig({})`)
   */
  readonly config?: RealtimeConfig | undefined;
}

/** Stack name for a stage, e.g. `TenantRealtime-dev`. */
export function stackNameFor(stage: string): string {
  return `TenantRealtime-${stage}`;
}

export class RealtimeStack extends Stack {
  public readonly config: RealtimeConfig;
  public readonly tables: ConnectionTables;
  public readonly gateway: WebSocketGateway;
  public readonly httpApi: HttpApiGateway;
  public readonly fanout: EventFanout;
  public readonly lifecycle: ConnectionLifecycle;
  public readonly observability: Observability;
  /** Every function, by the handler it runs. */
  public readonly functions: { readonly [H in HandlerName]: NodeFunction };

  constructor(scope: Construct, id: string, props: RealtimeStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? validateConfig();
    this.config = config;
    const removalPolicy = removalPolicyFor(config);

    // Construct ids are part of every logical id: 'Store' predates the class name ConnectionTables.
    this.tables = new ConnectionTables(this, 'Store', { removalPolicy, deletionProtection: config.stage === 'prod' });

    this.gateway = new WebSocketGateway(this, 'Gateway', {
      stageName: config.stage,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      tokens: {
        jwksUrl: config.jwksUrl,
        secret:
          config.jwtSecretArn === undefined
            ? undefined
            : secretsmanager.Secret.fromSecretCompleteArn(this, 'JwtSecret', config.jwtSecretArn),
      },
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    const functions = new HandlerFunctions({ config, tables: this.tables, gateway: this.gateway });
    for (const handler of ROUTE_HANDLERS) this.gateway.addRouteHandler(handler, functions.factory(handler));

    // The HTTP API: the same token verification, tables and origin allowlist as the WebSocket side.
    this.httpApi = new HttpApiGateway(this, 'HttpApi', {
      handler: functions.factory(Handler.http),
      allowedOrigins: config.allowedOrigins,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    this.fanout = new EventFanout(this, 'Fanout', {
      broadcaster: functions.factory(Handler.broadcaster),
      broadcasterMemoryMb: config.broadcasterMemoryMb,
      eventBusName: config.eventBusName,
      eventSources: config.eventSources,
      removalPolicy,
    });

    // The sweeper and its schedule used to live in EventFanout, at 'Fanout/Sweeper' and
    // 'Fanout/SweepSchedule'. A construct id of 'Default' is left out of logical ids, so the
    // lifecycle construct at 'Default/Fanout' keeps their logical ids: a deployed stack updates
    // them in place instead of replacing the function, its role and its log group.
    const keepFanoutLogicalIds = new Construct(this, 'Default');
    this.lifecycle = new ConnectionLifecycle(keepFanoutLogicalIds, 'Fanout', {
      sweeper: functions.factory(Handler.sweeper),
    });
    this.functions = functions.all();

    this.observability = new Observability(this, 'Observability', {
      stage: this.gateway.stage,
      routeFunctions: [...ROUTE_HANDLERS.map((handler) => this.functions[handler]), this.functions.http],
      broadcaster: this.functions.broadcaster,
      sweeper: this.functions.sweeper,
      deadLetterQueue: this.fanout.deadLetterQueue,
      alarmEmail: config.alarmEmail,
      removalPolicy,
    });

    new CfnOutput(this, 'WebSocketUrl', { value: this.gateway.stage.url, description: 'Clients connect here' });
    new CfnOutput(this, 'HttpApiUrl', {
      value: this.httpApi.stage.url,
      description: 'HTTP API: GET /events (polling), /presence, /status, /health',
    });
    new CfnOutput(this, 'EventBusName', {
      value: this.fanout.eventBus.eventBusName,
      description: 'Domain services put events on this bus',
    });
    new CfnOutput(this, 'ConnectionsTableName', { value: this.tables.connections.tableName });
    new CfnOutput(this, 'EventLogTableName', { value: this.tables.eventLog.tableName });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.fanout.deadLetterQueue.queueUrl,
      description: 'Undeliverable events; an alarm fires on the first one',
    });
    if (this.gateway.jwtSecret) {
      new CfnOutput(this, 'JwtSecretArn', {
        value: this.gateway.jwtSecret.secretArn,
        description: 'HS256 key that token issuers sign with',
      });
    }
  }
}
