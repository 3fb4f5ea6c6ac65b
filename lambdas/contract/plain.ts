/**
 * The zod-free part of the contract: routes, limits, protocol names and builders, event type
 * names and detail types, the subscription filter's matching (filter.ts, which the server runs
 * too), and the HTTP API's routes, parameters and answers. The client SDK imports this module
 * (never `index.ts`), so its bundle carries no schema library; a test fails if zod reaches the bundle.
 */
export * from './event-types.js';
export * from './filter.js';
export * from './http.js';
export * from './limits.js';
export * from './protocol.js';
export * from './routes.js';
