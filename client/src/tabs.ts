/**
 * `shareAcrossTabs`: one connection for all tabs of an origin that use the same `url` and user.
 *
 * - **Election.** Each tab asks for one Web Lock named after `url`, `httpUrl` and the token's identity
 *   (see `shareKey`). The tab holding it leads: it alone has a socket. A crashed or closed leader
 *   releases the lock, and the next waiting tab takes over, connecting with its own `getToken`.
 * - **BroadcastChannel** (same name as the lock) carries the rest. The leader posts its states,
 *   every envelope it delivers (after dedupe, before its own filter), its resume point and gaps.
 *   Followers mirror the states, dedupe and filter events like a connection would, and keep the
 *   resume point, so a new leader resumes where the old one stopped.
 * - **Subscriptions.** Every tab posts its set; every tab keeps the sets of the others, so the
 *   leader (whichever it is) subscribes to their union and a new leader starts with it.
 *
 * A frame on the channel is `{k, f, …}`: its kind and the sending tab's id.
 *
 * Its own entry point (`dist/tabs.js`): the core imports it only when `shareAcrossTabs` is set
 * and the platform has Web Locks and BroadcastChannel, so apps that do not share pay nothing.
 */
// limits.js rather than plain.js: plain.js re-exports the route tables, which would be bundled again here.
import { MAX_SUBSCRIPTIONS } from '../../lambdas/contract/limits.js';
import type { Envelope } from '../../lambdas/contract/plain.js';
import type { Client } from './client.js';
import type { RealtimeError } from './errors.js';
import type { ConnectionState } from './state.js';
import type { GapInfo, StateInfo } from './types.js';

/** The platform's Web Locks, as far as used here. */
interface Locks {
  request(name: string, options: { signal: AbortSignal }, grant: () => Promise<void> | undefined): Promise<void>;
}
interface Channel {
  onmessage: ((ev: { data: Frame }) => void) | null;
  postMessage(frame: Frame): void;
  close(): void;
}
type ChannelConstructor = new (name: string) => Channel;

export type Frame = { k: string; f?: string; [field: string]: unknown };

/** Claims that differ between two tokens of one session. */
const PER_TOKEN = ['iat', 'exp', 'nbf', 'jti'];

/**
 * The identity a token is for: its payload's claims except the per-token ones, in a fixed
 * order. Decoded without verifying (the server verifies); it only names the lock. Throws for
 * anything that is not a JWT.
 */
export function shareKey(token: string): string {
  const payload = JSON.parse(atob((token.split('.')[1] as string).replace(/-/g, '+').replace(/_/g, '/')));
  return JSON.stringify(
    Object.entries(payload as object)
      .filter(([claim]) => !PER_TOKEN.includes(claim))
      .sort(),
  );
}

const platform = globalThis as unknown as { navigator: { locks: Locks }; BroadcastChannel: ChannelConstructor };

export interface Tabs {
  /** Undefined until this tab knows whether it leads (it holds the lock) or follows (a leader spoke). */
  readonly role: 'leader' | 'follower' | undefined;
  /** Derives the key, opens the channel and asks for the lock; once. */
  start(): Promise<void>;
  /** Leaves: says goodbye, releases or stops waiting for the lock. */
  stop(): void;
  /** Posts a frame of the leader's (event, resume point, gap); followers say nothing of these. */
  tell(frame: Frame): void;
  /** Posts the leader's state (its error as `{code, message}`: a clone of any `cause` could fail). */
  state(): void;
  /** The set the leader's connection subscribes to: the union of every tab's set. */
  wire(): string[];
  /** This tab's set changed: tells the others; resolves once the leader has applied it. */
  change(): Promise<void>;
}

/**
 * `share` is the `shareAcrossTabs` option (a string is the key). `E` is the core's RealtimeError:
 * this module imports nothing, so a follower's mirrored error is an instance of the app's class.
 */
export function tabs(c: Client, share: true | string, E: typeof RealtimeError): Tabs {
  const id = Math.random().toString(36).slice(2);
  const abort = new AbortController();
  /** Other tabs' subscription sets, by tab id. */
  const peers = new Map<string, readonly string[]>();
  /** Subscription changes waiting for the leader's acknowledgement. */
  const acks = new Map<string, () => void>();
  let role: Tabs['role'];
  let ch: Channel | undefined;
  let started = false;
  let leader: string | undefined;
  let release: (() => void) | undefined;
  /** The set the leader's connection holds on the server. */
  let union: string[] = [];

  const post = (frame: Frame) => ch?.postMessage({ ...frame, f: id });
  const tell = (frame: Frame) => role === 'leader' && post(frame);
  const state = () => {
    const e = c.stateInfo.error;
    tell({ k: 's', s: c.state, i: { ...c.stateInfo, error: e && { code: e.code, message: e.message } }, c: c.cursor });
  };

  /** The union of every set; empty (every type) when one is empty or it is over the cap. */
  const wire = () => {
    const sets = [c.subs, ...peers.values()];
    const all = [...new Set(sets.flat())];
    return (union = sets.some((s) => !s.length) || all.length > MAX_SUBSCRIPTIONS ? [] : all);
  };

  /** Brings the server's set to the union: adds first, so it is never "every type" in between. */
  const sync = async () => {
    const before = union;
    const after = wire();
    for (const [add, patterns] of [
      [true, after.filter((p) => !before.includes(p))],
      [false, before.filter((p) => !after.includes(p))],
    ] as const)
      if (patterns.length)
        await c.send(add, patterns)?.catch((e: RealtimeError) => e.code === 'disconnected' || c.report(e));
  };

  const lead = (): Promise<void> | undefined => {
    if (c.state === 'closed') return;
    role = 'leader';
    peers.delete(leader as string); // it is gone: that is why this tab has the lock
    c.dial(c.state === 'idle' ? 'connect' : 'takeover');
    return new Promise((resolve) => (release = resolve));
  };

  const receive = (m: Frame) => {
    const from = m.f as string;
    if (m.k === 'h') {
      post({ k: 'u', s: c.subs });
      state();
    }
    if (m.k === 'h' || m.k === 'u') {
      peers.set(from, m.s as string[]);
      if (role === 'leader') void sync().then(() => m.r && post({ k: 'a', r: m.r }));
    } else if (m.k === 'b') {
      peers.delete(from);
      if (role === 'leader') void sync();
    } else if (m.k === 'a') {
      acks.get(m.r as string)?.();
    } else if (role !== 'leader') {
      // The leader's frames.
      if ('c' in m) {
        c.cursor = m.c as string | null | undefined;
        // The leader's starting point counts as seen here too: a later resume's overlap may replay it.
        if (typeof m.c === 'string') c.seen(m.c);
      }
      if (m.k === 's') {
        role = 'follower';
        leader = from;
        // The leader's state; its error came as `{code, message}`.
        const info = m.i as StateInfo;
        const e = info.error;
        c.state = m.s as ConnectionState;
        c.stateInfo = { ...info, role, error: e && new E(e.code, e.message) };
        c.emit('state', c.state, c.stateInfo);
      } else if (m.k === 'e') c.deliver(m.e as Envelope);
      else if (m.k === 'g') c.gap(m.g as GapInfo);
    }
  };

  return {
    get role() {
      return role;
    },
    tell,
    state,
    wire,
    async start() {
      if (started || c.state === 'closed') return;
      started = true;
      let name: string;
      try {
        // Both URLs: with `transport: 'polling'` there is no `url`, and tabs of two backends must not share.
        name = `tenant-realtime ${c.url} ${c.httpUrl} ${typeof share === 'string' ? share : shareKey((await c.fetchToken()) as string)}`;
      } catch {
        // No token, or not a JWT: this tab keeps its own connection.
        c.tabs = undefined;
        return c.dial('connect');
      }
      if ((c.state as string) === 'closed') return;
      ch = new platform.BroadcastChannel(name);
      ch.onmessage = (ev) => receive(ev.data);
      platform.navigator.locks.request(name, { signal: abort.signal }, lead).catch(() => {}); // aborted by close()
      post({ k: 'h', s: c.subs });
    },
    stop() {
      post({ k: 'b' });
      ch?.close();
      ch = undefined;
      abort.abort();
      release?.();
      for (const ack of acks.values()) ack();
    },
    async change() {
      const r = id + Math.random();
      const acked = new Promise<void>((resolve) => {
        acks.set(r, resolve);
        c.timers.set(r, c.timeoutMs, resolve);
      });
      post({ k: 'u', s: c.subs, r });
      if (role === 'leader') await sync();
      else if (c.state === 'connected') await acked;
      acks.delete(r);
      c.timers.clear(r);
    },
  };
}
