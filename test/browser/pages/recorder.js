/**
 * Shared by the test pages (browser code, no bundler needed): records what a client reports
 * into `globalThis.__rt`, a plain JSON-safe object the test reads with `page.evaluate`.
 * The client itself is at `globalThis.__rtClient`.
 *
 * Tokens come from the test, which exposes `globalThis.__rtToken()` (playwright's
 * `page.exposeFunction`) and mints them in Node with the runtime's dev secret.
 */

/** Errors and other class instances, flattened to what JSON can carry. */
export function plain(value) {
  try {
    return JSON.parse(
      JSON.stringify(value ?? null, (_key, v) => {
        if (v instanceof Error) return { name: v.name, message: v.message, ...v };
        if (typeof v === 'function') return undefined;
        return v;
      }),
    );
  } catch (err) {
    return { unserializable: String(err) };
  }
}

export function createRecorder() {
  const log = {
    ready: false,
    states: [],
    events: [],
    errors: [],
    gaps: [],
    tokenCalls: 0,
    /** Named lists a page may add to (e.g. the React page's handler calls). */
    extra: {},
  };
  globalThis.__rt = log;
  return log;
}

export function params() {
  const q = new URLSearchParams(location.search);
  const url = q.get('url');
  if (!url) throw new Error('page needs ?url=ws://…');
  const eventTypes = q.get('eventTypes');
  const lastEventId = q.get('lastEventId');
  const share = q.get('share');
  return {
    url,
    autoconnect: q.get('autoconnect') !== '0',
    ...(eventTypes ? { eventTypes: eventTypes.split(',') } : {}),
    ...(lastEventId ? { lastEventId } : {}),
    // `share=1`: shareAcrossTabs true; any other value is the sharing key itself.
    ...(share ? { shareAcrossTabs: share === '1' ? true : share } : {}),
  };
}

/** A `getToken` that asks the test for a fresh token and counts the calls. */
export function getTokenFor(log) {
  return async () => {
    log.tokenCalls += 1;
    if (typeof globalThis.__rtToken !== 'function') throw new Error('the test did not expose __rtToken');
    return globalThis.__rtToken();
  };
}

/** Subscribes the recorder to a client's `state`, `event`, `gap` and `error` reports. */
export function record(client, log) {
  client.on('state', (state, info) => log.states.push({ state, info: plain(info), at: Date.now() }));
  client.on('event', (envelope) => log.events.push(plain(envelope)));
  client.on('gap', (info) => log.gaps.push(plain(info)));
  client.on('error', (err) => log.errors.push(plain(err)));
  globalThis.__rtClient = client;
}
