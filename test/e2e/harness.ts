/** The e2e tests drive the runtime with the same tools as the bench and load scripts. */
export * from '../../bin/tools/harness.js';
export * from '../../bin/tools/ws-client.js';
