/**
 * `shareAcrossTabs` on fake Web Locks and a fake BroadcastChannel (tab-fakes.ts), fake sockets
 * and fake timers: every client is a tab of one fake browser. Election, one socket per identity,
 * events and states to every tab, the union of subscriptions, the shared resume point, handover
 * on close and on crash with nothing lost or doubled, separate users, and the fallbacks.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRealtimeClient, type RealtimeClient, RealtimeError, type StateInfo } from '../../client/src/index.js';
// Loaded up front (the client imports it on demand), so fake time needs no real module loading.
import { shareKey } from '../../client/src/tabs.js';
import { type Priority, serverMessage } from '../../lambdas/contract/plain.js';
import {
  accept,
  envelope,
  FakeSocket,
  filter,
  replayed,
  resumeSuccess,
  subscribed,
  T0,
  unsubscribed,
} from './fakes.js';
import { crashTab, FakeBroadcastChannel, type FakeLocks, fakeBrowser, fakeJwt } from './tab-fakes.js';

const URL_ = 'wss://example.test/dev';

/** The real one: vitest's module runner needs real turns of the event loop for `import()`. */
const realSetImmediate = globalThis.setImmediate;
const realTurn = () => new Promise((resolve) => realSetImmediate(resolve));

/**
 * Lets channel frames, promise callbacks and the on-demand import run. Fake time moves 1 ms per
 * round: a 0 ms timer set inside a timer callback is due 1 ms later under fake timers.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await vi.advanceTimersByTimeAsync(1);
    await realTurn();
  }
}

/** Waits in real time (fake time stands still) until `pred` holds, then settles. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; !pred(); i++) {
    if (i > 5000) throw new Error(`never happened: ${what}`);
    await vi.advanceTimersByTimeAsync(1);
    await realTurn();
  }
  await settle();
}

/** `connect()` on each client in turn, each time waiting until it asked for its first token. */
async function connect(...clients: Array<{ connect(): void }>): Promise<void> {
  for (const client of clients) {
    const before = tokenCalls;
    client.connect();
    await until(() => tokenCalls > before, 'a getToken call');
  }
}

/** getToken calls of every client of the test. */
let tokenCalls = 0;

interface Tab {
  client: RealtimeClient;
  name: string;
  events: string[];
  states: StateInfo[];
  gaps: unknown[];
  errors: string[];
  tokenCalls: number;
  role(): StateInfo['role'];
}

let iat = 1_000;

/** A client with `shareAcrossTabs`, recording what its app sees; its tokens are for `user` of `tenant`. */
function tab(
  name: string,
  options: {
    user?: string;
    tenant?: string;
    eventTypes?: string[];
    sources?: string[];
    minPriority?: Priority;
    url?: string;
    httpUrl?: string;
    lastEventId?: string;
  } = {},
) {
  const t: Tab = {
    name,
    events: [],
    states: [],
    gaps: [],
    errors: [],
    tokenCalls: 0,
    role: () => t.client.stateInfo.role,
    client: createRealtimeClient({
      url: options.url ?? URL_,
      WebSocket: FakeSocket,
      onlineEvents: null,
      shareAcrossTabs: true,
      ...(options.eventTypes ? { eventTypes: options.eventTypes } : {}),
      ...(options.sources ? { sources: options.sources } : {}),
      ...(options.minPriority ? { minPriority: options.minPriority } : {}),
      ...(options.lastEventId ? { lastEventId: options.lastEventId } : {}),
      ...(options.httpUrl ? { httpUrl: options.httpUrl } : {}),
      getToken: async () => {
        t.tokenCalls++;
        tokenCalls++;
        // iat/exp/jti differ per token: the lock must not depend on them.
        return fakeJwt({
          sub: options.user ?? 'u1',
          tenantId: options.tenant ?? 't1',
          iat: iat++,
          exp: iat + 3600,
          jti: `j${iat}`,
        });
      },
    }),
  };
  t.client.on('event', (e) => t.events.push(e.eventId));
  t.client.on('state', (_s, info) => t.states.push(info));
  t.client.on('gap', (g) => t.gaps.push(g));
  t.client.on('error', (e) => t.errors.push(e.code));
  return t;
}

/** Connects the tabs one after another (so the first leads), the leader authenticated; returns its socket. */
async function open(...tabs: Tab[]): Promise<FakeSocket> {
  for (const t of tabs) await connect(t.client);
  const ws = await accept({ lastEventId: 'evt_0' });
  await settle();
  return ws;
}

/** The tab id of the newest leader, from its state frames on the channel. */
function leaderId(): string {
  const frame = FakeBroadcastChannel.posted.filter((p) => p.data.k === 's').at(-1);
  if (!frame) throw new Error('no leader spoke yet');
  return String(frame.data.f);
}

let locks: FakeLocks;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  FakeSocket.all = [];
  tokenCalls = 0;
  ({ locks } = fakeBrowser());
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('shareKey: which tokens share a connection', () => {
  const base = { sub: 'u1', tenantId: 't1', roles: ['a'] };
  it('ignores iat, exp, nbf, jti and claim order', () => {
    expect(shareKey(fakeJwt({ ...base, iat: 1, exp: 2, nbf: 1, jti: 'x' }))).toBe(
      shareKey(fakeJwt({ roles: ['a'], tenantId: 't1', sub: 'u1', iat: 9, exp: 99, jti: 'y' })),
    );
  });
  it('differs by user, tenant, roles or any other claim', () => {
    const key = shareKey(fakeJwt(base));
    for (const other of [
      { ...base, sub: 'u2' },
      { ...base, tenantId: 't2' },
      { ...base, roles: ['a', 'b'] },
      { ...base, iss: 'https://idp.example' },
    ])
      expect(shareKey(fakeJwt(other))).not.toBe(key);
  });
  it('throws for what is not a JWT', () => {
    expect(() => shareKey('not-a-jwt')).toThrow();
    expect(() => shareKey('a.!!!.c')).toThrow();
  });
});

describe('shareAcrossTabs: one connection per origin, url and user', () => {
  it('elects one leader: one socket, the others follow its states (with its connection id)', async () => {
    const a = tab('a');
    const b = tab('b');
    const c = tab('c');
    await open(a, b, c);
    expect(FakeSocket.all).toHaveLength(1);
    expect(locks.names()).toHaveLength(1);
    expect(locks.names()[0]).toContain(URL_);
    expect([a.role(), b.role(), c.role()]).toEqual(['leader', 'follower', 'follower']);
    for (const t of [a, b, c]) expect(t.client.state).toBe('connected');
    expect(b.client.stateInfo).toMatchObject({ state: 'connected', reason: 'authenticated', connectionId: 'c1' });
    expect(a.states.map((s) => s.state)).toEqual(['connecting', 'authenticating', 'connected']);
    expect(b.states.at(-1)).toMatchObject({ state: 'connected', role: 'follower' });
    // Only the leader asked for a token to connect with; each follower asked once, for the lock's key.
    expect([a.tokenCalls, b.tokenCalls, c.tokenCalls]).toEqual([2, 1, 1]);
    for (const t of [a, b, c]) t.client.close();
  });

  it('delivers every event to every tab once; each tab sees only its own types; lastEventId is shared', async () => {
    const a = tab('a', { eventTypes: ['goal.*'] });
    const b = tab('b', { eventTypes: ['action.*'] });
    const c = tab('c');
    const ws = await open(a, b, c);
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();
    ws.receive(envelope(1));
    ws.receive(envelope(2, { type: 'action.created' }));
    ws.receive(envelope(1)); // an EventBridge retry: a duplicate
    await settle();
    expect(a.events).toEqual(['evt_1']);
    expect(b.events).toEqual(['evt_2']);
    expect(c.events).toEqual(['evt_1', 'evt_2']);
    for (const t of [a, b, c]) expect(t.client.lastEventId).toBe('evt_2');
    for (const t of [a, b, c]) t.client.close();
  });

  it('the leader subscribes to the union of every tab set; a follower`s subscribe resolves once the server has it', async () => {
    const a = tab('a', { eventTypes: ['goal.*'] });
    const b = tab('b', { eventTypes: ['action.*'] });
    await connect(a.client);
    await connect(b.client); // b's set reached a before a authenticated
    const ws = await accept();
    expect(ws.lastSent('subscribe')).toEqual({ action: 'subscribe', ...filter(['goal.*', 'action.*']) });
    ws.receive(subscribed(filter(['goal.*', 'action.*'])));
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();

    let resolved: string[] | undefined;
    void b.client.subscribe(['issue.*']).then((s) => (resolved = s));
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'subscribe', eventTypes: ['issue.*'] });
    expect(resolved).toBeUndefined(); // waits for the leader, which waits for the server
    ws.receive(subscribed(filter(['goal.*', 'action.*', 'issue.*'])));
    await settle();
    expect(resolved).toEqual(['action.*', 'issue.*']);
    expect(b.client.subscriptions).toEqual(['action.*', 'issue.*']);

    // A pattern another tab still needs stays on the server; one nobody needs goes.
    const dropped = b.client.unsubscribe(['issue.*']);
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'unsubscribe', eventTypes: ['issue.*'] });
    ws.receive(unsubscribed(filter(['goal.*', 'action.*'])));
    await settle();
    expect(await dropped).toEqual(['action.*']);
    const sentBefore = ws.sent.length;
    await a.client.subscribe(['action.*']); // b has it: the union does not change
    expect(ws.sent).toHaveLength(sentBefore);

    // A follower that leaves takes its patterns out of the union.
    b.client.close();
    await settle();
    expect(ws.sent.slice(sentBefore)).toEqual([]); // a subscribed to action.* itself meanwhile
    const own = a.client.unsubscribe(['action.*']);
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'unsubscribe', eventTypes: ['action.*'] });
    ws.receive(unsubscribed(filter(['goal.*'])));
    expect(await own).toEqual(['goal.*']);
    a.client.close();
  });

  it('a tab with every type (the default) makes the union every type: nothing is subscribed on the server', async () => {
    const a = tab('a', { eventTypes: ['goal.*'] });
    const b = tab('b');
    await connect(a.client);
    await connect(b.client);
    const ws = await accept();
    expect(ws.actions()).toEqual(['auth']); // no subscribe: the union is "every type" (and no resume point yet)
    b.client.close();
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'subscribe', eventTypes: ['goal.*'] }); // b left: narrow again
    a.client.close();
  });

  it('sources and priority: the leader subscribes to the union of the sources and the lowest floor; each tab sees only its own', async () => {
    const a = tab('a', { sources: ['app.billing'], minPriority: 'high' });
    const b = tab('b', { sources: ['app.goals'], minPriority: 'normal' });
    await connect(a.client);
    await connect(b.client);
    const ws = await accept({ lastEventId: 'evt_0' });
    await settle();
    expect(ws.lastSent('subscribe')).toEqual({
      action: 'subscribe',
      ...filter([], ['app.billing', 'app.goals'], 'normal'),
    });
    ws.receive(subscribed(filter([], ['app.billing', 'app.goals'], 'normal')));
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();
    ws.receive(envelope(1, { source: 'app.billing', priority: 'high' }));
    ws.receive(envelope(2, { source: 'app.goals', priority: 'normal' }));
    ws.receive(envelope(3, { source: 'app.billing', priority: 'normal' })); // under a's floor, not b's source
    ws.receive(envelope(4, { source: 'app.goals', priority: 'critical' }));
    ws.receive(envelope(5, { source: 'app.goals' })); // no priority: normal
    ws.receive(envelope(6, { source: 'app.goals', priority: 'low' }));
    await settle();
    expect(a.events).toEqual(['evt_1']);
    expect(b.events).toEqual(['evt_2', 'evt_4', 'evt_5']);
    for (const t of [a, b]) expect(t.client.lastEventId).toBe('evt_6');

    // A follower's change reaches the server as the union's change: adds (with the new floor) first.
    let done = false;
    void b.client.subscribe([], { sources: ['app.users'], minPriority: 'low' }).then(() => (done = true));
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'subscribe', sources: ['app.users'], minPriority: 'low' });
    expect(done).toBe(false);
    ws.receive(subscribed(filter([], ['app.billing', 'app.goals', 'app.users'], 'low')));
    await settle();
    expect(done).toBe(true);
    expect(b.client.filter).toEqual(filter([], ['app.goals', 'app.users'], 'low'));
    const less = b.client.unsubscribe([], { sources: ['app.goals'] });
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'unsubscribe', sources: ['app.goals'] });
    ws.receive(unsubscribed(filter([], ['app.billing', 'app.users'], 'low')));
    await settle();
    await less;

    // b leaves: the floor goes back up to a's, then its source goes.
    const before = ws.sent.length;
    b.client.close();
    await settle();
    expect(ws.sent.slice(before)).toEqual([{ action: 'subscribe', minPriority: 'high' }]);
    ws.receive(subscribed(filter([], ['app.billing', 'app.users'], 'high')));
    await settle();
    expect(ws.sent.slice(before + 1)).toEqual([{ action: 'unsubscribe', sources: ['app.users'] }]);
    a.client.close();
  });

  it('a tab without sources (or a union over 20) means every source on the server; a tab without a floor, every priority', async () => {
    const a = tab('a', { sources: ['app.billing'], minPriority: 'critical' });
    const b = tab('b', { eventTypes: ['goal.*'] });
    await connect(a.client);
    await connect(b.client);
    const ws = await accept();
    expect(ws.actions()).toEqual(['auth']); // the union is every event: nothing to subscribe to
    ws.receive(envelope(1, { source: 'app.goals', type: 'goal.created' }));
    ws.receive(envelope(2, { source: 'app.billing', type: 'invoice.paid', priority: 'critical' }));
    await settle();
    expect(a.events).toEqual(['evt_2']);
    expect(b.events).toEqual(['evt_1']);
    a.client.close();
    b.client.close();

    const many = (prefix: string) => Array.from({ length: 12 }, (_, i) => `${prefix}.${i}`);
    const c = tab('c', { sources: many('c') });
    const d = tab('d', { sources: many('d') });
    await connect(c.client);
    await connect(d.client);
    const ws2 = await accept();
    expect(ws2.actions()).toEqual(['auth']); // 24 sources: over the server's cap, so every source
    c.client.close();
    d.client.close();
  });

  it('a tab of an SDK from before sources and priorities (its frames carry event types only) still shares', async () => {
    const a = tab('a', { eventTypes: ['action.*'], sources: ['app.billing'], minPriority: 'high' });
    await connect(a.client);
    const ws = await accept();
    expect(ws.lastSent('subscribe')).toEqual({ action: 'subscribe', ...filter(['action.*'], ['app.billing'], 'high') });
    ws.receive(subscribed(filter(['action.*'], ['app.billing'], 'high')));
    await settle();
    const name = FakeBroadcastChannel.open[0]!.name;
    const old = new FakeBroadcastChannel(name);
    old.postMessage({ k: 'u', f: 'old-tab', s: ['goal.*'] });
    await settle();
    // Its filter is "goal.* from any source, any priority": the union widens to it.
    expect(ws.sent.slice(-1)).toEqual([{ action: 'subscribe', eventTypes: ['goal.*'], minPriority: 'low' }]);
    ws.receive(subscribed(filter(['action.*', 'goal.*'], ['app.billing'], 'low')));
    await settle();
    expect(ws.lastSent()).toEqual({ action: 'unsubscribe', sources: ['app.billing'] });
    old.close();
    a.client.close();
  });

  it('the leader`s gap reaches every tab', async () => {
    const a = tab('a', { lastEventId: 'evt_old' });
    const b = tab('b');
    const ws = await open(a, b);
    expect(ws.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_old' });
    ws.receive(serverMessage.resumeError(Date.now(), 'unknown or expired lastEventId'));
    await settle();
    expect(a.gaps).toEqual([expect.objectContaining({ code: 'gap', lastEventId: 'evt_old' })]);
    expect(b.gaps).toEqual(a.gaps);
    expect(b.client.lastEventId).toBe('evt_0'); // the resume point after the gap is shared too
    a.client.close();
    b.client.close();
    expect(ws.isClosed).toBe(true);
  });

  it('followers see the leader`s reconnects, their error a RealtimeError with its code', async () => {
    const a = tab('a');
    const b = tab('b');
    const ws = await open(a, b);
    ws.receive(serverMessage.authExpired(Date.now()));
    await settle();
    expect(b.client.state).toBe(a.client.state);
    ws.drop(1006);
    await settle();
    const next = FakeSocket.last;
    next.open();
    await settle();
    next.receive(serverMessage.authError(Date.now(), 'invalid_token', 'bad signature'));
    await settle();
    const info = b.states.at(-1)!;
    expect(info).toMatchObject({ state: 'reconnecting', reason: 'auth_error', role: 'follower' });
    expect(info.error).toBeInstanceOf(RealtimeError);
    expect(info.error).toMatchObject({ code: 'invalid_token', message: 'bad signature' });
    expect(b.states.map((s) => s.state)).toEqual(a.states.map((s) => s.state).slice(-b.states.length));
    a.client.close();
    b.client.close();
  });

  it('close() in a follower leaves the leader and the others connected', async () => {
    const a = tab('a');
    const b = tab('b');
    const c = tab('c');
    const ws = await open(a, b, c);
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();
    b.client.close();
    await settle();
    expect(b.client.state).toBe('closed');
    expect(b.states.at(-1)).toMatchObject({ state: 'closed', reason: 'close', role: 'follower' });
    expect(ws.isClosed).toBe(false);
    ws.receive(envelope(1));
    await settle();
    expect([a.events, b.events, c.events]).toEqual([['evt_1'], [], ['evt_1']]);
    expect(FakeSocket.all).toHaveLength(1);
    a.client.close();
    c.client.close();
  });
});

function authData() {
  return {
    connectionId: `c${FakeSocket.all.length}`,
    tenantId: 't1',
    userId: 'u1',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    lastEventId: null,
  };
}

describe('handover', () => {
  it('close() in the leader: the next tab takes over with its own token and resumes from the shared lastEventId, nothing lost or doubled', async () => {
    const a = tab('a');
    const b = tab('b');
    const c = tab('c');
    const ws = await open(a, b, c);
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();
    ws.receive(envelope(1));
    ws.receive(envelope(2));
    await settle();

    const tokensBefore = b.tokenCalls;
    a.client.close();
    expect(ws.isClosed).toBe(true);
    await settle();
    expect(b.role()).toBe('leader');
    expect(b.states.at(-1)).toMatchObject({ state: 'connecting', reason: 'takeover', role: 'leader' });
    expect(c.states.at(-1)).toMatchObject({ state: 'connecting', reason: 'takeover', role: 'follower' });
    expect(FakeSocket.all).toHaveLength(2);
    const next = await accept({ lastEventId: 'evt_4' });
    expect(b.tokenCalls).toBe(tokensBefore + 1); // its own getToken
    expect(next.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_2' });
    // The replay overlaps what the tabs had (evt_2) and holds what happened during the handover.
    next.receive(replayed(2));
    next.receive(replayed(3));
    next.receive(envelope(5)); // live during the replay: held, delivered after it
    next.receive(replayed(4));
    next.receive(resumeSuccess({ replayed: 3, lastEventId: 'evt_4', more: false }));
    await settle();
    next.receive(envelope(6));
    await settle();
    const all = ['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5', 'evt_6'];
    expect(b.events).toEqual(all);
    expect(c.events).toEqual(all);
    expect(a.events).toEqual(['evt_1', 'evt_2']);
    expect(c.client.stateInfo).toMatchObject({ state: 'connected', role: 'follower', connectionId: 'c2' });
    b.client.close();
    c.client.close();
  });

  it('a crashed leader (lock released, no goodbye): another tab takes over from the resume point the leader shared', async () => {
    const a = tab('a');
    const b = tab('b');
    const ws = await open(a, b);
    // No event yet: the resume point is the server's newest at the first auth (evt_0), shared at once.
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    await settle();
    expect(b.client.lastEventId).toBe('evt_0');

    crashTab(locks, locks.names()[0]!, leaderId());
    await settle();
    expect(b.role()).toBe('leader');
    const next = await accept({ lastEventId: 'evt_1' });
    expect(next.lastSent()).toEqual({ action: 'resume', lastEventId: 'evt_0' });
    next.receive(replayed(0)); // the overlap replays the starting point: history, never delivered
    next.receive(replayed(1)); // emitted while nobody was connected
    next.receive(resumeSuccess({ replayed: 1, lastEventId: 'evt_1', more: false }));
    await settle();
    expect(b.events).toEqual(['evt_1']);
    expect(b.gaps).toEqual([]);
    b.client.close();
    a.client.close();
  });

  it('a follower that joins later gets the current state and resume point from the leader', async () => {
    const a = tab('a');
    const ws = await open(a);
    ws.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    ws.receive(envelope(1));
    await settle();
    const b = tab('b');
    await connect(b.client);
    expect(b.client.stateInfo).toMatchObject({ state: 'connected', role: 'follower' });
    expect(b.client.lastEventId).toBe('evt_1');
    expect(FakeSocket.all).toHaveLength(1);
    a.client.close();
    b.client.close();
  });
});

describe('who shares, and the fallbacks', () => {
  it('two users (or two tenants, or two urls) never share: each has its own lock and socket, and its own events', async () => {
    const a = tab('a', { user: 'alice' });
    const b = tab('b', { user: 'bob' });
    const c = tab('c', { tenant: 't2', user: 'alice' });
    const d = tab('d', { user: 'alice', url: 'wss://other.test/dev' });
    for (const t of [a, b, c, d]) {
      await connect(t.client);
    }
    expect(locks.names()).toHaveLength(4);
    expect(FakeSocket.all).toHaveLength(4);
    expect([a, b, c, d].map((t) => t.role())).toEqual(['leader', 'leader', 'leader', 'leader']);
    const wsA = FakeSocket.all[0]!;
    wsA.open();
    await settle();
    wsA.receive(serverMessage.authSuccess(Date.now(), { ...authData(), lastEventId: 'evt_0' }));
    wsA.receive(resumeSuccess({ replayed: 0, lastEventId: 'evt_0', more: false }));
    wsA.receive(envelope(1));
    await settle();
    expect([a.events, b.events, c.events, d.events]).toEqual([['evt_1'], [], [], []]);
    for (const t of [a, b, c, d]) t.client.close();
  });

  it('tabs with the same url but another httpUrl (another backend`s fallback) do not share', async () => {
    const a = tab('a', { httpUrl: 'https://api.example.test' });
    const b = tab('b', { httpUrl: 'https://other.example.test' });
    const c = tab('c', { httpUrl: 'https://api.example.test' });
    await connect(a.client, b.client, c.client);
    expect(locks.names()).toHaveLength(2);
    expect(FakeSocket.all).toHaveLength(2);
    expect([a.role(), b.role(), c.role()]).toEqual(['leader', 'leader', 'follower']);
    for (const t of [a, b, c]) t.client.close();
  });

  it('two tabs opened at the same moment still elect one leader', async () => {
    const a = tab('a');
    const b = tab('b');
    a.client.connect();
    b.client.connect();
    await until(() => tokenCalls === 3, 'two key tokens and one to connect with');
    expect(FakeSocket.all).toHaveLength(1);
    expect([a.role(), b.role()].sort()).toEqual(['follower', 'leader']);
    a.client.close();
    b.client.close();
  });

  it('without Web Locks or BroadcastChannel each tab keeps its own connection (role solo)', async () => {
    for (const missing of ['navigator', 'BroadcastChannel']) {
      vi.unstubAllGlobals();
      fakeBrowser();
      vi.stubGlobal(missing, undefined);
      FakeSocket.all = [];
      const a = tab('a');
      const b = tab('b');
      await connect(a.client, b.client);
      expect(FakeSocket.all).toHaveLength(2);
      expect([a.client.stateInfo.role, b.client.stateInfo.role]).toEqual(['solo', 'solo']);
      expect([a.tokenCalls, b.tokenCalls]).toEqual([1, 1]);
      a.client.close();
      b.client.close();
    }
  });

  it('a token that is not a JWT (or a failing getToken) keeps the tab on its own connection', async () => {
    const opaque = createRealtimeClient({
      url: URL_,
      WebSocket: FakeSocket,
      onlineEvents: null,
      shareAcrossTabs: true,
      getToken: () => {
        tokenCalls++;
        return 'opaque-token';
      },
    });
    const failing = createRealtimeClient({
      url: URL_,
      WebSocket: FakeSocket,
      onlineEvents: null,
      shareAcrossTabs: true,
      getToken: () => {
        tokenCalls++;
        return Promise.reject(new Error('offline'));
      },
    });
    await connect(opaque, failing);
    expect(FakeSocket.all).toHaveLength(2);
    expect(locks.names()).toEqual([]);
    expect([opaque.stateInfo.role, failing.stateInfo.role]).toEqual(['solo', 'solo']);
    opaque.close();
    failing.close();
  });

  it('a string shareAcrossTabs is the key itself: opaque tokens can share', async () => {
    const make = () =>
      createRealtimeClient({
        url: URL_,
        WebSocket: FakeSocket,
        onlineEvents: null,
        shareAcrossTabs: 'user-42',
        getToken: () => {
          tokenCalls++;
          return 'opaque-token';
        },
      });
    const a = make();
    const b = make();
    await connect(a);
    b.connect();
    await until(() => b.stateInfo.role === 'follower', 'b follows');
    expect(FakeSocket.all).toHaveLength(1);
    expect(locks.names()).toEqual([`tenant-realtime ${URL_}  user-42`]); // no httpUrl
    expect([a.stateInfo.role, b.stateInfo.role]).toEqual(['leader', 'follower']);
    a.close();
    b.close();
  });

  it('close() before the election finished, or while waiting for the lock, leaves no lock request, channel or timer', async () => {
    const a = tab('a');
    const b = tab('b');
    const c = tab('c');
    await connect(a.client);
    await connect(b.client);
    c.client.connect();
    c.client.close(); // before it even loaded the tab sharing
    await settle();
    const name = locks.names()[0]!;
    expect(locks.queued(name)).toBe(1); // b waits
    b.client.close();
    await settle();
    expect(locks.queued(name)).toBe(0);
    a.client.close();
    await settle();
    expect(locks.names()).toEqual([]);
    expect(FakeBroadcastChannel.open).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect([a, b, c].map((t) => t.client.state)).toEqual(['closed', 'closed', 'closed']);
  });
});
