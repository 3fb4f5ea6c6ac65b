/**
 * WebSocket routes and the Lambda handlers behind them. The stack builds its routes from this
 * table, the local gateway emulator selects routes with it, and clients name an `action`.
 */

/** API Gateway route selection: the `action` field of a JSON frame. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

export const Route = {
  connect: '$connect',
  disconnect: '$disconnect',
  default: '$default',
  auth: 'auth',
  ping: 'ping',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  resume: 'resume',
} as const;
export type RouteKey = (typeof Route)[keyof typeof Route];

/** The client actions: route keys a JSON frame selects with `{"action": …}`. */
export const ACTIONS = /* @__PURE__ */ (() =>
  [Route.auth, Route.ping, Route.subscribe, Route.unsubscribe, Route.resume] as const)();
export type Action = (typeof ACTIONS)[number];

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

/**
 * Every Lambda function, by name. Its code lives in `lambdas/handlers/<name>.ts` and exports
 * `handler`.
 */
export const Handler = {
  connect: 'connect',
  disconnect: 'disconnect',
  default: 'default',
  auth: 'auth',
  subscribe: 'subscribe',
  resume: 'resume',
  broadcaster: 'broadcaster',
  sweeper: 'sweeper',
  /** The HTTP API (`HTTP_ROUTES` in `http.ts`): polling, presence, status, health. */
  http: 'http',
} as const;
export type HandlerName = (typeof Handler)[keyof typeof Handler];

export interface RouteSpec {
  readonly handler: HandlerName;
  /**
   * True when the handler's return `body` is the reply to the client (an API Gateway route
   * response). `$connect` and `$disconnect` cannot reply.
   */
  readonly returnResponse: boolean;
}

/**
 * A route API Gateway answers itself: a MOCK integration whose integration response renders
 * `responseTemplate` (a mapping template: `$context.<name>` is substituted), returned to the
 * client by the route response. No function runs, nothing is read.
 */
export interface MockRouteSpec {
  readonly responseTemplate: string;
}

/**
 * The `pong` reply, stamped by API Gateway: `timestamp` is `$context.requestTime` (API Gateway's
 * CLF format, `02/Dec/2026:04:39:00 +0000`) and `data.requestTimeEpoch` the same instant in
 * epoch milliseconds. A mapping template has no date formatting, so unlike the other control
 * messages `pong`'s timestamp is not ISO 8601.
 */
export const PONG_TEMPLATE =
  '{"type":"pong","data":{"requestTimeEpoch":$context.requestTimeEpoch},"timestamp":"$context.requestTime"}';

/** Routes with no Lambda behind them. `ping` is 180 requests a day per connection. */
// `@__PURE__` (here and below): computed keys read `Route`, which a bundler cannot prove side-effect
// free; bundles that never read these tables (the client SDK) drop them.
export const MOCK_ROUTES = /* @__PURE__ */ (() =>
  ({
    [Route.ping]: { responseTemplate: PONG_TEMPLATE },
  }) as const satisfies Partial<Record<RouteKey, MockRouteSpec>>)();
export type MockRouteKey = keyof typeof MOCK_ROUTES;
export type LambdaRouteKey = Exclude<RouteKey, MockRouteKey>;

/** Which handler serves each Lambda route; `unsubscribe` shares the subscribe function. */
export const ROUTES: Readonly<Record<LambdaRouteKey, RouteSpec>> = /* @__PURE__ */ (() => ({
  [Route.connect]: { handler: Handler.connect, returnResponse: false },
  [Route.disconnect]: { handler: Handler.disconnect, returnResponse: false },
  [Route.default]: { handler: Handler.default, returnResponse: true },
  [Route.auth]: { handler: Handler.auth, returnResponse: true },
  [Route.subscribe]: { handler: Handler.subscribe, returnResponse: true },
  [Route.unsubscribe]: { handler: Handler.subscribe, returnResponse: true },
  [Route.resume]: { handler: Handler.resume, returnResponse: true },
}))();

/** The routes served by a function. */
export const LAMBDA_ROUTE_KEYS = /* @__PURE__ */ Object.keys(ROUTES) as LambdaRouteKey[];
export const MOCK_ROUTE_KEYS = /* @__PURE__ */ Object.keys(MOCK_ROUTES) as MockRouteKey[];
/** Every route, Lambda and MOCK. */
export const ROUTE_KEYS: readonly RouteKey[] = /* @__PURE__ */ (() => [...LAMBDA_ROUTE_KEYS, ...MOCK_ROUTE_KEYS])();

export function isMockRoute(key: RouteKey): key is MockRouteKey {
  return Object.hasOwn(MOCK_ROUTES, key);
}

/** What a MOCK route's template may name: `$context.<name>`. */
export interface MockContext {
  /** Epoch milliseconds. */
  readonly requestTimeEpoch: number;
  /** API Gateway's CLF request time. */
  readonly requestTime: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `$context.requestTime` in API Gateway's (CLF) format: `21/Nov/2025:20:59:00 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The `$context` of a request at `epochMs`. */
export function mockContext(epochMs: number): MockContext {
  return { requestTimeEpoch: epochMs, requestTime: requestTime(epochMs) };
}

/**
 * Renders a MOCK route's template as API Gateway does for the `$context` variables it uses;
 * the local gateway answers MOCK routes with it.
 */
export function renderMockReply(template: string, context: MockContext): string {
  return template.replace(/\$context\.(requestTimeEpoch|requestTime)\b/g, (_, name: keyof MockContext) =>
    String(context[name]),
  );
}

/** Local/default stage name. */
export const DEFAULT_STAGE = 'dev';
