/**
 * The deployment: composition of the connection store, the WebSocket gateway, the HTTP API, the
 * event fan-out and observability. Every resource lives in one of those constructs.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type RealtimeConfig, removalPolicyFor, validateConfig } from './config.js';
import { ConnectionStore } from './constructs/connection-store.js';
import { EventFanout } from './constructs/event-fanout.js';
import { HttpApiGateway } from './constructs/http-api.js';
import { Observability } from './constructs/observability.js';
import { WebSocketGateway } from './constructs/websocket-gateway.js';

export interface RealtimeStackProps extends StackProps {
  /**
   * The deployment options (see `CONFIG_OPTIONS`).
   * @default - every option at its default (`validateConfig({})`)
   */
  readonly config?: RealtimeConfig;
}

/** Stack name for a stage, e.g. `TenantRealtime-dev`. */
export function stackNameFor(stage: string): string {
  return `TenantRealtime-${stage}`;
}

export class RealtimeStack extends Stack {
  public readonly config: RealtimeConfig;
  public readonly store: ConnectionStore;
  public readonly gateway: WebSocketGateway;
  public readonly httpApi: HttpApiGateway;
  public readonly fanout: EventFanout;
  public readonly observability: Observability;

  constructor(scope: Construct, id: string, props: RealtimeStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? validateConfig();
    this.config = config;
    const removalPolicy = removalPolicyFor(config);
    const isProd = config.stage === 'prod';

    this.store = new ConnectionStore(this, 'Store', { removalPolicy, deletionProtection: isProd });

    this.gateway = new WebSocketGateway(this, 'Gateway', {
      store: this.store,
      stageName: config.stage,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      authTimeoutSeconds: config.authTimeoutSeconds,
      ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
      tokens: {
        tenantClaim: config.tenantClaim,
        ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
        ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
        ...(config.jwksUrl ? { jwksUrl: config.jwksUrl } : {}),
        ...(config.jwtSecretArn
          ? { secret: secretsmanager.Secret.fromSecretCompleteArn(this, 'JwtSecret', config.jwtSecretArn) }
          : {}),
      },
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    // ---- HTTP API (issue 11): same token verification, store and origins as the WebSocket side.
    this.httpApi = new HttpApiGateway(this, 'HttpApi', {
      store: this.store,
      tokens: this.gateway.tokens,
      ...(this.gateway.jwtSecret ? { jwtSecret: this.gateway.jwtSecret } : {}),
      stageName: config.stage,
      statusRole: config.statusRole,
      eventRetentionHours: config.eventRetentionHours,
      ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });
    // ---- end HTTP API

    this.fanout = new EventFanout(this, 'Fanout', {
      store: this.store,
      stage: this.gateway.stage,
      ...(config.eventBusName ? { eventBusName: config.eventBusName } : {}),
      ...(config.eventSources ? { eventSources: config.eventSources } : {}),
      eventRetentionHours: config.eventRetentionHours,
      fanoutConcurrency: config.fanoutConcurrency,
      ...(config.fanoutMaxRps !== undefined ? { fanoutMaxRps: config.fanoutMaxRps } : {}),
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    this.observability = new Observability(this, 'Observability', {
      stage: this.gateway.stage,
      routeFunctions: [...this.gateway.functions.values(), this.httpApi.handler],
      broadcaster: this.fanout.broadcaster,
      sweeper: this.fanout.sweeper,
      deadLetterQueue: this.fanout.deadLetterQueue,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
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
    new CfnOutput(this, 'ConnectionsTableName', { value: this.store.connections.tableName });
    new CfnOutput(this, 'EventLogTableName', { value: this.store.eventLog.tableName });
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
