/** The local WebSocket gateway's options, route table and handle (`gateway.ts` implements them). */
import type { MockRouteSpec, RouteKey } from '../../lambdas/contract/index.js';
import type { WebSocketProxyEvent } from './apigw-events.js';
import type { FaultPlan } from './faults.js';
import type { LambdaHandler } from './lambda.js';
import type { Log } from './log.js';

export type WebSocketHandler = LambdaHandler<WebSocketProxyEvent, unknown>;

export interface RouteBinding {
  handler: WebSocketHandler;
  /** The handler's `body` is sent back to the client (API Gateway route response). */
  returnResponse: boolean;
  /** Lambda function name in the context and logs; defaults to the route key. */
  functionName?: string;
}

/** Handlers by route; a frame selects only routes present here. */
export type RouteTable = Partial<Record<RouteKey, RouteBinding>>;

export interface GatewayOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  stage: string;
  /** The route table, or a promise of it (requests wait until it is ready). */
  routes: RouteTable | Promise<RouteTable>;
  /** Fractions allowed (tests). */
  idleTimeoutSeconds?: number;
  maxConnectionSeconds?: number;
  /** API Gateway's integration timeout. */
  handlerTimeoutMs?: number;
  /** Frames waiting per connection before new ones are refused with a throttling frame. */
  maxQueuedMessages?: number;
  /** Enables fault injection and its control endpoint `/_local/faults`. */
  faults?: FaultPlan;
  /**
   * Routes the gateway answers itself, as API Gateway's MOCK integrations do; a route here is
   * never looked up in `routes`.
   * @default MOCK_ROUTES (the contract's)
   */
  mockRoutes?: Partial<Record<RouteKey, MockRouteSpec>>;
  /** How long `close()` waits for `$disconnect` handlers. */
  shutdownGraceMs?: number;
  log?: Log;
}

export interface Gateway {
  port: number;
  /** `ws://host:port` */
  url: string;
  /** Management API endpoint for the SDK client: `http://host:port`. */
  managementUrl: string;
  connectionIds(): string[];
  /** Resolves when no handler invocation is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
