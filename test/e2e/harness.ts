/** The e2e tests drive the runtime with the same tools as the bench and load scripts. */
export * from '../../bin/tools/harness.js';
export * from '../../bin/tools/ws-client.js';

/** The keys of a live envelope, sorted: the seed's five fields and issue 14's source and priority. */
export const LIVE_ENVELOPE_KEYS = ['data', 'eventId', 'priority', 'source', 'tenantId', 'timestamp', 'type'];
