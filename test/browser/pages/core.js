/**
 * The SDK's built ES module, loaded by the browser as is (`/client/index.js` is client/dist,
 * unbundled): one client, everything it reports recorded for the test (see recorder.js).
 *
 * Query: `url` (required), `eventTypes` (comma-separated), `lastEventId`, `autoconnect=0`,
 * `share=1` (shareAcrossTabs).
 */
import { createRealtimeClient } from '/client/index.js';
import { createRecorder, getTokenFor, params, record } from './recorder.js';

const log = createRecorder();
const { autoconnect, ...options } = params();
const client = createRealtimeClient({ ...options, getToken: getTokenFor(log) });
record(client, log);
if (autoconnect) client.connect();
log.ready = true;
