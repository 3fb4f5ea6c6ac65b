/**
 * The contract: the one place where event types, the envelope, client/server messages, routes,
 * table keys, environment variable names and settings (defaults and ranges) are spelled out.
 * Imports zod only (`zod/mini`, through `./zod.ts`), so Lambda bundles stay small and the CDK stack
 * can import it at synth time.
 *
 * `package.json` here declares every contract module but `zod.ts` free of side effects: a bundle
 * leaves out a module none of whose exports it uses (a bundle that parses nothing has no zod, and
 * builds no schema at a cold start). Keep module scope to declarations; `zod.ts` is the one
 * exception (it configures zod's messages).
 */
export * from './aws-events.js';
export * from './catalog.js';
export * from './env.js';
export * from './envelope.js';
export * from './event-types.js';
export * from './events.js';
export * from './filter.js';
export * from './http.js';
export * from './limits.js';
export * from './messages.js';
export * from './protocol.js';
export * from './routes.js';
export * from './settings.js';
export * from './tables.js';
