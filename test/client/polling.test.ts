/**
 * The polling transport and the hybrid fallback on fake sockets, a fake `fetch` and fake timers:
 * `transport: 'polling'`, the fallback after failed connects, paging with `more`, gaps, token
 * refresh on 401, fatal auth codes, the switch back to the WebSocket without loss or duplicate,
 * `presence()`, and `close()` leaving no timer or request behind.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRealtimeClient, RealtimeError } from '../../client/src/index.js';
import { FakeHttp } from './fake-http.js';
import { accept, envelope, FakeSocket, harness, replayed, resumeSuccess, T0, tick } from './fakes.js';

const HTTP = 'https://api.example.test/dev';
const e = envelope;

let http: FakeHttp;
beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  FakeSocket.all = [];
  http = new FakeHttp();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A client that records what the app sees, on the fake socket and the fake fetch. */
function client(options: Parameters<typeof harness>[0] = {}) {
  const h = harness({ httpUrl: HTTP, fetch: http.fetch, random: () => 0.5, ...options });
  const transports: string[] = [];
  h.client.on('state', (_s, info) => transports.push(`${info.state}:${info.reason}:${info.transport}`));
  return { ...h, transports };
}

/**
 * Waits out the current backoff delay, and the polling socket's open (a 0 ms timer set inside a
 * timer callback: the fake clock runs it 1 ms later).
 */
const retry = (h: ReturnType<typeof client>) =>
  vi.advanceTimersByTimeAsync(Math.ceil(h.client.stateInfo.delayMs ?? 0) + 1);

/** A polling client past its auth (tenant head `head`), its resume from `evt_0` pending. */
async function polling(options: Parameters<typeof harness>[0] = {}, head: string | null = 'evt_0') {
  const h = client({ transport: 'polling', lastEventId: 'evt_0', ...options });
  h.client.connect();
  await tick();
  const auth = http.next;
  expect(auth.path).toBe('/dev/events');
  expect(auth.param('limit')).toBe('1');
  expect(auth.param('after')).toBeUndefined();
  auth.events([], false, head);
  await tick();
  return h;
}

describe("transport: 'polling'", () => {
  it('polls at once and never opens a socket; states say connected over polling', async () => {
    vi.stubGlobal('WebSocket', undefined); // needs no WebSocket at all, nor `url`
    const h = client({ transport: 'polling', url: undefined, lastEventId: 'evt_0' });
    expect(h.client.transport).toBe('polling');
    h.client.connect();
    await tick();
    const auth = http.next;
    expect(auth.token).toBe('token-1');
    expect(auth.url.href).toBe(`${HTTP}/events?limit=1&types=`);
    auth.events([e(3)], false);
    await tick();
    expect(h.transports).toEqual([
      'connecting:connect:polling',
      'authenticating:open:polling',
      'connected:authenticated:polling',
    ]);
    expect(h.client.stateInfo).toMatchObject({ state: 'connected', transport: 'polling', connectionId: undefined });
    // The resume from the app's lastEventId: replayed events are delivered, in order.
    const resume = http.next;
    expect([resume.param('after'), resume.param('limit')]).toEqual(['evt_0', '100']);
    resume.events([e(1), e(2), e(3)]);
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(h.client.lastEventId).toBe('evt_3');
    // Then a poll every pollIntervalMs from the cursor.
    await vi.advanceTimersByTimeAsync(4_999);
    expect(http.pending).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(http.next.param('after')).toBe('evt_3');
    http.next.events([e(4), e(3)]); // a duplicate is dropped, as on the socket
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4']);
    expect(FakeSocket.all).toEqual([]);
    expect(h.errors).toEqual([]);
    h.client.close();
    vi.unstubAllGlobals();
  });

  it('follows `more` at once, on the resume and on polls, until it is false', async () => {
    const h = await polling({ pollIntervalMs: 1_000 });
    http.next.events([e(1), e(2)], true);
    await tick();
    expect(http.next.param('after')).toBe('evt_2'); // no wait
    http.next.events([e(3)], false);
    await tick();
    await vi.advanceTimersByTimeAsync(1_000);
    http.next.events([e(4), e(5)], true, 'evt_5');
    await tick();
    expect(http.next.param('after')).toBe('evt_5'); // no wait
    http.next.events([], false, 'evt_7'); // the rest was filtered out: the cursor still moves
    await tick();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(http.next.param('after')).toBe('evt_7');
    expect(h.events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']);
    h.client.close();
  });

  it('sends the subscription set as types, and subscribe() answers with it', async () => {
    const h = await polling({ eventTypes: ['goal.*'] });
    expect(http.next.param('types')).toBe('goal.*');
    http.next.events([]);
    await tick();
    await expect(h.client.subscribe(['action.created'])).resolves.toEqual(['goal.*', 'action.created']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.param('types')).toBe('goal.*,action.created');
    // A type outside the set that the server still sent is filtered locally, as on the socket.
    http.next.events([e(1, { type: 'user.joined' }), e(2)]);
    await tick();
    expect(h.events).toEqual(['evt_2']);
    h.client.close();
  });

  it('sends the whole filter: sources (comma-separated) and minPriority beside types, as the connection holds it', async () => {
    const h = client({
      transport: 'polling',
      lastEventId: 'evt_0',
      eventTypes: ['goal.*'],
      sources: ['app.billing', 'app/other & more'],
      minPriority: 'high',
    });
    h.client.connect();
    await tick();
    // The auth comes before the restore, as on a socket: no filter yet.
    const auth = http.next;
    expect([auth.param('types'), auth.param('sources'), auth.param('minPriority')]).toEqual(['', undefined, undefined]);
    auth.events([], false, 'evt_0');
    await tick();
    const resume = http.next;
    expect(resume.param('types')).toBe('goal.*');
    expect(resume.param('sources')).toBe('app.billing,app/other & more');
    expect(resume.param('minPriority')).toBe('high');
    resume.events([]);
    await tick();
    // A change applies to the next poll; the answer is the whole filter, as the server's is.
    await h.client.unsubscribe([], { sources: ['app/other & more'], minPriority: 'low' });
    expect(h.client.filter).toEqual({ eventTypes: ['goal.*'], sources: ['app.billing'], minPriority: 'low' });
    await vi.advanceTimersByTimeAsync(5_000);
    const poll = http.next;
    expect([poll.param('types'), poll.param('sources'), poll.param('minPriority')]).toEqual([
      'goal.*',
      'app.billing',
      undefined, // low: every priority, so not sent
    ]);
    // What the server still sent outside the filter is dropped locally, as on the socket.
    poll.events([e(1, { source: 'app.other' }), e(2, { source: 'app.billing', priority: 'low' })]);
    await tick();
    expect(h.events).toEqual(['evt_2']);
    h.client.close();
  });

  it('without a resume point, the first answer only sets it (nothing delivered), then polls from it', async () => {
    const h = client({ transport: 'polling' });
    h.client.connect();
    await tick();
    http.next.events([e(8), e(9)]); // the auth request reads the newest page: history
    await tick();
    expect(h.client.lastEventId).toBe('evt_9');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.param('after')).toBe('evt_9');
    http.next.events([e(10)]);
    await tick();
    expect(h.events).toEqual(['evt_10']);
    h.client.close();
  });

  it('with an empty log, polls without after and delivers everything logged since', async () => {
    const h = client({ transport: 'polling' });
    h.client.connect();
    await tick();
    http.next.events([], false, null);
    await tick();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.param('after')).toBeUndefined();
    http.next.events([], false, null);
    await vi.advanceTimersByTimeAsync(5_000);
    http.next.events([e(1), e(2)]);
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.param('after')).toBe('evt_2');
    expect(h.gaps).toEqual([]);
    h.client.close();
  });

  it('with an empty log and a full page since, reports no_resume_point instead of guessing', async () => {
    const h = client({ transport: 'polling' });
    h.client.connect();
    await tick();
    http.next.events([], false, null);
    await tick();
    await vi.advanceTimersByTimeAsync(5_000);
    http.next.events(
      Array.from({ length: 100 }, (_, i) => e(i + 1)),
      false,
    );
    await tick();
    expect(h.events).toEqual([]);
    expect(h.client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(500);
    http.next.events([], false, 'evt_100');
    await tick();
    expect(h.gaps).toEqual([expect.objectContaining({ code: 'no_resume_point' })]);
    expect(h.client.lastEventId).toBe('evt_100');
    h.client.close();
  });
});

describe('errors while polling', () => {
  it('410 on the resume is a gap, then it polls live from the server position', async () => {
    const h = await polling({}, 'evt_9');
    http.next.error(410, 'gap', 'unknown or expired "after"');
    await tick();
    expect(h.gaps).toEqual([{ code: 'gap', message: 'unknown or expired "after"', lastEventId: 'evt_0' }]);
    expect(h.client.lastEventId).toBe('evt_9');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.param('after')).toBe('evt_9');
    expect(h.client.state).toBe('connected');
    h.client.close();
  });

  it('410 on a live poll ends the poll; the reconnect resumes and reports the gap', async () => {
    const h = await polling();
    http.next.events([e(1)]);
    await vi.advanceTimersByTimeAsync(5_000);
    http.next.error(410, 'gap');
    await tick();
    expect(h.transports.at(-1)).toBe('reconnecting:socket_closed:polling');
    await vi.advanceTimersByTimeAsync(500);
    http.next.events([], false, 'evt_5');
    await tick();
    expect(http.next.param('after')).toBe('evt_1');
    http.next.error(410, 'gap');
    await tick();
    expect(h.gaps).toEqual([expect.objectContaining({ code: 'gap', lastEventId: 'evt_1' })]);
    expect(h.client.state).toBe('connected');
    h.client.close();
  });

  it('401 token_expired gets a fresh token and retries the same request, with no state change', async () => {
    const h = await polling();
    http.next.events([e(1)]);
    await vi.advanceTimersByTimeAsync(5_000);
    const first = http.next;
    expect(first.token).toBe('token-1');
    const states = h.states.length;
    first.error(401, 'token_expired');
    await tick();
    const retry = http.next;
    expect(retry.token).toBe('token-2');
    expect(retry.url.href).toBe(first.url.href);
    retry.events([e(2)]);
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2']);
    expect(h.states.length).toBe(states);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(http.next.token).toBe('token-2'); // kept for the next polls
    h.client.close();
  });

  it('a fatal auth code (invalid_claims) closes the client, like auth.error on the socket', async () => {
    const h = client({ transport: 'polling' });
    h.client.connect();
    await tick();
    http.next.error(401, 'invalid_claims', 'no tenant claim');
    await tick();
    expect(h.transports.at(-1)).toBe('closed:fatal:polling');
    expect(h.errors).toEqual([{ code: 'invalid_claims', message: 'no tenant claim' }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a fatal code on a live poll: the reconnect authenticates again and closes', async () => {
    const h = await polling();
    http.next.events([]);
    await vi.advanceTimersByTimeAsync(5_000);
    http.next.error(401, 'invalid_claims');
    await tick();
    expect(h.client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(500);
    http.next.error(401, 'invalid_claims');
    await tick();
    expect(h.client.state).toBe('closed');
    expect(h.client.stateInfo.reason).toBe('fatal');
  });

  it('a network failure or a 5xx replaces the poll with backoff, resuming from the cursor', async () => {
    const h = await polling();
    http.next.events([e(1)]);
    await vi.advanceTimersByTimeAsync(5_000);
    http.next.fail();
    await tick();
    expect(h.transports.at(-1)).toBe('reconnecting:socket_closed:polling');
    await vi.advanceTimersByTimeAsync(500);
    http.next.events([], false, 'evt_1');
    await tick();
    expect(http.next.param('after')).toBe('evt_1');
    http.next.reply(500, { code: 'internal_error', message: 'DynamoDB unreachable' });
    await tick();
    expect(h.errors.at(-1)).toEqual({ code: 'internal_error', message: 'DynamoDB unreachable' });
    expect(h.transports.at(-1)).toBe('reconnecting:server_error:polling');
    h.client.close();
  });

  it('a poll without an answer within timeoutMs is abandoned and replaced', async () => {
    const h = await polling({ timeoutMs: 3_000 });
    http.next.events([]);
    await vi.advanceTimersByTimeAsync(5_000);
    const hung = http.next;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(hung.aborted).toBe(true);
    expect(h.client.state).toBe('reconnecting');
    h.client.close();
  });
});

describe('fallback (auto)', () => {
  /** Lets `n` WebSocket connects of `h` fail (closed before open), each after its backoff. */
  async function failConnects(h: ReturnType<typeof client>, n: number) {
    for (let i = 0; i < n; i++) {
      if (h.client.state === 'reconnecting') await vi.advanceTimersByTimeAsync(h.client.stateInfo.delayMs ?? 0);
      expect(h.client.state).toBe('connecting');
      FakeSocket.last.drop(1006);
    }
  }

  it('polls after fallbackAfterAttempts failed connects, not before', async () => {
    const h = client({ lastEventId: 'evt_0' });
    h.client.connect();
    expect(h.client.transport).toBe('websocket');
    await failConnects(h, 2);
    expect(h.client.stateInfo.transport).toBe('websocket');
    await failConnects(h, 1);
    expect(http.requests).toEqual([]);
    expect(FakeSocket.all).toHaveLength(3);
    expect(h.transports.at(-1)).toBe('reconnecting:socket_closed:polling');
    expect(h.client.transport).toBe('polling');
    await retry(h);
    expect(http.next.param('limit')).toBe('1');
    http.next.events([], false, 'evt_0');
    await tick();
    expect(h.transports.at(-1)).toBe('connected:authenticated:polling');
    expect(FakeSocket.all).toHaveLength(3);
    h.client.close();
  });

  it('honours fallbackAfterAttempts, and never polls without httpUrl or with transport: websocket', async () => {
    const one = client({ fallbackAfterAttempts: 1 });
    one.client.connect();
    FakeSocket.last.drop();
    expect(one.client.transport).toBe('polling');
    one.client.close();
    for (const options of [{ httpUrl: undefined }, { transport: 'websocket' as const }]) {
      const h = client(options);
      h.client.connect();
      await failConnects(h, 6);
      expect(h.client.transport).toBe('websocket');
      expect(http.requests).toEqual([]);
      h.client.close();
    }
  });

  it('after a poll that fails to connect, tries the WebSocket again, then polls again', async () => {
    const h = client({ fallbackAfterAttempts: 1 });
    h.client.connect();
    FakeSocket.last.drop();
    await retry(h);
    http.next.fail(); // the HTTP API is unreachable too
    await tick();
    expect(h.client.transport).toBe('websocket');
    await retry(h);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.drop();
    expect(h.client.transport).toBe('polling');
    h.client.close();
  });

  it('while polling, tries the WebSocket on its backoff schedule; switches once one authenticates and resumes, without loss or duplicate', async () => {
    const h = client({ lastEventId: 'evt_0', random: () => 1 });
    h.client.connect();
    await failConnects(h, 3);
    await retry(h);
    http.next.events([], false, 'evt_2');
    await tick();
    http.next.events([e(1), e(2)]);
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2']);

    // WebSocket attempts while polling: after backoff(3) = 4 s, then backoff(4) = 8 s. Polls go on meanwhile.
    await vi.advanceTimersByTimeAsync(3_999);
    expect(FakeSocket.all).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(4);
    FakeSocket.last.drop(1006);
    await vi.advanceTimersByTimeAsync(1_000); // the poll due at 5 s
    http.next.events([e(3)]);
    await tick();
    await vi.advanceTimersByTimeAsync(7_000);
    expect(FakeSocket.all).toHaveLength(5);
    expect(h.client.state).toBe('connected');
    expect(h.client.transport).toBe('polling');
    expect(h.errors).toEqual([]);

    // This one connects. Its resume starts from the cursor while a poll is in flight.
    await vi.advanceTimersByTimeAsync(2_000); // a poll is due
    const inFlight = http.next;
    const ws = await accept({ lastEventId: 'evt_5', connectionId: 'ws-1' });
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_3' });
    expect(h.client.transport).toBe('polling'); // not before the resume completes
    inFlight.events([e(4)]); // the poll still delivers
    await tick();
    ws.receive(replayed(4));
    ws.receive(e(6)); // live, during the replay: held
    ws.receive(replayed(5));
    ws.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_5', more: false }));
    await tick();
    expect(h.events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5', 'evt_6']);
    expect(h.transports.at(-1)).toBe('connected:switched:websocket');
    expect(h.client).toMatchObject({ transport: 'websocket', connectionId: 'ws-1', lastEventId: 'evt_6' });
    // Polling stopped: no request pending, none later.
    expect(http.pending).toEqual([]);
    const count = http.requests.length;
    await retry(h);
    expect(http.requests.length).toBe(count);
    ws.receive(e(7));
    expect(h.events.at(-1)).toBe('evt_7');
    expect(h.states.map(([s]) => s)).not.toContain('closed');
    h.client.close();
  });

  it('a poll in flight when the switch completes is aborted', async () => {
    const h = client({ lastEventId: 'evt_0', fallbackAfterAttempts: 1, random: () => 0 });
    h.client.connect();
    FakeSocket.last.drop();
    await retry(h);
    http.next.events([], false, 'evt_0');
    await tick();
    http.next.events([]);
    await tick();
    await vi.advanceTimersByTimeAsync(5_000);
    const inFlight = http.next;
    expect(FakeSocket.all).toHaveLength(2); // the WebSocket attempt came first (backoff ≥ 50 ms)
    const ws = await accept();
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    expect(h.client.transport).toBe('websocket');
    expect(inFlight.aborted).toBe(true);
    h.client.close();
  });

  it('a WebSocket that connects and fails its resume does not stop polling', async () => {
    const h = client({ lastEventId: 'evt_0', fallbackAfterAttempts: 1, random: () => 0 });
    h.client.connect();
    FakeSocket.last.drop();
    await retry(h);
    http.next.events([], false, 'evt_0');
    await tick();
    http.next.events([]);
    await tick();
    await vi.advanceTimersByTimeAsync(1_000);
    const ws = await accept();
    ws.drop(1006); // before its resume completed
    expect(h.client.transport).toBe('polling');
    await vi.advanceTimersByTimeAsync(4_000);
    http.next.events([e(1)]);
    await tick();
    expect(h.events).toEqual(['evt_1']);
    expect(h.client.state).toBe('connected');
    h.client.close();
  });
});

describe('presence()', () => {
  it('GET /presence with a fresh token: the parsed body', async () => {
    const h = client({ httpUrl: `${HTTP}/` });
    const answer = h.client.presence();
    await tick();
    const req = http.next;
    expect(req.url.href).toBe(`${HTTP}/presence`);
    expect(req.token).toBe('token-1');
    req.reply(200, { connections: 2, users: [{ userId: 'u1', connections: 2 }] });
    await expect(answer).resolves.toEqual({ connections: 2, users: [{ userId: 'u1', connections: 2 }] });
    const again = h.client.presence();
    await tick();
    expect(http.next.token).toBe('token-2');
    http.next.reply(200, { connections: 0, users: [] });
    await again;
  });

  it("rejects with a RealtimeError carrying the server's code, or disconnected without an answer", async () => {
    const h = client();
    const denied = h.client.presence();
    await tick();
    http.next.error(401, 'invalid_token', 'bad signature');
    await expect(denied).rejects.toMatchObject({
      name: 'RealtimeError',
      code: 'invalid_token',
      message: 'bad signature',
    });
    const broken = h.client.presence();
    await tick();
    http.next.reply(502, 'not json');
    await expect(broken).rejects.toMatchObject({ code: 'internal_error', message: 'HTTP 502' });
    const offline = h.client.presence();
    await tick();
    http.next.fail();
    const error = await offline.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RealtimeError);
    expect(error).toMatchObject({ code: 'disconnected' });
  });

  it('needs httpUrl; after close() it rejects, and close() aborts one in flight', async () => {
    await expect(client({ httpUrl: undefined }).client.presence()).rejects.toThrow(/httpUrl/);
    const h = client();
    const pending = h.client.presence();
    await tick();
    const req = http.next;
    h.client.close();
    expect(req.aborted).toBe(true);
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
    await expect(h.client.presence()).rejects.toMatchObject({ code: 'disconnected' });
  });
});

describe('close() while polling', () => {
  it('aborts the request in flight and leaves no timer', async () => {
    const h = await polling();
    http.next.events([]);
    await vi.advanceTimersByTimeAsync(5_000);
    const inFlight = http.next;
    h.client.close();
    expect(inFlight.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(http.pending).toEqual([]);
  });

  it('between polls, and during the auth: nothing survives', async () => {
    const between = await polling();
    http.next.events([]);
    await tick();
    between.client.close();
    expect(vi.getTimerCount()).toBe(0);
    const during = client({ transport: 'polling' });
    during.client.connect();
    await tick();
    const auth = http.next;
    during.client.close();
    expect(auth.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(http.pending).toEqual([]);
  });

  it('while the WebSocket is tried in the background', async () => {
    const h = client({ fallbackAfterAttempts: 1, random: () => 0 });
    h.client.connect();
    FakeSocket.last.drop();
    await retry(h);
    http.next.events([], false, 'evt_0');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.last.isClosed).toBe(false);
    h.client.close();
    expect(FakeSocket.all.every((s) => s.isClosed)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(http.pending).toEqual([]);
  });
});

describe('options', () => {
  it('validates transport and httpUrl up front', () => {
    const base = { url: 'wss://x.test', getToken: () => 't', WebSocket: FakeSocket };
    expect(() => createRealtimeClient({ ...base, transport: 'sse' as never })).toThrow(/transport/);
    expect(() => createRealtimeClient({ ...base, httpUrl: 'wss://x.test' })).toThrow(/httpUrl/);
    expect(() => createRealtimeClient({ ...base, transport: 'polling' })).toThrow(/httpUrl/);
    expect(() => createRealtimeClient({ getToken: () => 't', transport: 'polling', httpUrl: HTTP })).not.toThrow();
    expect(() => createRealtimeClient({ getToken: () => 't', httpUrl: HTTP })).toThrow(/url/);
  });
});
