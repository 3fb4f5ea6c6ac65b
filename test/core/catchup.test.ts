/**
 * Catch-up never misses (issue 9, section 1), on simulated stores and a simulated management
 * API: for every logged event, a connection it targets either receives it live, or gets it by
 * resuming from the last event it received. Three ways this used to break: a delivery that
 * failed for good, a retried broadcast after later events, and two concurrent broadcasts of one
 * tenant finishing out of order. In each, the client below resumes (following `more`) from its
 * last received event and, after dropping duplicates by eventId, holds every event exactly once.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope, ServerMessage } from '../../lambdas/contract/index.js';
import { type BroadcastDeps, broadcast } from '../../lambdas/core/broadcast.js';
import { SendError } from '../../lambdas/core/errors.js';
import type { ConnectionStore, Sender, SendResult } from '../../lambdas/core/ports.js';
import { type ResumeDeps, resume } from '../../lambdas/core/replay.js';
import {
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  recordingSleep,
  seedAuthenticated,
  withOverrides,
} from './fakes.js';

const TENANT = 't1';

/** A management API with connections that can be closed, made to fail, or held on one event. */
class SimulatedApi implements Sender {
  /** Frames each connection received, in arrival order. */
  readonly frames = new Map<string, Array<Envelope & { replay?: true }>>();
  readonly closed = new Set<string>();
  readonly failingPosts = new Set<string>();
  readonly failingCloses = new Set<string>();
  readonly closes: string[] = [];
  private readonly holds = new Map<string, Promise<void>>();
  /** Called when the server closes a connection (the client then reconnects). */
  onServerClose: (connectionId: string) => void = () => undefined;

  /** Holds the post of `eventId` to `connectionId` until the returned release is called. */
  hold(connectionId: string, eventId: string): () => void {
    let release: () => void = () => undefined;
    this.holds.set(
      `${connectionId}/${eventId}`,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return release;
  }

  async post(connectionId: string, payload: string): Promise<SendResult> {
    const frame = JSON.parse(payload) as Envelope;
    const hold = this.holds.get(`${connectionId}/${frame.eventId}`);
    if (hold) await hold;
    if (this.closed.has(connectionId)) return 'gone';
    if (this.failingPosts.has(connectionId)) throw new SendError('InternalServerErrorException (HTTP 500)', 500, true);
    if (frame.eventId !== undefined) {
      const list = this.frames.get(connectionId) ?? [];
      list.push(frame);
      this.frames.set(connectionId, list);
    }
    return 'sent';
  }

  async close(connectionId: string): Promise<void> {
    this.closes.push(connectionId);
    if (this.failingCloses.has(connectionId)) throw new SendError('InternalServerErrorException (HTTP 500)', 500, true);
    if (!this.closed.has(connectionId)) {
      this.closed.add(connectionId);
      this.onServerClose(connectionId);
    }
  }
}

/** One browser: its connections in order, what it received, and its resume point. */
class SimulatedClient {
  readonly connections: string[] = [];
  constructor(private readonly api: SimulatedApi) {}
  get current(): string {
    return this.connections.at(-1)!;
  }
  /** Every frame received, over every connection, in order. */
  received(): Envelope[] {
    return this.connections.flatMap((c) => this.api.frames.get(c) ?? []);
  }
  /** The last event received: where a resume starts. */
  lastEventId(): string {
    const last = this.received().at(-1);
    if (!last) throw new Error('nothing received yet');
    return last.eventId;
  }
  /** Event ids after dropping duplicates, in first-arrival order. */
  deduplicated(): string[] {
    return [...new Set(this.received().map((e) => e.eventId))];
  }
}

function world() {
  const clock = new FakeClock();
  const store = new InMemoryConnectionStore();
  const log = new InMemoryEventLog();
  const api = new SimulatedApi();
  const client = new SimulatedClient(api);
  const broadcastDeps = (overrides: Partial<BroadcastDeps> = {}): BroadcastDeps => ({
    store,
    log,
    sender: api,
    clock: clock.now,
    concurrency: 10,
    retentionSeconds: 86_400,
    sleep: recordingSleep().sleep,
    random: () => 0,
    ...overrides,
  });
  const resumeDeps = (): ResumeDeps => ({ store, log, sender: api, clock: clock.now, maxReplay: 1000 });
  let connections = 0;
  const connect = async () => {
    const id = `conn-${++connections}`;
    // A fresh token at every (re)connect.
    await seedAuthenticated(
      store,
      id,
      { tenantId: TENANT, userId: 'ada', expiresAt: clock.seconds + 3600 },
      clock.seconds,
    );
    client.connections.push(id);
    return id;
  };
  /** The client's socket closed (by the server or the network): API Gateway runs $disconnect. */
  const drop = async (connectionId: string) => {
    api.closed.add(connectionId);
    await store.delete(connectionId);
  };
  /** Resumes from `lastEventId`, following `more` to the end; the last reply. */
  const resumeAll = async (connectionId: string, lastEventId: string): Promise<ServerMessage | undefined> => {
    let cursor = lastEventId;
    for (let page = 0; page < 50; page++) {
      const reply = await resume(resumeDeps(), connectionId, cursor);
      if (reply?.type !== 'resume.success') return reply;
      const data = reply.data as { lastEventId: string; more?: boolean };
      if (!data.more) return reply;
      cursor = data.lastEventId;
    }
    throw new Error('resume did not finish in 50 pages');
  };
  /** Reconnects, authenticates and resumes from the last event received. */
  const reconnectAndResume = async () => {
    const from = client.lastEventId();
    const id = await connect();
    const reply = await resumeAll(id, from);
    expect(reply).toMatchObject({ type: 'resume.success' });
    return id;
  };
  return { clock, store, log, api, client, broadcastDeps, connect, drop, resumeAll, reconnectAndResume };
}

let seq = 0;
function busEvent(label: string, atMs: number) {
  return {
    id: `${label}-${++seq}`,
    'detail-type': 'goal.created',
    source: 'test.catchup',
    time: new Date(atMs).toISOString(),
    detail: { tenantId: TENANT, goalId: label },
  };
}
const idOf = (event: { id: string }) => `evt_${event.id}`;

describe('catch-up never misses', () => {
  it('a delivery that fails for good: the connection is closed, and a resume from the last event returns it', async () => {
    // Prepare: the client has E0; then every post to its connection fails.
    const w = world();
    const first = await w.connect();
    let reconnects = 0;
    w.api.onServerClose = () => void reconnects++;
    const e0 = busEvent('E0', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e0);
    w.api.failingPosts.add(first);

    // Act: E1 cannot be delivered; the faults clear; E2 is put.
    w.clock.advance(1000);
    const e1 = busEvent('E1', w.clock.nowMs);
    const r1 = await broadcast(w.broadcastDeps(), e1);
    w.api.failingPosts.delete(first);
    w.clock.advance(1000);
    const e2 = busEvent('E2', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e2);

    // Assess: either E1 arrived live, or the server closed the connection (so the client
    // reconnects and resumes from the last event it received).
    expect(r1).toMatchObject({ status: 'delivered', stats: { failed: 1 } });
    const live = w.client.deduplicated();
    if (!live.includes(idOf(e1))) {
      expect(w.api.closed.has(first)).toBe(true);
      expect(reconnects).toBe(1);
      expect(live).not.toContain(idOf(e2)); // nothing after the miss on the old connection
      await w.reconnectAndResume();
    }
    expect(w.client.deduplicated()).toEqual([idOf(e0), idOf(e1), idOf(e2)]);
  });

  it('a delivery that fails for good and a close that fails too: marked, skipped by later events, closed later', async () => {
    const w = world();
    const first = await w.connect();
    const e0 = busEvent('E0', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e0);
    w.api.failingPosts.add(first);
    w.api.failingCloses.add(first);

    w.clock.advance(1000);
    const e1 = busEvent('E1', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e1);
    // The management API recovers for this connection: posts and closes work again.
    w.api.failingPosts.delete(first);
    w.api.failingCloses.delete(first);
    w.clock.advance(1000);
    const e2 = busEvent('E2', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e2);

    // E2 was not delivered on the connection that missed E1; it was closed instead.
    expect(w.client.deduplicated()).toEqual([idOf(e0)]);
    expect(w.api.closed.has(first)).toBe(true);
    await w.reconnectAndResume();
    expect(w.client.deduplicated()).toEqual([idOf(e0), idOf(e1), idOf(e2)]);
  });

  it.each([
    ['by Lambda, 90 s later', 90_000],
    ['by EventBridge, 3 h later', 3 * 3600_000],
  ])(
    'a broadcast retried %s, after later events were received: resume from the last event returns it',
    async (_by, retryAfterMs) => {
      // Prepare: E1's first attempt logs it, then fails reading recipients (the invocation fails).
      const w = world();
      const first = await w.connect();
      const e0 = busEvent('E0', w.clock.nowMs);
      await broadcast(w.broadcastDeps(), e0);
      w.clock.advance(1000);
      const e1 = busEvent('E1', w.clock.nowMs);
      let failReads = true;
      const flaky: ConnectionStore = withOverrides(w.store, {
        recipients: (tenantId) => {
          if (!failReads) return w.store.recipients(tenantId);
          failReads = false;
          return {
            [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('Query failed')) }),
          };
        },
      });
      await expect(broadcast(w.broadcastDeps({ store: flaky }), e1)).rejects.toThrow('Query failed');

      // E2 is delivered live; the client then drops and stays away while E1 is retried.
      w.clock.advance(1000);
      const e2 = busEvent('E2', w.clock.nowMs);
      await broadcast(w.broadcastDeps(), e2);
      w.clock.advance(1000);
      await w.drop(first);
      w.clock.advance(retryAfterMs);
      await broadcast(w.broadcastDeps({ store: flaky }), e1);

      // Act: back 10 s later, resuming from E2, the last event it received.
      w.clock.advance(10_000);
      await w.reconnectAndResume();

      // Assess
      expect(new Set(w.client.deduplicated())).toEqual(new Set([idOf(e0), idOf(e1), idOf(e2)]));
    },
  );

  it('two concurrent broadcasts finishing out of order: resume from the later-logged one returns the earlier one', async () => {
    // Prepare: E1 starts first (earlier log position), E2 a moment later; E1's post is slow.
    const w = world();
    const first = await w.connect();
    const e0 = busEvent('E0', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e0);
    w.clock.advance(1000);
    const e1 = busEvent('E1', w.clock.nowMs);
    const e2 = busEvent('E2', w.clock.nowMs + 5);
    const releaseE1 = w.api.hold(first, idOf(e1));
    const p1 = broadcast(w.broadcastDeps(), e1);
    w.clock.advance(5);
    const p2 = broadcast(w.broadcastDeps(), e2);
    await p2;
    expect(w.client.lastEventId()).toBe(idOf(e2));

    // Act: the client drops after E2 arrived and before E1 did; E1's post then finds it gone.
    await w.drop(first);
    releaseE1();
    await p1;
    w.clock.advance(2000);
    await w.reconnectAndResume();

    // Assess
    expect(new Set(w.client.deduplicated())).toEqual(new Set([idOf(e0), idOf(e1), idOf(e2)]));
  });

  it('two concurrent broadcasts where the earlier-logged one fails for good: closed, and resume returns it', async () => {
    const w = world();
    const first = await w.connect();
    const e0 = busEvent('E0', w.clock.nowMs);
    await broadcast(w.broadcastDeps(), e0);
    w.clock.advance(1000);
    const e1 = busEvent('E1', w.clock.nowMs);
    const e2 = busEvent('E2', w.clock.nowMs + 5);
    const releaseE1 = w.api.hold(first, idOf(e1));
    const p1 = broadcast(w.broadcastDeps(), e1);
    w.clock.advance(5);
    await broadcast(w.broadcastDeps(), e2);
    // E2 arrived; E1's post fails for good once released.
    w.api.failingPosts.add(first);
    releaseE1();
    await p1;
    w.api.failingPosts.delete(first);

    expect(w.client.lastEventId()).toBe(idOf(e2));
    expect(w.api.closed.has(first)).toBe(true);
    w.clock.advance(2000);
    await w.reconnectAndResume();
    expect(new Set(w.client.deduplicated())).toEqual(new Set([idOf(e0), idOf(e1), idOf(e2)]));
  });
});
