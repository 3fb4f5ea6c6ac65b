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
export const ACTIONS = [Route.auth, Route.ping, Route.subscribe, Route.unsubscribe, Route.resume] as const;
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
  ping: 'ping',
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

/** Which handler serves each route; `unsubscribe` shares the subscribe function. */
// `@__PURE__`: computed keys read `Route`, which a bundler cannot prove side-effect free; bundles that
// never read the table (the client SDK) drop it.
export const ROUTES: Readonly<Record<RouteKey, RouteSpec>> = /* @__PURE__ */ (() => ({
  [Route.connect]: { handler: Handler.connect, returnResponse: false },
  [Route.disconnect]: { handler: Handler.disconnect, returnResponse: false },
  [Route.default]: { handler: Handler.default, returnResponse: true },
  [Route.auth]: { handler: Handler.auth, returnResponse: true },
  [Route.ping]: { handler: Handler.ping, returnResponse: true },
  [Route.subscribe]: { handler: Handler.subscribe, returnResponse: true },
  [Route.unsubscribe]: { handler: Handler.subscribe, returnResponse: true },
  [Route.resume]: { handler: Handler.resume, returnResponse: true },
}))();

/** `@__PURE__`: bundles that never read it (the client SDK) drop it and the table with it. */
export const ROUTE_KEYS = /* @__PURE__ */ Object.keys(ROUTES) as RouteKey[];

/** Local/default stage name. */
export const DEFAULT_STAGE = 'dev';
