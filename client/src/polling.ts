/**
 * HTTP polling behind the transport seam (transport.ts): a `SocketLike` that speaks the client
 * protocol to the client and `GET /events` to the HTTP API, so auth, resume, dedupe, order and
 * `lastEventId` are the client's own logic on both transports. What each client frame becomes:
 * - `auth`: `GET /events?limit=1` checks the token; `auth.success` carries the tenant's newest
 *   event id (no `connectionId`, no `expiresAt`: instead a `401 token_expired` gets a fresh
 *   token and is retried once);
 * - `resume`: one `GET /events?after=`, its events replayed, then `resume.success` with the
 *   answer's `more` (the client asks again while `more`); `410 gap` is the same `gap` error;
 * - `subscribe`, `unsubscribe`, `ping`: answered locally; the first two change this "socket"'s
 *   filter as the server changes a connection's (`changeFilter`), and polls send it as `types`,
 *   `sources` and `minPriority`.
 *
 * Then it polls `GET /events?after=<cursor>&types=…` every `pollIntervalMs`, at once while
 * `more`. A poll that fails (network, 5xx, `410`, a `401` a fresh token does not fix) ends this
 * "socket" like a dropped connection: the client reconnects and resumes from its own cursor, so
 * a gap surfaces as `gap` and an auth failure as `auth.error` (a fatal code closes the client).
 */
import {
  AuthErrorCode,
  changeFilter,
  type EventsResponse,
  HttpPath,
  HttpQuery,
  LOWEST_PRIORITY,
  MAX_EVENTS_LIMIT,
  REPLAY_FLAG,
  Route,
  type SubscriptionFilter,
  ServerMessageType as T,
} from '../../lambdas/contract/plain.js';
import { RealtimeError, serverError } from './errors.js';
import type { SocketLike } from './transport.js';

/** The part of `fetch` the client uses: the global one in browsers, Node ≥ 18 and React Native. */
export type FetchLike = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** What a polling socket needs from its client. */
export interface PollHost {
  /** Without a trailing slash. */
  readonly httpUrl: string;
  readonly fetch: FetchLike;
  readonly pollIntervalMs: number;
  /** Longest wait for one poll's answer. */
  readonly timeoutMs: number;
  fetchToken(): Promise<string | RealtimeError>;
}

type Frame = { action: string; token?: string; lastEventId?: string } & Partial<SubscriptionFilter>;
/**
 * `GET url` with a bearer token: the parsed body of a 2xx; otherwise a `RealtimeError` with the
 * server's `code` and body as `data` (`internal_error` for a body without a code, `disconnected`
 * when no answer came, an abort included).
 */
export async function get<R>(fetch: FetchLike, url: string, token: string, signal: AbortSignal): Promise<R> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal }).catch((err: unknown) => {
    throw new RealtimeError('disconnected', `GET ${url}: ${err}`, undefined, err);
  });
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (res.ok && body) return body as R;
  throw serverError(body, `HTTP ${res.status}`);
}

type Handler = SocketLike['onopen'];
const call = (handler: Handler, event: object) => (handler as ((e: object) => void) | null)?.(event);

/** A polling "socket" for one connection of the client (a closure: its names minify). */
export function pollingSocket(h: PollHost): SocketLike {
  const { httpUrl, pollIntervalMs, timeoutMs } = h;
  const abort = new AbortController();
  let token = '';
  /** Where the next poll starts; null while the tenant's log is empty. */
  let after: string | null = null;
  /** What a connection's filter would be: none until the client's `subscribe` restores it. */
  let filter = changeFilter({}, true, {});
  /** The one timer: the open, the next poll, or a poll's deadline. */
  let timer: ReturnType<typeof setTimeout> | undefined;

  const s = {
    readyState: 0,
    onopen: null as Handler,
    onmessage: null as Handler,
    onclose: null as Handler,
    onerror: null as Handler,
    send(data: string): void {
      answer(JSON.parse(data) as Frame).catch((e: RealtimeError) =>
        e.code === 'disconnected' ? end() : frame({ type: T.error, data: { code: e.code, message: e.message } }),
      );
    },
    close(): void {
      s.readyState = 3;
      abort.abort();
      clearTimeout(timer);
    },
  };

  const frame = (message: object) => s.readyState === 1 && call(s.onmessage, { data: JSON.stringify(message) });
  const wait = (ms: number, fn: () => void) => {
    clearTimeout(timer);
    if (s.readyState < 3) timer = setTimeout(fn, ms);
  };
  /** Ends like a dropped connection: the client reconnects and resumes. */
  const end = () => {
    if (s.readyState === 3) return;
    s.close();
    call(s.onclose, { code: 1006 });
  };

  /** One `GET /events` from `from` (null: the newest page) with the filter; one retry on `token_expired`. */
  const events = async (from: string | null, limit: number): Promise<EventsResponse> => {
    const { eventTypes, sources, minPriority } = filter;
    // Patterns are URL-safe; none: every type. No sources: every source; the lowest floor: every priority.
    const url = `${httpUrl}${HttpPath.events}?${HttpQuery.limit}=${limit}${
      from === null ? '' : `&${HttpQuery.after}=${encodeURIComponent(from)}`
    }&${HttpQuery.types}=${eventTypes.join(',')}${
      sources.length ? `&${HttpQuery.sources}=${encodeURIComponent(sources.join(','))}` : ''
    }${minPriority === LOWEST_PRIORITY ? '' : `&${HttpQuery.minPriority}=${minPriority}`}`;
    const go = () => get<EventsResponse>(h.fetch, url, token, abort.signal);
    try {
      return await go();
    } catch (e) {
      // HttpErrorCode.tokenExpired is this same code.
      if ((e as RealtimeError).code !== AuthErrorCode.tokenExpired) throw e;
      const fresh = await h.fetchToken();
      if (fresh instanceof RealtimeError) throw fresh;
      token = fresh;
      return go();
    }
  };

  const answer = async (m: Frame): Promise<unknown> => {
    const a = m.action;
    if (a !== Route.auth && a !== Route.resume) {
      const add = a === Route.subscribe;
      // A `ping` frame changes nothing (it names no part), and its reply's data is not read.
      filter = changeFilter(filter, add, m);
      return frame({ type: a === Route.ping ? T.pong : add ? T.subscribeSuccess : T.unsubscribeSuccess, data: filter });
    }
    clearTimeout(timer);
    if (a === Route.auth) token = m.token as string;
    let b: EventsResponse;
    try {
      b = await events(a === Route.auth ? null : (m.lastEventId as string), a === Route.auth ? 1 : MAX_EVENTS_LIMIT);
    } finally {
      // Live polls start after the auth (a resume request restarts this) and after each resume answer.
      wait(pollIntervalMs, poll);
    }
    after = b.lastEventId;
    if (a === Route.auth) return frame({ type: T.authSuccess, data: { lastEventId: after } });
    for (const e of b.events) frame({ ...e, [REPLAY_FLAG]: true });
    frame({ type: T.resumeSuccess, data: { lastEventId: after, more: b.more } }); // `replayed` is not read
  };

  async function poll(): Promise<void> {
    wait(timeoutMs, end);
    try {
      const b = await events(after, MAX_EVENTS_LIMIT);
      // The log was empty at the last look, so every event is new, unless the page is full: then older
      // ones may be cut off, and the reconnect reports it (`gap` with code `no_resume_point`).
      if (after === null && b.events.length >= MAX_EVENTS_LIMIT) return end();
      after = b.lastEventId;
      wait(b.more ? 0 : pollIntervalMs, poll);
      for (const e of b.events) frame(e);
    } catch {
      end();
    }
  }

  wait(0, () => {
    s.readyState = 1;
    call(s.onopen, {});
  });
  return s;
}
