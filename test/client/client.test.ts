/**
 * The client's behaviour on fake sockets and fake timers: state transitions and their reasons,
 * reconnect and backoff, auth and refresh, subscriptions, resume, dedupe, ping, rotation,
 * handler isolation and `close()`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../bin/tools/prng.js';
import { createRealtimeClient, RealtimeError } from '../../client/src/index.js';
import { serverMessage } from '../../lambdas/contract/plain.js';
import {
  accept,
  authSuccess,
  envelope,
  FakeSocket,
  filter,
  HOUR,
  harness,
  replayed,
  resumeSuccess,
  subscribed,
  T0,
  tick,
  unsubscribed,
} from './fakes.js';

const MIN = 60_000;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  FakeSocket.all = [];
});
afterEach(() => {
  vi.useRealTimers();
});

/** A connected client with resume point `evt_0`: its `resume` is the pending request. */
async function connected(options: Parameters<typeof harness>[0] = {}) {
  const h = harness({ lastEventId: 'evt_0', ...options });
  h.client.connect();
  const ws = await accept();
  return { ...h, ws };
}

describe('states', () => {
  it('goes idle → connecting → authenticating → connected, each with its reason', async () => {
    const h = harness();
    expect(h.client.state).toBe('idle');
    h.client.connect();
    expect(h.states).toEqual([['connecting', 'connect']]);
    FakeSocket.last.open();
    expect(h.states.at(-1)).toEqual(['authenticating', 'open']);
    await tick();
    const auth = FakeSocket.last.lastSent('auth');
    expect(auth).toEqual({ action: 'auth', token: 'token-1' });
    FakeSocket.last.receive(authSuccess({ connectionId: 'conn-1' }));
    await tick();
    expect(h.states.at(-1)).toEqual(['connected', 'authenticated']);
    expect(h.client.stateInfo).toMatchObject({ state: 'connected', connectionId: 'conn-1', transport: 'websocket' });
    expect(h.client.connectionId).toBe('conn-1');
    h.client.close();
    expect(h.states.at(-1)).toEqual(['closed', 'close']);
    expect(h.errors).toEqual([]);
  });

  it('reports a lost connection as reconnecting with the close code and the delay, then connecting (retry)', async () => {
    const { client, ws, states } = await connected({ random: () => 0.5 });
    ws.drop(1006);
    expect(states.at(-1)).toEqual(['reconnecting', 'socket_closed']);
    expect(client.stateInfo).toMatchObject({ closeCode: 1006, attempt: 1, delayMs: 50 + 450 * 0.5 });
    await vi.advanceTimersByTimeAsync(274);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(states.at(-1)).toEqual(['connecting', 'retry']);
    client.close();
  });

  it('connect() does nothing unless idle; after close() it stays closed', async () => {
    const { client } = await connected();
    client.connect();
    expect(FakeSocket.all).toHaveLength(1);
    client.close();
    client.connect();
    expect(client.state).toBe('closed');
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('a state handler may close the client at any step: nothing is opened after', async () => {
    for (const at of ['connecting', 'authenticating', 'connected', 'reconnecting'] as const) {
      FakeSocket.all = [];
      const h = harness({ random: () => 0 });
      h.client.on('state', (state) => state === at && h.client.close());
      h.client.connect();
      if (at !== 'connecting') await accept().catch(() => undefined);
      if (at === 'reconnecting') FakeSocket.last.drop();
      await vi.advanceTimersByTimeAsync(1000);
      expect(h.client.state, at).toBe('closed');
      expect(
        FakeSocket.all.every((s) => s.isClosed),
        at,
      ).toBe(true);
      expect(FakeSocket.all.length, at).toBeLessThanOrEqual(1);
      expect(vi.getTimerCount(), at).toBe(0);
    }
  });

  it('validates options up front', () => {
    const base = { url: 'wss://x.test', getToken: () => 't', WebSocket: FakeSocket };
    expect(() => createRealtimeClient({ ...base, url: 'https://x.test' })).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => createRealtimeClient({ ...base, getToken: undefined as never })).toThrow(/getToken/);
    expect(() => createRealtimeClient({ ...base, eventTypes: ['*'] })).toThrow(RealtimeError);
    vi.stubGlobal('WebSocket', undefined);
    expect(() => createRealtimeClient({ url: 'wss://x.test', getToken: () => 't' })).toThrow(/No global WebSocket/);
    vi.unstubAllGlobals();
  });
});

describe('reconnect', () => {
  it('reconnects at once after close code 1001 (API Gateway limits) on a stable connection', async () => {
    const { client, ws, states } = await connected();
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(5_000); // stable
    ws.drop(1001);
    expect(states.at(-1)).toEqual(['reconnecting', 'going_away']);
    expect(client.stateInfo.delayMs).toBe(0);
    await tick();
    expect(FakeSocket.all).toHaveLength(2);
    // A second 1001 right after (a flapping server) waits for the backoff.
    await accept();
    FakeSocket.last.drop(1001);
    expect(client.stateInfo.delayMs).toBeGreaterThan(0);
    client.close();
  });

  it('reconnects at once on the platform `online` event, and probes a live socket with a ping', async () => {
    const target = new EventTarget();
    const h = harness({ onlineEvents: target, random: () => 0.99 });
    h.client.connect();
    FakeSocket.last.drop(1006); // never opened
    expect(h.client.state).toBe('reconnecting');
    target.dispatchEvent(new Event('online'));
    expect(h.states.at(-1)).toEqual(['connecting', 'online']);
    expect(FakeSocket.all).toHaveLength(2);
    const ws = await accept({ lastEventId: null });
    expect(ws.actions()).toEqual(['auth']);
    target.dispatchEvent(new Event('online'));
    expect(ws.actions()).toEqual(['auth', 'ping']);
    h.client.close();
    target.dispatchEvent(new Event('online')); // the listener is gone
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('never loops tightly: one socket and one auth per backoff step, delays growing to the maximum', async () => {
    const h = harness({ random: mulberry32(1) });
    h.client.connect();
    const delays: number[] = [];
    h.client.on('state', (state, info) => {
      if (state === 'reconnecting') delays.push(info.delayMs ?? -1);
    });
    // Every socket opens and is refused a token a new token could fix.
    for (let elapsed = 0; elapsed < 3 * MIN; ) {
      const ws = FakeSocket.last;
      ws.open();
      await tick();
      expect(ws.actions()).toEqual(['auth']);
      ws.receive(serverMessage.authError(Date.now(), 'invalid_token', 'bad signature'));
      await tick();
      const delay = Math.ceil(h.client.stateInfo.delayMs ?? 0);
      await vi.advanceTimersByTimeAsync(delay);
      elapsed += delay;
    }
    expect(FakeSocket.all.length).toBe(delays.length + 1);
    expect(h.getToken).toHaveBeenCalledTimes(FakeSocket.all.length);
    // ~0.5 + 1 + 2 + 4 + 8 + 16 + 30… s caps: a handful of attempts in 3 minutes, never hundreds.
    expect(FakeSocket.all.length).toBeLessThan(20);
    delays.forEach((d, step) => {
      const cap = Math.min(30_000, 500 * 2 ** step);
      expect(d).toBeGreaterThanOrEqual(cap / 10);
      expect(d).toBeLessThanOrEqual(cap);
    });
    expect(h.errors.every((e) => e.code === 'invalid_token')).toBe(true);
    h.client.close();
  });

  it('resets the backoff once a connection stayed live for 2 s', async () => {
    const { client, ws } = await connected({ random: () => 1 });
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    ws.drop();
    expect(client.stateInfo.delayMs).toBe(500);
    await vi.advanceTimersByTimeAsync(500);
    let next = await accept();
    next.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(1_000);
    next.drop(); // lived 1 s: not stable
    expect(client.stateInfo.delayMs).toBe(1000);
    await vi.advanceTimersByTimeAsync(1000);
    next = await accept();
    next.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(2_000);
    next.drop();
    expect(client.stateInfo.delayMs).toBe(500);
    client.close();
  });

  it('replaces a socket that does not open within timeoutMs', async () => {
    const h = harness();
    h.client.connect();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.states.at(-1)).toEqual(['reconnecting', 'timeout']);
    expect(FakeSocket.all[0]?.closedWith?.code).toBe(4000);
    expect(h.errors.map((e) => e.code)).toEqual(['timeout']);
    h.client.close();
  });

  it('reports a getToken failure and retries with a new call', async () => {
    let calls = 0;
    const h = harness({
      getToken: async () => {
        if (++calls === 1) throw new Error('identity provider down');
        return 'good';
      },
      random: () => 0,
    });
    h.client.connect();
    FakeSocket.last.open();
    await tick();
    expect(h.states.at(-1)).toEqual(['reconnecting', 'token_error']);
    expect(h.errors[0]).toMatchObject({
      code: 'token_error',
      message: expect.stringContaining('identity provider down'),
    });
    await vi.advanceTimersByTimeAsync(50);
    FakeSocket.last.open();
    await tick();
    expect(FakeSocket.last.lastSent('auth').token).toBe('good');
    h.client.close();
  });
});

describe('auth', () => {
  it.each(['invalid_claims', 'tenant_mismatch'] as const)(
    'stops on %s: state closed, error with the code',
    async (code) => {
      const h = harness();
      h.client.connect();
      FakeSocket.last.open();
      await tick();
      FakeSocket.last.receive(serverMessage.authError(Date.now(), code, 'no'));
      await tick();
      expect(h.states.at(-1)).toEqual(['closed', 'fatal']);
      expect(h.client.stateInfo.error?.code).toBe(code);
      expect(h.errors.map((e) => e.code)).toEqual([code]);
      expect(FakeSocket.last.isClosed).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    },
  );

  it('a token a new token can fix (token_expired) reconnects with a fresh getToken()', async () => {
    const h = harness({ random: () => 0 });
    h.client.connect();
    FakeSocket.last.open();
    await tick();
    FakeSocket.last.receive(serverMessage.authError(Date.now(), 'token_expired', 'expired'));
    await tick();
    expect(h.states.at(-1)).toEqual(['reconnecting', 'auth_error']);
    expect(h.errors.map((e) => e.code)).toEqual(['token_expired']);
    await vi.advanceTimersByTimeAsync(50);
    FakeSocket.last.open();
    await tick();
    expect(FakeSocket.last.lastSent('auth').token).toBe('token-2');
    h.client.close();
  });

  it('refreshes on the open socket 60 s before expiresAt, with a new token, and again after', async () => {
    const h = harness({ pingIntervalMs: HOUR });
    h.client.connect();
    const ws = await accept({}, 10 * MIN);
    await vi.advanceTimersByTimeAsync(9 * MIN - 1);
    expect(ws.actions()).toEqual(['auth']);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.actions()).toEqual(['auth', 'auth']);
    expect(ws.lastSent('auth').token).toBe('token-2');
    ws.receive(authSuccess({}, 10 * MIN));
    await tick();
    await vi.advanceTimersByTimeAsync(9 * MIN);
    expect(ws.lastSent('auth').token).toBe('token-3');
    expect(h.states.map(([s]) => s)).toEqual(['connecting', 'authenticating', 'connected']);
    h.client.close();
  });

  it('refreshes short-lived tokens at half their lifetime, timed by the server clock', async () => {
    const h = harness();
    h.client.connect();
    const ws = FakeSocket.last;
    ws.open();
    await tick();
    // The server's clock is 1 h ahead of ours: only the difference of its two instants counts.
    const serverNow = Date.now() + HOUR;
    ws.receive(
      serverMessage.authSuccess(serverNow, {
        connectionId: 'c',
        tenantId: 't1',
        userId: 'u1',
        expiresAt: new Date(serverNow + 30_000).toISOString(),
        lastEventId: null,
      }),
    );
    await tick();
    await vi.advanceTimersByTimeAsync(14_999);
    expect(ws.actions()).toEqual(['auth']);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.actions()).toEqual(['auth', 'auth']);
    h.client.close();
  });

  it('a refresh refused with tenant_mismatch (another user signed in) stops the client', async () => {
    const h = harness();
    h.client.connect();
    const ws = await accept({}, 2 * MIN);
    await vi.advanceTimersByTimeAsync(MIN);
    ws.receive(serverMessage.authError(Date.now(), 'tenant_mismatch', 'other user'));
    await tick();
    expect(h.client.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a refresh that fails otherwise is reported and retried on the same socket', async () => {
    const h = harness({ random: () => 0 });
    h.client.connect();
    const ws = await accept({}, 2 * MIN);
    await vi.advanceTimersByTimeAsync(MIN);
    ws.receive(serverMessage.authError(Date.now(), 'invalid_token', 'jwks rotated'));
    await tick();
    expect(h.client.state).toBe('connected');
    expect(h.errors.map((e) => e.code)).toEqual(['invalid_token']);
    await vi.advanceTimersByTimeAsync(50);
    expect(ws.actions()).toEqual(['auth', 'auth', 'auth']);
    h.client.close();
  });

  it('auth.expired gets a new token and reconnects at once', async () => {
    const { client, ws, states, getToken } = await connected();
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(3_000);
    ws.receive(serverMessage.authExpired(Date.now()));
    ws.drop(1000);
    expect(states.at(-1)).toEqual(['reconnecting', 'auth_expired']);
    expect(client.stateInfo.delayMs).toBe(0);
    await tick();
    const next = FakeSocket.last;
    expect(next).not.toBe(ws);
    next.open();
    await tick();
    expect(next.lastSent('auth').token).toBe('token-2');
    expect(getToken).toHaveBeenCalledTimes(2);
    client.close();
  });

  it('calls getToken concurrently with the socket opening', async () => {
    const h = harness();
    h.client.connect();
    await tick();
    expect(h.getToken).toHaveBeenCalledTimes(1);
    expect(FakeSocket.last.readyState).toBe(0);
    h.client.close();
  });
});

describe('subscriptions', () => {
  it('restores the set after every (re)connect, before resuming', async () => {
    const h = harness({ eventTypes: ['goal.*'], lastEventId: 'evt_5', random: () => 0 });
    h.client.connect();
    let ws = await accept();
    expect(ws.actions()).toEqual(['auth', 'subscribe']);
    expect(ws.lastSent()).toEqual({ action: 'subscribe', ...filter(['goal.*']) });
    ws.receive(subscribed(filter(['goal.*'])));
    await tick();
    expect(ws.actions()).toEqual(['auth', 'subscribe', 'resume']);
    const pending = h.client.subscribe(['action.created']); // queued behind the resume
    ws.drop();
    expect(await pending).toEqual(['goal.*', 'action.created']); // kept, restored on the next connection
    await vi.advanceTimersByTimeAsync(50);
    ws = await accept();
    expect(ws.lastSent()).toEqual({ action: 'subscribe', ...filter(['goal.*', 'action.created']) });
    h.client.close();
  });

  it('subscribe() and unsubscribe() answer with the server set; bad patterns and server errors reject', async () => {
    const h = harness();
    h.client.connect();
    const ws = await accept();
    const sub = h.client.subscribe(['goal.*', 'action.created']);
    expect(ws.lastSent()).toEqual({ action: 'subscribe', eventTypes: ['goal.*', 'action.created'] });
    ws.receive(subscribed(filter(['goal.*', 'action.created'])));
    expect(await sub).toEqual(['goal.*', 'action.created']);
    const unsub = h.client.unsubscribe(['goal.*']);
    ws.receive(unsubscribed(filter(['action.created'])));
    expect(await unsub).toEqual(['action.created']);
    expect(h.client.subscriptions).toEqual(['action.created']);

    await expect(h.client.subscribe(['goal.**'])).rejects.toMatchObject({ code: 'bad_request' });
    const refused = h.client.subscribe(['issue.created']);
    ws.receive(serverMessage.error(Date.now(), 'internal_error', 'boom'));
    await expect(refused).rejects.toMatchObject({ code: 'internal_error' });
    expect(h.client.subscriptions).toEqual(['action.created']);
    h.client.close();
  });

  it('filters locally until the server applies the restored set', async () => {
    const h = harness({ eventTypes: ['goal.*'] });
    h.client.connect();
    const ws = await accept();
    ws.receive(envelope(1, { type: 'action.created' })); // sent before subscribe.success
    ws.receive(subscribed(filter(['goal.*'])));
    await tick();
    ws.receive(envelope(2));
    expect(h.events).toEqual(['evt_2']);
    h.client.close();
  });
});

describe('filter by source and priority', () => {
  const base = { url: 'wss://x.test', getToken: () => 't', WebSocket: FakeSocket };
  /** The error `createRealtimeClient` throws for these options, or undefined. */
  const optionError = (o: object) => {
    try {
      createRealtimeClient({ ...base, ...o });
    } catch (err) {
      return err;
    }
    return undefined;
  };

  it('validates sources and minPriority up front, naming the option (bad_request, as for eventTypes)', () => {
    for (const sources of [
      [''],
      ['x'.repeat(257)],
      Array.from({ length: 21 }, (_, i) => `s${i}`),
      [42],
      'app.billing',
      [null],
    ]) {
      const err = optionError({ sources });
      expect(err, JSON.stringify(sources)).toBeInstanceOf(RealtimeError);
      expect(err).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^sources must be /) });
    }
    for (const minPriority of ['urgent', 'LOW', '', 3, null]) {
      const err = optionError({ minPriority });
      expect(err, String(minPriority)).toBeInstanceOf(RealtimeError);
      expect(err).toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/^minPriority must be one of low, normal, high, critical, got /),
      });
    }
    expect(optionError({ eventTypes: ['goal.*', 'nope*'] })).toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^eventTypes must be /),
    });
    expect(optionError({ eventTypes: [null] })).toBeInstanceOf(RealtimeError);
    // The limits themselves are fine.
    expect(optionError({ sources: ['x'.repeat(256), ...Array.from({ length: 19 }, (_, i) => `s${i}`)] })).toBe(
      undefined,
    );
    for (const minPriority of ['low', 'normal', 'high', 'critical'])
      expect(optionError({ minPriority })).toBe(undefined);
  });

  it('`filter` is the whole filter: the options (deduplicated), `low` and no sources by default; a copy', () => {
    const plain = createRealtimeClient(base);
    expect(plain.filter).toEqual(filter());
    const c = createRealtimeClient({
      ...base,
      eventTypes: ['goal.*', 'goal.*'],
      sources: ['app.billing', 'app.billing', 'app.goals'],
      minPriority: 'high',
    });
    expect(c.filter).toEqual(filter(['goal.*'], ['app.billing', 'app.goals'], 'high'));
    expect(c.subscriptions).toEqual(['goal.*']);
    (c.filter.sources as string[]).push('mutated');
    expect(c.filter.sources).toEqual(['app.billing', 'app.goals']);
  });

  it('subscribe() and unsubscribe() send the change (sources added or removed, minPriority replaced) and keep the whole filter', async () => {
    const h = harness();
    h.client.connect();
    const ws = await accept();
    const sub = h.client.subscribe(['goal.*'], { sources: ['app.goals'], minPriority: 'high' });
    expect(ws.lastSent()).toEqual({
      action: 'subscribe',
      eventTypes: ['goal.*'],
      sources: ['app.goals'],
      minPriority: 'high',
    });
    ws.receive(subscribed(filter(['goal.*'], ['app.goals'], 'high')));
    expect(await sub).toEqual(['goal.*']); // still the event types, as before sources existed
    expect(h.client.filter).toEqual(filter(['goal.*'], ['app.goals'], 'high'));

    // Only sources: the types stay; the floor stays when not given.
    const more = h.client.subscribe([], { sources: ['app.billing'] });
    expect(ws.lastSent()).toEqual({ action: 'subscribe', eventTypes: [], sources: ['app.billing'] });
    ws.receive(subscribed(filter(['goal.*'], ['app.goals', 'app.billing'], 'high')));
    await more;
    expect(h.client.filter).toEqual(filter(['goal.*'], ['app.goals', 'app.billing'], 'high'));

    // unsubscribe removes sources; a minPriority given to it replaces the floor too.
    const less = h.client.unsubscribe([], { sources: ['app.goals'], minPriority: 'normal' });
    expect(ws.lastSent()).toEqual({
      action: 'unsubscribe',
      eventTypes: [],
      sources: ['app.goals'],
      minPriority: 'normal',
    });
    ws.receive(unsubscribed(filter(['goal.*'], ['app.billing'], 'normal')));
    expect(await less).toEqual(['goal.*']);
    expect(h.client.filter).toEqual(filter(['goal.*'], ['app.billing'], 'normal'));

    // Bad parts reject before anything is sent, and change nothing.
    const sent = ws.sent.length;
    await expect(h.client.subscribe([], { sources: [''] })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(h.client.subscribe([], { minPriority: 'urgent' as never })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^minPriority/),
    });
    // The resulting set counts: 20 sources at most.
    const twenty = Array.from({ length: 20 }, (_, i) => `s${i}`);
    await expect(h.client.subscribe([], { sources: twenty })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^sources must be at most 20/),
    });
    expect(ws.sent).toHaveLength(sent);
    expect(h.client.filter).toEqual(filter(['goal.*'], ['app.billing'], 'normal'));

    // A change the server refuses is rolled back.
    const refused = h.client.subscribe([], { minPriority: 'critical' });
    ws.receive(serverMessage.error(Date.now(), 'internal_error', 'boom'));
    await expect(refused).rejects.toMatchObject({ code: 'internal_error' });
    expect(h.client.filter).toEqual(filter(['goal.*'], ['app.billing'], 'normal'));
    h.client.close();
  });

  it('sends what subscribe() was given, though the caller changes its arrays while the frame waits in the queue', async () => {
    const { client, ws } = await connected(); // its resume is on the wire: a subscribe waits
    const types = ['goal.*'];
    const sources = ['app.goals'];
    const pending = client.subscribe(types, { sources });
    types.push('action.*');
    sources.push('app.other');
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    expect(ws.lastSent()).toEqual({ action: 'subscribe', eventTypes: ['goal.*'], sources: ['app.goals'] });
    ws.receive(subscribed(filter(['goal.*'], ['app.goals'])));
    expect(await pending).toEqual(['goal.*']);
    expect(client.filter).toEqual(filter(['goal.*'], ['app.goals']));
    client.close();
  });

  it('restores the whole filter (types, sources and floor) on every new connection, before resuming', async () => {
    const h = harness({ sources: ['app.billing'], minPriority: 'high', lastEventId: 'evt_5', random: () => 0 });
    h.client.connect();
    let ws = await accept();
    expect(ws.actions()).toEqual(['auth', 'subscribe']);
    expect(ws.lastSent()).toEqual({ action: 'subscribe', ...filter([], ['app.billing'], 'high') });
    ws.receive(subscribed(filter([], ['app.billing'], 'high')));
    await tick();
    expect(ws.actions()).toEqual(['auth', 'subscribe', 'resume']);
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_5', more: false }));
    await tick();
    const changed = h.client.subscribe(['goal.*'], { sources: ['app.goals'], minPriority: 'critical' });
    ws.receive(subscribed(filter(['goal.*'], ['app.billing', 'app.goals'], 'critical')));
    await changed;
    ws.drop();
    await vi.advanceTimersByTimeAsync(50);
    ws = await accept();
    expect(ws.actions()).toEqual(['auth', 'subscribe']);
    expect(ws.lastSent()).toEqual({
      action: 'subscribe',
      eventTypes: ['goal.*'],
      sources: ['app.billing', 'app.goals'],
      minPriority: 'critical',
    });
    ws.receive(subscribed(filter(['goal.*'], ['app.billing', 'app.goals'], 'critical')));
    await tick();
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_5' });

    // A floor alone is a filter too: it is restored although no type or source is set.
    const floorOnly = harness({ minPriority: 'normal' });
    floorOnly.client.connect();
    const other = await accept();
    expect(other.lastSent()).toEqual({ action: 'subscribe', ...filter([], [], 'normal') });
    floorOnly.client.close();
    h.client.close();
  });

  it('a rotation successor subscribes to the whole filter too', async () => {
    const h = harness({ sources: ['app.billing'], minPriority: 'high', rotateAfterMs: MIN, pingIntervalMs: HOUR });
    h.client.connect();
    const old = await accept({ lastEventId: 'evt_0' });
    old.receive(subscribed(filter([], ['app.billing'], 'high')));
    old.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(MIN);
    const fresh = await accept({ lastEventId: 'evt_0' });
    expect(fresh).not.toBe(old);
    expect(fresh.lastSent()).toEqual({ action: 'subscribe', ...filter([], ['app.billing'], 'high') });
    h.client.close();
  });

  it('filters locally by source and priority too (an event without a priority is normal)', async () => {
    const h = harness({ sources: ['app.billing'], minPriority: 'high' });
    h.client.connect();
    const ws = await accept();
    // Sent before the server applied the restored filter: the client drops what does not pass.
    ws.receive(envelope(1, { source: 'app.billing', priority: 'normal' }));
    ws.receive(envelope(2, { source: 'app.other', priority: 'critical' }));
    ws.receive(envelope(3, { source: 'app.billing' })); // normal
    ws.receive(envelope(4, { priority: 'critical' })); // no source: not one of the sources
    ws.receive(envelope(5, { source: 'app.billing', priority: 'high' }));
    ws.receive(envelope(6, { source: 'app.billing', priority: 'critical' }));
    expect(h.events).toEqual(['evt_5', 'evt_6']);
    // The dropped ones still move the resume point: the server would not send them again.
    expect(h.client.lastEventId).toBe('evt_6');
    h.client.close();
  });
});

describe('resume', () => {
  it('resumes from the last delivered event, follows `more` pages, then goes live', async () => {
    const { client, ws, events } = await connected({ random: () => 0 });
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    ws.receive(envelope(1));
    ws.receive(envelope(2));
    ws.drop();
    await vi.advanceTimersByTimeAsync(50);
    const next = await accept({ lastEventId: 'evt_9' });
    expect(next.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_2' });
    next.receive(replayed(3));
    next.receive(replayed(4));
    next.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_4', more: true }));
    await tick();
    expect(next.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_4' });
    next.receive(replayed(5));
    next.receive(resumeSuccess({ replayed: 1, lastEventId: 'evt_5', more: false }));
    await tick();
    expect(next.actions()).toEqual(['auth', 'resume', 'resume']);
    next.receive(envelope(6));
    expect(events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5', 'evt_6']);
    expect(client.lastEventId).toBe('evt_6');
    client.close();
  });

  it('holds live frames that arrive during the replay and delivers them after it, in log order', async () => {
    const { client, ws, events } = await connected();
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_0' });
    ws.receive(replayed(1));
    ws.receive(envelope(4)); // live, while page 1 is still replaying
    ws.receive(replayed(2));
    ws.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_2', more: true }));
    await tick();
    ws.receive(envelope(5)); // live
    ws.receive(replayed(3));
    ws.receive(replayed(4)); // the replayed copy of a held live frame
    expect(events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4']);
    ws.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_4', more: false }));
    await tick();
    expect(events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']);
    client.close();
  });

  it('works with a server that marks nothing and pages nothing (frames in arrival order)', async () => {
    const { client, ws, events } = await connected();
    ws.receive(envelope(1));
    ws.receive(envelope(2));
    expect(events).toEqual([]);
    ws.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_2', more: false }));
    await tick();
    expect(events).toEqual(['evt_1', 'evt_2']);
    client.close();
  });

  it('drops duplicates across a resume overlap and retries: the app sees each event once', async () => {
    const { client, ws, events } = await connected({ random: () => 0 });
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    for (const n of [1, 2, 3, 3, 4]) ws.receive(envelope(n)); // EventBridge delivered 3 twice
    ws.drop();
    await vi.advanceTimersByTimeAsync(50);
    const next = await accept();
    for (const n of [2, 3, 4, 5]) next.receive(replayed(n)); // overlap
    next.receive(envelope(5)); // and live
    next.receive(resumeSuccess({ replayed: 4, lastEventId: 'evt_5', more: false }));
    await tick();
    next.receive(envelope(6));
    next.receive(envelope(4)); // a late retry of an old event
    expect(events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5', 'evt_6']);
    client.close();
  });

  it('counts its starting point as seen: an overlap that replays it delivers nothing', async () => {
    const { client, ws, events } = await connected();
    ws.receive(replayed(0)); // the resume point the app was created with
    ws.receive(replayed(1));
    ws.receive(resumeSuccess({ replayed: 2, lastEventId: 'evt_1', more: false }));
    await tick();
    expect(events).toEqual(['evt_1']);
    client.close();
  });

  it('remembers the last 1,000 event ids by default, no more', async () => {
    const h = harness();
    h.client.connect();
    const ws = await accept();
    for (let n = 1; n <= 1001; n++) ws.receive(envelope(n));
    ws.receive(envelope(2)); // still in the window: dropped
    ws.receive(envelope(1)); // forgotten: a duplicate this old is delivered again
    expect(h.events).toHaveLength(1002);
    expect(h.events.at(-1)).toBe('evt_1');
    h.client.close();
  });

  it('emits gap when the server cannot fill it, and continues live from the server position', async () => {
    const h = harness({ lastEventId: 'evt_gone' });
    h.client.connect();
    const ws = await accept({ lastEventId: 'evt_40' });
    ws.receive(envelope(41)); // live, held
    ws.receive(serverMessage.resumeError(Date.now(), 'unknown or expired lastEventId'));
    await tick();
    expect(h.gaps).toEqual([{ code: 'gap', message: 'unknown or expired lastEventId', lastEventId: 'evt_gone' }]);
    expect(h.events).toEqual(['evt_41']);
    expect(h.client.lastEventId).toBe('evt_41');
    expect(h.client.state).toBe('connected');
    h.client.close();
  });

  it('waits and retries a rate-limited resume, without a gap', async () => {
    const h = harness({ lastEventId: 'evt_7' });
    h.client.connect();
    const ws = await accept();
    ws.receive(serverMessage.resumeRateLimited(Date.now(), 1_500));
    await tick();
    await vi.advanceTimersByTimeAsync(1_499);
    expect(ws.actions()).toEqual(['auth', 'resume']);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.actions()).toEqual(['auth', 'resume', 'resume']);
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_7' });
    expect(h.gaps).toEqual([]);
    h.client.close();
  });

  it('a resume the server fails on (Internal server error) replaces the connection', async () => {
    const h = harness({ lastEventId: 'evt_7' });
    h.client.connect();
    const ws = await accept();
    ws.receive({ message: 'Internal server error', connectionId: 'c1', requestId: 'r1' });
    await tick();
    expect(h.states.at(-1)).toEqual(['reconnecting', 'server_error']);
    expect(h.errors.map((e) => e.code)).toEqual(['internal_error']);
    h.client.close();
  });

  it('first connection: no resume, the server position becomes the resume point', async () => {
    const h = harness();
    h.client.connect();
    const ws = await accept({ lastEventId: 'evt_100' });
    expect(ws.actions()).toEqual(['auth']);
    expect(h.client.lastEventId).toBe('evt_100');
    ws.receive(envelope(101));
    expect(h.events).toEqual(['evt_101']);
    h.client.close();
  });

  it('emits gap (no_resume_point) when the log was empty at first and events came while away', async () => {
    const h = harness({ random: () => 0 });
    h.client.connect();
    const ws = await accept({ lastEventId: null });
    ws.drop();
    await vi.advanceTimersByTimeAsync(50);
    await accept({ lastEventId: 'evt_3' });
    expect(h.gaps).toEqual([expect.objectContaining({ code: 'no_resume_point', lastEventId: null })]);
    expect(h.client.lastEventId).toBe('evt_3');
    h.client.close();
  });

  it('bounds the frames it holds: on overflow it drops them and resumes again from the last delivered', async () => {
    const { client, ws, events } = await connected({ dedupeWindow: 10 });
    // holdLimit = dedupeWindow + MAX_REPLAY_EVENTS = 1010
    for (let n = 1; n <= 1011; n++) ws.receive(envelope(1000 + n));
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await tick();
    expect(events).toEqual([]);
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_0' });
    ws.receive(replayed(1));
    ws.receive(resumeSuccess({ replayed: 1, lastEventId: 'evt_1', more: false }));
    await tick();
    expect(events).toEqual(['evt_1']);
    client.close();
  });
});

describe('ping', () => {
  it('pings every 8 minutes and replaces a socket whose pong does not come within timeoutMs', async () => {
    const { client, ws, states } = await connected();
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(8 * MIN);
    expect(ws.lastSent()).toEqual({ action: 'ping' });
    ws.receive(serverMessage.pong(Date.now()));
    await tick();
    await vi.advanceTimersByTimeAsync(8 * MIN);
    expect(ws.actions().filter((a) => a === 'ping')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(client.state).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(states.at(-1)).toEqual(['reconnecting', 'timeout']);
    expect(ws.closedWith?.code).toBe(4000);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    client.close();
  });

  it("reports each pong's round trip with on('pong')", async () => {
    const { client, ws } = await connected({ pingIntervalMs: 1000 });
    const trips: number[] = [];
    client.on('pong', (ms) => trips.push(ms));
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.lastSent()).toEqual({ action: 'ping' });
    await vi.advanceTimersByTimeAsync(42);
    ws.receive(serverMessage.pong(Date.now()));
    await tick();
    expect(trips).toEqual([42]);
    client.close();
  });
});

describe('make-before-break rotation', () => {
  it('before the 2-hour limit, a new connection authenticates and resumes, then the old one closes', async () => {
    const h = harness({ eventTypes: ['goal.*'] });
    h.client.connect();
    const old = await accept({ connectionId: 'old', lastEventId: 'evt_0' }, 10 * HOUR);
    old.receive(subscribed(filter(['goal.*'])));
    await tick();
    const pong = () => old.receive(serverMessage.pong(Date.now()));
    for (let t = 0; t < 14; t++) {
      await vi.advanceTimersByTimeAsync(8 * MIN);
      pong();
    }
    old.receive(envelope(1));
    await vi.advanceTimersByTimeAsync(115 * MIN - 14 * 8 * MIN - 1);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    const fresh = FakeSocket.last;
    fresh.open();
    await tick();
    expect(h.client.state).toBe('connected'); // the app sees no change while the successor starts
    fresh.receive(authSuccess({ connectionId: 'new', lastEventId: 'evt_2' }));
    await tick();
    expect(fresh.actions()).toEqual(['auth', 'subscribe']);
    old.receive(envelope(2)); // the old one keeps delivering
    fresh.receive(envelope(3)); // live on the new one: held until its resume is done
    fresh.receive(subscribed(filter(['goal.*'])));
    await tick();
    expect(fresh.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_1' });
    fresh.receive(replayed(2)); // the overlap
    old.receive(envelope(3));
    fresh.receive(resumeSuccess({ replayed: 1, lastEventId: 'evt_2', more: false }));
    await tick();
    expect(old.closedWith).toEqual({ code: 1000, reason: 'rotated' });
    expect(h.states.at(-1)).toEqual(['connected', 'rotated']);
    expect(h.client.connectionId).toBe('new');
    fresh.receive(envelope(4));
    expect(h.events).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4']);
    expect(h.gaps).toEqual([]);
    expect(h.states.filter(([s]) => s !== 'connected')).toEqual([
      ['connecting', 'connect'],
      ['authenticating', 'open'],
    ]);
    h.client.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a successor that fails is dropped and retried later; the current connection carries on', async () => {
    const { client, ws, events } = await connected({ rotateAfterMs: MIN, pingIntervalMs: HOUR });
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await vi.advanceTimersByTimeAsync(MIN);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.drop(1006);
    expect(client.state).toBe('connected');
    ws.receive(envelope(1));
    expect(events).toEqual(['evt_1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.all).toHaveLength(3);
    client.close();
  });
});

describe('handlers', () => {
  it('a throwing handler is reported through error and does not stop the others', async () => {
    const h = harness();
    const seen: string[] = [];
    h.client.on('event', () => {
      throw new Error('app bug');
    });
    h.client.onEvent('goal.created', (e) => seen.push(e.data.goalId));
    h.client.connect();
    const ws = await accept();
    ws.receive(envelope(1));
    ws.receive(envelope(2));
    expect(seen).toEqual(['g1', 'g2']);
    expect(h.events).toEqual(['evt_1', 'evt_2']);
    expect(h.errors).toEqual([
      { code: 'handler_error', message: 'an "event" handler threw: app bug' },
      { code: 'handler_error', message: 'an "event" handler threw: app bug' },
    ]);
    h.client.close();
  });

  it('a throwing error handler goes to the console, never into a loop', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const client = createRealtimeClient({ url: 'wss://x.test', getToken: () => 't', WebSocket: FakeSocket });
    client.on('error', () => {
      throw new Error('worse');
    });
    client.on('event', () => {
      throw new Error('bad');
    });
    client.connect();
    await accept();
    FakeSocket.last.receive(envelope(1));
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0]?.[0])).toContain('worse');
    client.close();
    log.mockRestore();
  });

  it('on() and onEvent() return off functions; onEvent matches patterns', async () => {
    const h = harness();
    const goals: string[] = [];
    const off = h.client.onEvent('goal.*', (e) => goals.push(e.type));
    h.client.connect();
    const ws = await accept();
    ws.receive(envelope(1, { type: 'goal.completed' }));
    ws.receive(envelope(2, { type: 'action.created', data: { tenantId: 't1', actionId: 'a' } }));
    off();
    ws.receive(envelope(3));
    expect(goals).toEqual(['goal.completed']);
    expect(() => h.client.onEvent('*', () => {})).toThrow(RealtimeError);
    h.client.close();
  });
});

describe('close()', () => {
  const cases: Array<[string, () => Promise<void>]> = [
    ['connecting', async () => {}],
    [
      'authenticating with the token pending',
      async () => {
        FakeSocket.last.open();
        await tick();
      },
    ],
    [
      'connected, mid-resume with held frames',
      async () => {
        await accept();
        FakeSocket.last.receive(envelope(1));
      },
    ],
    [
      'reconnecting, waiting out the backoff',
      async () => {
        await accept();
        FakeSocket.last.drop();
      },
    ],
    [
      'rotating, with two sockets',
      async () => {
        await accept({}, 10 * HOUR);
        FakeSocket.last.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
        await vi.advanceTimersByTimeAsync(115 * MIN);
        expect(FakeSocket.all).toHaveLength(2);
        FakeSocket.last.open();
      },
    ],
  ];
  it.each(cases)('leaves no timer and no open socket (%s)', async (_name, reach) => {
    const h = harness({ pingIntervalMs: 200 * MIN, lastEventId: 'evt_0' });
    h.client.connect();
    await reach();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    h.client.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(FakeSocket.all.every((s) => s.isClosed)).toBe(true);
    expect(h.client.state).toBe('closed');
    // Late callbacks (a token, a frame) start nothing.
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.states.at(-1)).toEqual(['closed', 'close']);
  });
});
