/**
 * In-memory implementations of the ports in `lambdas/core/ports.ts`, for unit tests.
 *
 * They follow the documented semantics of the DynamoDB adapters, conditions included
 * (`test/core/store-contract.ts` runs the same checks against both), and stay small:
 * - InMemoryConnectionStore: a Map; `authenticate` succeeds on an existing, unbroken record that is
 *   pending or of the same tenant and user and unexpired; `setFilter` only on an
 *   authenticated, unexpired record at the expected version; `deleteIfDue` only when
 *   `sweepAt <= now`; `recipients`/`due` page like index queries.
 * - InMemoryEventLog: an id marker per (tenant, eventId) keeping the first copy's position, and a
 *   time-ordered list of copies per tenant (one per append); its bounded reads
 *   (`scanForward`/`scanBackward`, the HTTP API's) stop after `limit` entries like a query `Limit`.
 * - ScriptedSender: per-connection scripts of outcomes (ok, gone, throw, delay), recording
 *   attempts, completions, closes and the maximum number of posts in flight.
 * - MapVerifier: known tokens map to identities or errors.
 */
import {
  type ConnectionRecord,
  type DueConnection,
  type Envelope,
  EVENT_LOG_END,
  eventLogSortKey,
  type Priority,
  type Recipient,
  type ReplayState,
  type SubscriptionFilter,
  SWEEP_SHARDS,
} from '../../lambdas/contract/index.js';
import { AuthError, SendError } from '../../lambdas/core/errors.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import { fullFilter } from '../../lambdas/core/matching.js';
import type {
  AuthenticateOutcome,
  Clock,
  ConnectionStore,
  EventLog,
  EventLogScan,
  Identity,
  LogChunk,
  LoggedEvent,
  LogItem,
  LogStart,
  Sender,
  SendResult,
  TokenVerifier,
} from '../../lambdas/core/ports.js';
import { sweepShardFor } from '../../lambdas/core/sweep.js';

const copy = <T>(value: T): T => structuredClone(value);

/** Drops keys whose value is undefined (what a DynamoDB item looks like). */
/** `T` with every property that may be `undefined` made optional instead (what `compact` returns). */
type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

function compact<T extends object>(value: T): Compact<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Compact<T>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------- clock and sleep

/** A clock that only moves when told to. */
export class FakeClock {
  constructor(public nowMs = Date.UTC(2025, 0, 15, 12, 0, 0)) {}
  readonly now: Clock = () => this.nowMs;
  get seconds(): number {
    return Math.floor(this.nowMs / 1000);
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** A `sleep` that resolves at once and records the requested delays (optionally moving a clock). */
export function recordingSleep(clock?: FakeClock): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      clock?.advance(ms);
    },
  };
}

// ---------------------------------------------------------------- ConnectionStore

export class InMemoryConnectionStore implements ConnectionStore {
  readonly records = new Map<string, ConnectionRecord>();

  constructor(private readonly options: { pageSize?: number } = {}) {}

  private get pageSize(): number {
    return this.options.pageSize ?? 25;
  }

  async putPending(r: { connectionId: string; connectedAt: number; authDeadline: number; ttl: number }): Promise<void> {
    this.records.set(r.connectionId, {
      connectionId: r.connectionId,
      connectedAt: r.connectedAt,
      authDeadline: r.authDeadline,
      sweepShard: sweepShardFor(r.connectionId),
      sweepAt: r.authDeadline,
      ttl: r.ttl,
    });
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.records.get(connectionId);
    return record && copy(record);
  }

  /** Like the conditional UpdateItem it mirrors: one decision, nothing changed unless authenticated. */
  async authenticate(connectionId: string, identity: Identity, nowSeconds: number): Promise<AuthenticateOutcome> {
    const current = this.records.get(connectionId);
    if (current === undefined || current.brokenAt !== undefined) return 'closed';
    if (current.tenantId !== undefined) {
      if (current.tenantId !== identity.tenantId || current.userId !== identity.userId) return 'mismatch';
      if (current.tokenExpiresAt !== undefined && current.tokenExpiresAt <= nowSeconds) return 'expired';
    }
    const { authDeadline: _removed, ...kept } = current;
    this.records.set(connectionId, {
      ...kept,
      tenantId: identity.tenantId,
      userId: identity.userId,
      roles: [...identity.roles],
      tokenExpiresAt: identity.expiresAt,
      sweepAt: identity.expiresAt,
    });
    return 'authenticated';
  }

  async setFilter(
    connectionId: string,
    filter: SubscriptionFilter,
    version: number,
    nowSeconds: number,
  ): Promise<boolean> {
    const current = this.records.get(connectionId);
    if (current?.tenantId === undefined) return false;
    if (current.tokenExpiresAt !== undefined && current.tokenExpiresAt <= nowSeconds) return false;
    if ((current.subscriptionsVersion ?? 0) !== version) return false;
    this.records.set(connectionId, {
      ...current,
      subscriptions: [...filter.eventTypes],
      sources: [...filter.sources],
      minPriority: filter.minPriority,
      subscriptionsVersion: version + 1,
    });
    return true;
  }

  async markBroken(connectionId: string, nowSeconds: number): Promise<boolean> {
    const current = this.records.get(connectionId);
    if (current === undefined) return false;
    this.records.set(connectionId, {
      ...current,
      brokenAt: nowSeconds,
      sweepAt: nowSeconds,
      sweepShard: current.sweepShard ?? sweepShardFor(connectionId),
    });
    return true;
  }

  async takeResumeCall(
    connectionId: string,
    nowSeconds: number,
    limit: { calls: number; windowSeconds: number },
  ): Promise<boolean> {
    const current = this.records.get(connectionId);
    if (current === undefined) return false;
    const window = nowSeconds - (nowSeconds % limit.windowSeconds);
    if (current.resumeWindow === window) {
      if ((current.resumeCalls ?? 0) >= limit.calls) return false;
      this.records.set(connectionId, { ...current, resumeCalls: (current.resumeCalls ?? 0) + 1 });
      return true;
    }
    if (current.resumeWindow !== undefined && current.resumeWindow > window) return false;
    this.records.set(connectionId, { ...current, resumeWindow: window, resumeCalls: 1 });
    return true;
  }

  async saveReplay(connectionId: string, state: ReplayState | undefined): Promise<void> {
    const current = this.records.get(connectionId);
    if (current === undefined) return;
    const { replay: _old, ...rest } = current;
    this.records.set(connectionId, state === undefined ? rest : { ...rest, replay: copy(state) });
  }

  async delete(connectionId: string): Promise<void> {
    this.records.delete(connectionId);
  }

  async deleteIfDue(connectionId: string, nowSeconds: number): Promise<boolean> {
    const current = this.records.get(connectionId);
    if (current?.sweepAt === undefined || current.sweepAt > nowSeconds) return false;
    this.records.delete(connectionId);
    return true;
  }

  recipients(tenantId: string): AsyncIterable<Recipient[]> {
    return this.recipientsWhere((r) => r.tenantId === tenantId);
  }

  recipientsOf(tenantId: string, userIds: readonly string[]): AsyncIterable<Recipient[]> {
    return this.recipientsWhere((r) => r.tenantId === tenantId && r.userId !== undefined && userIds.includes(r.userId));
  }

  private async *recipientsWhere(pred: (r: ConnectionRecord) => boolean): AsyncIterable<Recipient[]> {
    const matching = [...this.records.values()]
      .filter((r): r is ConnectionRecord & { tenantId: string } => r.tenantId !== undefined && pred(r))
      .map(
        (r): Recipient =>
          compact({
            connectionId: r.connectionId,
            tenantId: r.tenantId,
            userId: r.userId,
            roles: r.roles && [...r.roles],
            subscriptions: r.subscriptions && [...r.subscriptions],
            sources: r.sources && [...r.sources],
            minPriority: r.minPriority,
            tokenExpiresAt: r.tokenExpiresAt,
            brokenAt: r.brokenAt,
          }),
      );
    for (const page of chunks(matching, this.pageSize)) yield page;
  }

  async *due(nowSeconds: number): AsyncIterable<DueConnection[]> {
    for (let shard = 0; shard < SWEEP_SHARDS; shard++) {
      const matching = [...this.records.values()]
        .filter((r) => r.sweepShard === `s${shard}` && r.sweepAt !== undefined && r.sweepAt <= nowSeconds)
        .sort((a, b) => a.sweepAt! - b.sweepAt!)
        .map((r) => compact({ connectionId: r.connectionId, tenantId: r.tenantId, brokenAt: r.brokenAt }));
      for (const page of chunks(matching, this.pageSize)) yield page;
    }
  }
}

/** A ConnectionStore that delegates to `store` except for the methods given. */
export function withOverrides(store: ConnectionStore, overrides: Partial<ConnectionStore>): ConnectionStore {
  return {
    putPending: (r) => store.putPending(r),
    get: (id) => store.get(id),
    authenticate: (id, identity, now) => store.authenticate(id, identity, now),
    setFilter: (id, filter, version, now) => store.setFilter(id, filter, version, now),
    delete: (id) => store.delete(id),
    deleteIfDue: (id, now) => store.deleteIfDue(id, now),
    markBroken: (id, now) => store.markBroken(id, now),
    takeResumeCall: (id, now, limit) => store.takeResumeCall(id, now, limit),
    saveReplay: (id, state) => store.saveReplay(id, state),
    recipients: (tenantId) => store.recipients(tenantId),
    recipientsOf: (tenantId, userIds) => store.recipientsOf(tenantId, userIds),
    due: (now) => store.due(now),
    ...overrides,
  };
}

// ---------------------------------------------------------------- EventLog

export class InMemoryEventLog implements EventLog, EventLogScan {
  /** Per tenant, every logged copy ordered by sort key. */
  readonly entries = new Map<string, LogItem[]>();
  /** `${tenantId}\u0000${eventId}` → the first copy's sort key and TTL. */
  private readonly markers = new Map<string, { seq: string; ttl: number }>();
  appendCalls = 0;

  async writeCopy(event: LoggedEvent, attemptStartMs: number, ttl: number): Promise<void> {
    this.appendCalls++;
    const { tenantId, eventId } = event.envelope;
    const position = eventLogSortKey(attemptStartMs, eventId);
    const list = (this.entries.get(tenantId) ?? []).filter((e) => e.position !== position);
    list.push({ ...copy(event), position, ttl });
    list.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    this.entries.set(tenantId, list);
  }

  async markFirst(
    tenantId: string,
    eventId: string,
    attemptStartMs: number,
    ttl: number,
  ): Promise<{ duplicate: boolean }> {
    const position = eventLogSortKey(attemptStartMs, eventId);
    const markerKey = `${tenantId}\u0000${eventId}`;
    const marker = this.markers.get(markerKey);
    if (!marker) {
      this.markers.set(markerKey, { seq: position, ttl });
      return { duplicate: false };
    }
    const item = this.entries.get(tenantId)?.find((e) => e.position === position);
    if (item && marker.seq !== position) item.first = { position: marker.seq, ttl: marker.ttl };
    return { duplicate: true };
  }

  async position(tenantId: string, eventId: string, nowSeconds: number): Promise<string | undefined> {
    const marker = this.markers.get(`${tenantId}\u0000${eventId}`);
    return marker && marker.ttl > nowSeconds ? marker.seq : undefined;
  }

  async read(
    tenantId: string,
    range: { from: string; after?: string | undefined },
    limit: number,
  ): Promise<{ items: LogItem[]; done: boolean }> {
    const { from, after } = range;
    const remaining = (this.entries.get(tenantId) ?? []).filter(
      (e) => e.position >= from && e.position <= EVENT_LOG_END && (after === undefined || e.position > after),
    );
    const items = remaining.slice(0, limit).map(copy);
    return { items, done: items.length < limit };
  }

  async latest(tenantId: string, nowSeconds: number): Promise<string | undefined> {
    const list = this.entries.get(tenantId) ?? [];
    const newest = list.at(-1);
    if (!newest || newest.ttl <= nowSeconds) return undefined;
    if (newest.first === undefined) return newest.envelope.eventId;
    // Like the DynamoDB log: look back a few copies for an event first logged recently.
    const firstCopy = list
      .slice(-6, -1)
      .reverse()
      .find((e) => e.first === undefined && e.ttl > nowSeconds);
    return (firstCopy ?? newest).envelope.eventId;
  }

  /** Every `scanForward` / `scanBackward` call, with the entries it was allowed to read. */
  readonly scans: { direction: 'forward' | 'backward'; limit: number }[] = [];

  /** Like a DynamoDB query with `Limit`: `next` is set whenever `limit` entries were read. */
  private chunk(read: LogItem[], limit: number, nowSeconds: number): LogChunk {
    const taken = read.slice(0, limit);
    const events = taken
      .filter((e) => e.ttl > nowSeconds)
      .map(
        (e): LoggedEvent =>
          copy(e.audience ? { envelope: e.envelope, audience: e.audience } : { envelope: e.envelope }),
      );
    const last = taken.at(-1);
    return taken.length === limit && last ? { events, next: last.position } : { events };
  }

  async scanForward(
    tenantId: string,
    start: LogStart,
    limit: number,
    nowSeconds: number,
  ): Promise<LogChunk | undefined> {
    this.scans.push({ direction: 'forward', limit });
    const list = this.entries.get(tenantId) ?? [];
    let from: (sk: string) => boolean;
    if ('afterEventId' in start) {
      const marker = this.markers.get(`${tenantId}\u0000${start.afterEventId}`);
      if (!marker || marker.ttl <= nowSeconds) return undefined;
      from = (sk) => sk > marker.seq;
    } else if ('sinceMs' in start) {
      const key = eventLogSortKey(start.sinceMs, '');
      from = (sk) => sk >= key;
    } else {
      const position = start.afterPosition;
      from = (sk) => sk > position;
    }
    return this.chunk(
      list.filter((e) => from(e.position)),
      limit,
      nowSeconds,
    );
  }

  async scanBackward(
    tenantId: string,
    before: string | undefined,
    limit: number,
    nowSeconds: number,
  ): Promise<LogChunk> {
    this.scans.push({ direction: 'backward', limit });
    const list = [...(this.entries.get(tenantId) ?? [])].reverse();
    return this.chunk(before === undefined ? list : list.filter((e) => e.position < before), limit, nowSeconds);
  }

  /** Logs the same eventId again at another position (what a retried broadcast does). */
  relog(event: LoggedEvent, receivedAtMs: number, ttl: number): void {
    void appendEvent(this, event, receivedAtMs, ttl);
  }

  /** Every logged envelope of a tenant, one per event, in the order of their first copies. */
  envelopes(tenantId: string): Envelope[] {
    return (this.entries.get(tenantId) ?? []).filter((e) => e.first === undefined).map((e) => e.envelope);
  }
}

// ---------------------------------------------------------------- Sender

/** One scripted outcome of a post: delivered, 410 Gone, a thrown error, or a delay first. */
export type SendStep = 'ok' | 'gone' | { throw: unknown } | { delayMs: number; then?: 'ok' | 'gone' };

export const throttled = (): SendStep => ({ throw: new SendError('LimitExceededException (HTTP 429)', 429, true) });
export const serverError = (status = 500): SendStep => ({
  throw: new SendError(`InternalServerErrorException (HTTP ${status})`, status, true),
});
export const forbidden = (): SendError => new SendError('ForbiddenException (HTTP 403)', 403, false);

export interface Completion {
  connectionId: string;
  payload: string;
  result: SendResult;
}

/**
 * Each connection has a script of steps, used in order; the last step repeats. Connections
 * without a script get 'ok'.
 */
export class ScriptedSender implements Sender {
  /** Every post attempt, in call order, with the clock reading at the call. */
  readonly attempts: { connectionId: string; payload: string; at: number }[] = [];
  /** Posts that resolved ('sent' or 'gone'), in completion order. */
  readonly completions: Completion[] = [];
  readonly closes: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly scripts = new Map<string, SendStep[]>();
  private readonly closeErrors = new Map<string, unknown>();

  constructor(private readonly clock: Clock = Date.now) {}

  script(connectionId: string, ...steps: SendStep[]): this {
    this.scripts.set(connectionId, steps);
    return this;
  }

  failClose(connectionId: string, error: unknown): this {
    this.closeErrors.set(connectionId, error);
    return this;
  }

  private next(connectionId: string): SendStep {
    const steps = this.scripts.get(connectionId);
    if (!steps || steps.length === 0) return 'ok';
    return steps.length > 1 ? steps.shift()! : steps[0]!;
  }

  async post(connectionId: string, payload: string): Promise<SendResult> {
    this.attempts.push({ connectionId, payload, at: this.clock() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      let step = this.next(connectionId);
      if (typeof step === 'object' && 'delayMs' in step) {
        const ms = step.delayMs;
        await new Promise((resolve) => setTimeout(resolve, ms));
        step = step.then ?? 'ok';
      }
      if (typeof step === 'object') throw step.throw;
      const result: SendResult = step === 'ok' ? 'sent' : 'gone';
      this.completions.push({ connectionId, payload, result });
      return result;
    } finally {
      this.inFlight--;
    }
  }

  async close(connectionId: string): Promise<void> {
    this.closes.push(connectionId);
    if (this.closeErrors.has(connectionId)) throw this.closeErrors.get(connectionId);
  }

  /** Attempts made for one connection. */
  attemptsFor(connectionId: string): number {
    return this.attempts.filter((a) => a.connectionId === connectionId).length;
  }

  /** Parsed payloads delivered ('sent') to one connection, in order. */
  received(connectionId: string): Array<{ type: string; data: Record<string, unknown>; [k: string]: unknown }> {
    return this.completions
      .filter((c) => c.connectionId === connectionId && c.result === 'sent')
      .map((c) => JSON.parse(c.payload));
  }
}

// ---------------------------------------------------------------- TokenVerifier

/** Maps known tokens to identities or errors; any other token is `invalid_token`. Records what it saw. */
export class MapVerifier implements TokenVerifier {
  readonly seen: string[] = [];
  constructor(private readonly answers: Record<string, Identity | Error>) {}
  async verify(token: string): Promise<Identity> {
    this.seen.push(token);
    const answer = this.answers[token];
    if (answer === undefined) throw new AuthError('invalid_token', 'token is malformed');
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

// ---------------------------------------------------------------- helpers

export function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    tenantId: 't1',
    userId: 'u1',
    roles: [],
    expiresAt: Math.floor(Date.UTC(2025, 0, 15, 13) / 1000),
    ...overrides,
  };
}

/** Puts an authenticated connection in the store (pending first, as the handlers do), with a filter if given. */
export async function seedAuthenticated(
  store: ConnectionStore,
  connectionId: string,
  who: Partial<Identity> & { subscriptions?: string[]; sources?: string[]; minPriority?: Priority } = {},
  nowSeconds = Math.floor(Date.UTC(2025, 0, 15, 12) / 1000),
): Promise<void> {
  const { subscriptions, sources, minPriority, ...rest } = who;
  await store.putPending({
    connectionId,
    connectedAt: nowSeconds,
    authDeadline: nowSeconds + 30,
    ttl: nowSeconds + 7800,
  });
  if ((await store.authenticate(connectionId, identity(rest), nowSeconds)) !== 'authenticated')
    throw new Error(`seed: cannot authenticate ${connectionId}`);
  if (subscriptions === undefined && sources === undefined && minPriority === undefined) return;
  const filter = fullFilter({ eventTypes: subscriptions, sources, minPriority });
  if (!(await store.setFilter(connectionId, filter, 0, nowSeconds)))
    throw new Error(`seed: cannot subscribe ${connectionId}`);
}

export function envelope(n: number, overrides: Partial<Envelope> = {}): Envelope {
  return {
    type: 'goal.created',
    data: { tenantId: overrides.tenantId ?? 't1', goalId: `g${n}` },
    timestamp: new Date(Date.UTC(2025, 0, 15, 12, 0, n)).toISOString(),
    eventId: `evt_${n}`,
    tenantId: 't1',
    ...overrides,
  };
}
