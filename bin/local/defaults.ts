/**
 * Defaults of the local runtime and its CLI tools. Everything here is for local development
 * only; a deployed stack never reads this file.
 */

/**
 * HS256 secret used when JWT_SECRET is unset: by `npm start` (handlers verify with it) and by
 * `npm run token` (signs with it), so the two agree out of the box. Public by design, so it
 * must never protect anything real.
 */
export const LOCAL_DEV_JWT_SECRET = 'tenant-realtime-local-dev-secret-do-not-use-in-prod';

/** Ports of `npm start` (serverless-offline also uses 3001 for WebSockets). */
export const DEFAULT_WS_PORT = 3001;
export const DEFAULT_EVENTS_PORT = 3002;
export const DEFAULT_HTTP_PORT = 3003;
export const DEFAULT_HOST = '127.0.0.1';

/** How often the local runtime invokes the sweeper (EventBridge schedules it every minute in AWS). */
export const DEFAULT_SWEEP_INTERVAL_SECONDS = 5;

/** Default `source` of events put with `npm run emit`. */
export const DEFAULT_EVENT_SOURCE = 'app.local';

/** Every SDK client aimed at a local endpoint needs a region and credentials; any value works. */
export const LOCAL_REGION = 'local';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
/** The account id in events and ARNs built locally. */
export const LOCAL_ACCOUNT = '000000000000';

/** Table names for a stage, e.g. `tenant-realtime-dev-connections`. */
export function localTableNames(stage: string): { connections: string; events: string } {
  return { connections: `tenant-realtime-${stage}-connections`, events: `tenant-realtime-${stage}-events` };
}
