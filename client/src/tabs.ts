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
 * - **Subscriptions.** Every tab posts its filter; every tab keeps the filters of the others, so
 *   the leader (whichever it is) subscribes to their union and a new leader starts with it: the
 *   union of the event types and of the sources (each empty, i.e. every one, when a tab's is empty
 *   or the union is over the server's cap) and the lowest `minPriority`. Each tab still delivers
 *   only what its own filter passes (`deliver`).
 *
 * A frame on the channel is `{k, f, …}`: its kind and the sending tab's id. A filter travels as
 * `s` (event types), `o` (sources) and `p` (minPriority): a tab of an SDK from before sources and
 * priorities sends and reads `s` alone, and still shares correctly.
 *
 * Its own entry point (`dist/tabs.js`): the core imports it only when `shareAcrossTabs` is set
 * and the platform has Web Locks and BroadcastChannel, so apps that do not share pay nothing.
 */
// Not plain.js: it re-exports the route tables, which would be bundled again here.
import { LOWEST_PRIORITY, PRIORITIES, type Priority, priorityRank } from '../../lambdas/contract/event-types.js';
import { MAX_FILTER_SOURCES, MAX_SUBSCRIPTIONS } from '../../lambdas/contract/limits.js';
import type { Envelope, SubscriptionFilter } from '../../lambdas/contract/plain.js';
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
  /** The filter the leader's connection subscribes to: the union of every tab's. */
  wire(): SubscriptionFilter;
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
  /** Other tabs' filters, by tab id. */
  const peers = new Map<string, SubscriptionFilter>();
  /** Subscription changes waiting for the leader's acknowledgement. */
  const acks = new Map<string, () => void>();
  let role: Tabs['role'];
  let ch: Channel | undefined;
  let started = false;
  let leader: string | undefined;
  let release: (() => void) | undefined;
  /** The filter the leader's connection holds on the server. */
  let union: SubscriptionFilter = { eventTypes: [], sources: [], minPriority: LOWEST_PRIORITY };

  const post = (frame: Frame) => ch?.postMessage({ ...frame, f: id });
  const tell = (frame: Frame) => role === 'leader' && post(frame);
  const state = () => {
    const e = c.stateInfo.error;
    tell({ k: 's', s: c.state, i: { ...c.stateInfo, error: e && { code: e.code, message: e.message } }, c: c.cursor });
  };

  /** This tab's filter as a frame's fields. */
  const own = () => ({ s: c.subs.eventTypes, o: c.subs.sources, p: c.subs.minPriority });

  const filters = () => [c.subs, ...peers.values()];
  /** The union of one part of every filter; empty (every one) when one is empty or it is over `cap`. */
  const all = (part: 'eventTypes' | 'sources', cap: number) => {
    const sets = filters().map((f) => f[part]);
    const u = [...new Set(sets.flat())];
    return sets.some((s) => !s.length) || u.length > cap ? [] : u;
  };
  const wire = () =>
    (union = {
      eventTypes: all('eventTypes', MAX_SUBSCRIPTIONS),
      sources: all('sources', MAX_FILTER_SOURCES),
      // An unknown floor (-1) leaves `low`: the tabs filter locally anyway.
      minPriority: PRIORITIES[Math.min(...filters().map((f) => priorityRank(f.minPriority)))] ?? LOWEST_PRIORITY,
    });

  /** What `a` has and `b` lacks: the event types and sources (the parts that are not empty). */
  const minus = (a: SubscriptionFilter, b: SubscriptionFilter) => {
    const d: Partial<SubscriptionFilter> = {};
    for (const part of ['eventTypes', 'sources'] as const) {
      const x = a[part].filter((p) => !b[part].includes(p));
      if (x.length) d[part] = x;
    }
    return d;
  };

  /**
   * Brings the server's filter to the union: adds first (with a new floor), then removes, so it
   * is never "every type" or "every source" in between.
   */
  const sync = async () => {
    const before = union;
    const after = wire();
    const added = minus(after, before);
    if (after.minPriority !== before.minPriority) added.minPriority = after.minPriority;
    for (const [add, change] of [
      [true, added],
      [false, minus(before, after)],
    ] as const)
      if (Object.keys(change).length)
        await c.send(add, change)?.catch((e: RealtimeError) => e.code === 'disconnected' || c.report(e));
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
      post({ k: 'u', ...own() });
      state();
    }
    if (m.k === 'h' || m.k === 'u') {
      peers.set(from, {
        eventTypes: m.s as string[],
        sources: (m.o as string[] | undefined) ?? [],
        minPriority: (m.p as Priority | undefined) ?? LOWEST_PRIORITY,
      });
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
      post({ k: 'h', ...own() });
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
      post({ k: 'u', ...own(), r });
      if (role === 'leader') await sync();
      else if (c.state === 'connected') await acked;
      acks.delete(r);
      c.timers.clear(r);
    },
  };
}
