/**
 * The debug console: one page, plain DOM and the SDK. `npm run build` inlines it with its CSS
 * into `client/dist/console.html`; `npm start` serves the same page at `/console` on the HTTP
 * API port, where the local-only forms (dev token, emit) appear.
 *
 * Query string: `url` (WebSocket URL), `http` (HTTP API URL), `token`; with `url` and `token` it
 * connects at once. The token is then taken out of the address bar (kept for this tab only).
 */
import {
  changeFilter,
  DEFAULT_PRIORITY,
  isPriority,
  type KnownEventType,
  type Priority,
  type SubscriptionFilter,
} from '../../lambdas/contract/plain.js';
import {
  createRealtimeClient,
  type Envelope,
  type GapInfo,
  type RealtimeClient,
  type StateInfo,
} from '../src/index.js';

/** The local runtime's tools (bin/local/console.ts), same origin as the served console. */
const LOCAL = { info: '/_local/info', token: '/_local/token', emit: '/_local/emit' } as const;
/** Events kept in memory (oldest dropped first), and rows rendered at most. */
const MAX_EVENTS = 1000;
const MAX_ROWS = 300;
/** The console pings more often than an app (8 minutes), so the round trip shows soon. */
const PING_INTERVAL_MS = 15_000;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console.html has no #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);
/** A comma- or space-separated list from an input. */
const list = (value: string) => value.split(/[\s,]+/).filter(Boolean);
const text = (id: string, value: string) => {
  $(id).textContent = value;
};

interface Row {
  envelope: Envelope;
  /** Arrival, epoch ms. */
  at: number;
  latencyMs: number;
}

const state = {
  client: undefined as RealtimeClient | undefined,
  /** Reconnects since the page loaded: the SDK's `reconnecting` states and forced ones. */
  reconnects: 0,
  rows: [] as Row[],
  paused: false,
  /** Events that arrived while paused. */
  waiting: 0,
  local: false,
};

// ------------------------------------------------------------------ token

interface Claims {
  sub?: string;
  exp?: number;
  [claim: string]: unknown;
}

/** The token's payload, decoded and not verified (the server verifies): for display only. */
function claimsOf(token: string): Claims | undefined {
  try {
    const part = token.split('.')[1] ?? '';
    const json = decodeURIComponent(
      [...atob(part.replace(/-/g, '+').replace(/_/g, '/'))]
        .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        .join(''),
    );
    const claims = JSON.parse(json) as unknown;
    return claims && typeof claims === 'object' ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

const token = () => input('token').value.trim();
const httpBase = () => input('http').value.trim().replace(/\/+$/, '');

function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function showToken(): void {
  const claims = claimsOf(token());
  if (!claims) {
    text('expiry', token() ? 'not a JWT' : '–');
    text('identity', '–');
    return;
  }
  const left = typeof claims.exp === 'number' ? claims.exp * 1000 - Date.now() : undefined;
  text('expiry', left === undefined ? 'no exp' : left > 0 ? `in ${duration(left)}` : `expired ${duration(left)} ago`);
  $('expiry').dataset.expired = String(left !== undefined && left <= 0);
  const tenant = claims.tenantId ?? claims.tenant_id ?? claims.tid;
  const roles = Array.isArray(claims.roles) ? ` [${claims.roles.join(', ')}]` : '';
  text('identity', `${claims.sub ?? '?'}${tenant ? ` @ ${String(tenant)}` : ''}${roles}`);
  const emitTenant = input('emit-tenant');
  if (typeof tenant === 'string') emitTenant.placeholder = tenant;
}

// ------------------------------------------------------------------ connection

function showState(info: StateInfo): void {
  const out = $('state');
  out.textContent = info.state;
  out.dataset.state = info.state;
  const extra: string[] = [info.reason];
  if (info.delayMs !== undefined) extra.push(`retry in ${Math.round(info.delayMs)} ms`);
  if (info.closeCode !== undefined) extra.push(`close ${info.closeCode}`);
  text('reason', `(${extra.join(', ')})`);
  text('transport', info.transport);
  text('connection-id', state.client?.connectionId ?? '–');
  if (info.error) showError(`${info.error.code}: ${info.error.message}`);
  else if (info.state === 'connected') showError('');
}

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = message === '';
}

function connect(lastEventId?: string): void {
  state.client?.close();
  const url = input('url').value.trim();
  if (!/^wss?:\/\//i.test(url)) {
    showError('WebSocket URL: a ws:// or wss:// URL, e.g. ws://localhost:3001');
    return;
  }
  if (!token()) {
    showError('Token: paste a JWT, or make a dev token below (local runtime)');
    return;
  }
  showError('');
  const client = createRealtimeClient({
    url,
    getToken: token,
    ...currentFilter(),
    pingIntervalMs: PING_INTERVAL_MS,
    ...(lastEventId ? { lastEventId } : {}),
  });
  state.client = client;
  const mine =
    <A extends unknown[]>(fn: (...a: A) => void) =>
    (...a: A) => {
      if (state.client === client) fn(...a);
    };
  client.on(
    'state',
    mine((_s, info) => {
      if (info.state === 'reconnecting') state.reconnects++;
      text('reconnects', String(state.reconnects));
      showState(info);
    }),
  );
  client.on('event', mine(addEvent));
  client.on('gap', mine(showGap));
  client.on(
    'error',
    mine((err) => showError(`${err.code}: ${err.message}`)),
  );
  client.on(
    'pong',
    mine((ms) => text('rtt', `${ms} ms at ${new Date().toLocaleTimeString()}`)),
  );
  client.connect();
  showSubs();
}

function disconnect(): void {
  state.client?.close();
}

// ------------------------------------------------------------------ subscriptions

/** The filter shown in the editor: the client's, or the one the next connection starts with. */
let pendingFilter: SubscriptionFilter = changeFilter({}, true, {});
const currentFilter = (): SubscriptionFilter => state.client?.filter ?? pendingFilter;

/** One list of chips: each a part of the filter with its × (unsubscribe), or what an empty list means. */
function showChips(id: string, items: readonly string[], empty: string, remove: (item: string) => void): void {
  const chips = $(id);
  chips.replaceChildren();
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'all';
    li.textContent = empty;
    chips.append(li);
  }
  for (const item of items) {
    const li = document.createElement('li');
    li.append(item);
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = '×';
    button.setAttribute('aria-label', `Unsubscribe ${item}`);
    button.addEventListener('click', () => remove(item));
    li.append(button);
    chips.append(li);
  }
}

function showSubs(): void {
  const f = currentFilter();
  showChips('subs', f.eventTypes, 'every event type', (p) => void changeSubs('unsubscribe', [p]));
  showChips('sources', f.sources, 'every source', (s) => void changeSubs('unsubscribe', [], { sources: [s] }));
  select('min-priority').value = f.minPriority;
}

/** `subscribe` or `unsubscribe` on the client, or on the filter the next connection starts with. */
async function changeSubs(
  action: 'subscribe' | 'unsubscribe',
  patterns: string[],
  options: { sources?: string[]; minPriority?: Priority } = {},
): Promise<void> {
  try {
    if (state.client && state.client.state !== 'closed') await state.client[action](patterns, options);
    else pendingFilter = changeFilter(pendingFilter, action === 'subscribe', { eventTypes: patterns, ...options });
    showError('');
  } catch (err) {
    const e = err as { code?: string; message?: string };
    showError(`${e.code ?? 'error'}: ${e.message ?? String(err)}`);
  }
  if (state.client) pendingFilter = state.client.filter;
  showSubs();
}

// ------------------------------------------------------------------ events

/** The envelope's priority; an event without one is `normal`. */
const priorityOf = (e: Envelope): Priority => e.priority ?? DEFAULT_PRIORITY;

function matchesFilter(row: Row, filter: string): boolean {
  if (!filter) return true;
  const e = row.envelope;
  return `${e.type} ${e.source ?? ''} ${priorityOf(e)} ${e.eventId} ${JSON.stringify(e.data)}`
    .toLowerCase()
    .includes(filter);
}

function rowElement(row: Row): HTMLLIElement {
  const e = row.envelope;
  const li = document.createElement('li');
  li.dataset.eventId = e.eventId;
  li.dataset.type = e.type;
  li.dataset.source = e.source ?? '';
  li.dataset.priority = priorityOf(e);
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  const cell = (cls: string, value: string, title?: string) => {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = value;
    if (title) span.title = title;
    summary.append(span);
    return span;
  };
  const time = new Date(row.at);
  cell('time', `${time.toLocaleTimeString([], { hour12: false })}.${String(time.getMilliseconds()).padStart(3, '0')}`);
  const type = cell('type', e.type);
  if (e.replay) {
    const mark = document.createElement('span');
    mark.className = 'replay';
    mark.textContent = ' replayed';
    type.append(mark);
  }
  cell('source', e.source ?? '–', 'EventBridge source');
  cell('priority', priorityOf(e), 'priority').dataset.priority = priorityOf(e);
  cell('id', e.eventId, e.eventId);
  const ms = row.latencyMs;
  cell('latency', Math.abs(ms) < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`, `now − ${e.timestamp}`);
  const pre = document.createElement('pre');
  pre.textContent = JSON.stringify(e, null, 2);
  details.append(summary, pre);
  li.append(details);
  return li;
}

function showCount(): void {
  const filter = input('filter').value.trim().toLowerCase();
  const shown = filter ? state.rows.filter((r) => matchesFilter(r, filter)).length : state.rows.length;
  const total = state.rows.length;
  const parts = [filter ? `${shown} of ${total} events` : `${total} event${total === 1 ? '' : 's'}`];
  if (state.paused && state.waiting) parts.push(`${state.waiting} new while paused`);
  text('count', parts.join(', '));
  $('events-empty').hidden = total > 0;
}

function renderEvents(): void {
  const filter = input('filter').value.trim().toLowerCase();
  const list = $('events');
  const rows: HTMLLIElement[] = [];
  for (let i = state.rows.length - 1; i >= 0 && rows.length < MAX_ROWS; i--) {
    const row = state.rows[i] as Row;
    if (matchesFilter(row, filter)) rows.push(rowElement(row));
  }
  list.replaceChildren(...rows);
  showCount();
}

function addEvent(envelope: Envelope): void {
  const at = Date.now();
  const row: Row = { envelope, at, latencyMs: at - Date.parse(envelope.timestamp) };
  state.rows.push(row);
  if (state.rows.length > MAX_EVENTS) state.rows.shift();
  text('last-event-id', envelope.eventId);
  if (state.paused) {
    state.waiting++;
  } else if (matchesFilter(row, input('filter').value.trim().toLowerCase())) {
    const list = $('events');
    list.prepend(rowElement(row));
    while (list.children.length > MAX_ROWS) list.lastElementChild?.remove();
  }
  showCount();
}

function showGap(info: GapInfo): void {
  text(
    'gap-text',
    `${new Date().toLocaleTimeString()}: ${info.message} (resume point ${info.lastEventId ?? 'none'}, code ${info.code}). ` +
      'Events in between were not replayed: refetch state.',
  );
  $('gap').hidden = false;
}

// ------------------------------------------------------------------ HTTP: presence, local tools

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${httpBase()}${path}`, init);
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON: shown as text
  }
  return { status: res.status, body };
}

const describeError = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function refreshPresence(): Promise<void> {
  const out = $('presence-out');
  const users = $('presence-users');
  if (!httpBase()) {
    out.textContent = 'Set the HTTP API URL first.';
    return;
  }
  out.textContent = 'Loading…';
  try {
    const { status, body } = await call('/presence', { headers: { authorization: `Bearer ${token()}` } });
    const b = body as { connections?: number; users?: Array<{ userId: string; connections: number }>; code?: string };
    if (status !== 200) {
      out.textContent = `${status} ${b.code ?? ''} ${(body as { message?: string }).message ?? ''}`.trim();
      users.replaceChildren();
      return;
    }
    out.textContent = `${b.connections} connection${b.connections === 1 ? '' : 's'} at ${new Date().toLocaleTimeString()}`;
    users.replaceChildren(
      ...(b.users ?? []).map((u) => {
        const li = document.createElement('li');
        li.textContent = `${u.userId} (${u.connections})`;
        return li;
      }),
    );
  } catch (err) {
    out.textContent = `GET /presence failed: ${describeError(err)}`;
  }
}

const postJson = (path: string, body: unknown) =>
  call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Shows the local-only forms when this page is the one a local runtime serves: its tools answer
 * their own origin only, so a page from elsewhere (a deployed stack, console.html from disk) skips them.
 */
async function probeLocal(): Promise<void> {
  let info: { wsUrl?: string } | undefined;
  let sameOrigin = false;
  try {
    sameOrigin = new URL(httpBase()).origin === location.origin;
  } catch {
    // no or a bad HTTP API URL
  }
  try {
    const { status, body } = sameOrigin ? await call(LOCAL.info) : { status: 0, body: undefined };
    if (status === 200) info = body as { wsUrl?: string };
  } catch {
    // not a local runtime
  }
  state.local = info !== undefined;
  $('local-token').hidden = !state.local;
  $('local-emit').hidden = !state.local;
  if (info?.wsUrl && !input('url').value) input('url').value = info.wsUrl;
}

async function devToken(form: HTMLFormElement): Promise<void> {
  const data = new FormData(form);
  const result = $('dev-token-result');
  result.textContent = 'Signing…';
  try {
    const { status, body } = await postJson(LOCAL.token, {
      tenant: data.get('tenant'),
      user: data.get('user'),
      roles: data.get('roles'),
      ttl: Number(data.get('ttl')),
    });
    const b = body as { token?: string; message?: string };
    if (status !== 200 || !b.token) {
      result.textContent = `${status}: ${b.message ?? JSON.stringify(body)}`;
      return;
    }
    input('token').value = b.token;
    result.textContent = `Signed for ${String(data.get('user'))} @ ${String(data.get('tenant'))}; connecting.`;
    showToken();
    connect();
  } catch (err) {
    result.textContent = `failed: ${describeError(err)}`;
  }
}

async function emit(form: HTMLFormElement): Promise<void> {
  const data = new FormData(form);
  const result = $('emit-result');
  const tenant = String(data.get('tenant') ?? '').trim() || input('emit-tenant').placeholder;
  result.textContent = 'Putting…';
  try {
    const { status, body } = await postJson(LOCAL.emit, {
      type: data.get('type'),
      tenant,
      data: data.get('data'),
      source: data.get('source'),
      priority: data.get('priority'),
      users: data.get('users'),
      roles: data.get('roles'),
    });
    result.textContent = `${status === 200 ? 'PutEvents' : status}: ${JSON.stringify(body, null, 2)}`;
  } catch (err) {
    result.textContent = `failed: ${describeError(err)}`;
  }
}

// ------------------------------------------------------------------ wiring

/** The catalog's types, offered in the pattern and type inputs. */
const KNOWN_TYPES = [
  'goal.created',
  'goal.updated',
  'goal.activated',
  'goal.completed',
  'action.created',
  'action.updated',
  'action.completed',
  'issue.created',
  'issue.updated',
  'issue.resolved',
] as const satisfies readonly KnownEventType[];
// Every catalog type is listed (a new one fails the type check here).
const everyType: Exclude<KnownEventType, (typeof KNOWN_TYPES)[number]> extends never ? true : never = true;
void everyType;

function main(): void {
  $('known-types').replaceChildren(
    ...[...KNOWN_TYPES, 'goal.*', 'action.*', 'issue.*'].map((t) =>
      Object.assign(document.createElement('option'), { value: t }),
    ),
  );
  const q = new URLSearchParams(location.search);
  input('url').value = q.get('url') ?? '';
  input('http').value = q.get('http') ?? (location.protocol.startsWith('http') ? location.origin : '');
  input('token').value = q.get('token') ?? sessionStorage.getItem('tenant-realtime.console.token') ?? '';
  if (q.has('token')) {
    // Out of the address bar and history; kept for reloads of this tab.
    sessionStorage.setItem('tenant-realtime.console.token', q.get('token') ?? '');
    q.delete('token');
    const rest = q.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }

  $<HTMLFormElement>('connection').addEventListener('submit', (ev) => {
    ev.preventDefault();
    connect();
  });
  $('disconnect').addEventListener('click', disconnect);
  $('reconnect').addEventListener('click', () => {
    if (!state.client) return connect();
    state.reconnects++;
    text('reconnects', String(state.reconnects));
    connect(state.client.lastEventId);
  });
  input('token').addEventListener('input', () => {
    sessionStorage.setItem('tenant-realtime.console.token', token());
    showToken();
  });
  input('http').addEventListener('change', () => void probeLocal());
  $<HTMLFormElement>('sub-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const patterns = list(input('sub-input').value);
    const sources = list(input('source-input').value);
    const minPriority = select('min-priority').value;
    const floor = isPriority(minPriority) && minPriority !== currentFilter().minPriority ? { minPriority } : {};
    if (!patterns.length && !sources.length && !('minPriority' in floor)) return;
    input('sub-input').value = '';
    input('source-input').value = '';
    void changeSubs('subscribe', patterns, { ...(sources.length ? { sources } : {}), ...floor });
  });
  // A new floor applies at once (it replaces the old one).
  select('min-priority').addEventListener('change', () => {
    const minPriority = select('min-priority').value;
    if (isPriority(minPriority)) void changeSubs('subscribe', [], { minPriority });
  });
  $<HTMLFormElement>('resume-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = input('resume-id').value.trim();
    if (id) connect(id);
  });
  $('presence-refresh').addEventListener('click', () => void refreshPresence());
  $<HTMLFormElement>('dev-token').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void devToken(ev.target as HTMLFormElement);
  });
  $<HTMLFormElement>('emit').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void emit(ev.target as HTMLFormElement);
  });
  input('filter').addEventListener('input', renderEvents);
  $('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    $('pause').setAttribute('aria-pressed', String(state.paused));
    $('pause').textContent = state.paused ? 'Unpause' : 'Pause';
    state.waiting = 0;
    renderEvents();
  });
  $('clear').addEventListener('click', () => {
    state.rows = [];
    state.waiting = 0;
    renderEvents();
  });
  $('gap-dismiss').addEventListener('click', () => {
    $('gap').hidden = true;
  });

  showToken();
  showSubs();
  showCount();
  setInterval(showToken, 1000);
  const probed = probeLocal();
  if (input('url').value && token()) connect();
  else void probed.then(() => input('url').value && token() && !state.client && connect());
}

main();
