import { setTimeout as sleep } from 'node:timers/promises';
/**
 * The SDK end to end in Node against the real local runtime (`ws` as the WebSocket), as a
 * frontend would use it: connections killed from the server side while events flow, the
 * reconnect time, short-lived tokens with a fast sweeper, a gap, a fatal auth error, and the
 * subscription (event types, and the filter by source and priority) restored after a reconnect.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { localTableNames } from '../../bin/local/defaults.js';
import {
  authedClient,
  entry,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  type TokenOptions,
  tableClient,
  token,
} from '../../bin/tools/harness.js';
import {
  createRealtimeClient,
  type GapInfo,
  type RealtimeClient,
  type RealtimeClientOptions,
  type RealtimeError,
  type StateInfo,
} from '../../client/src/index.js';
import { ConnectionAttr } from '../../lambdas/contract/index.js';

const STAGE = 'sdk';

interface Recorder {
  client: RealtimeClient;
  states: StateInfo[];
  received: Array<{ type: string; seq: unknown; eventId: string; source?: string; priority?: string }>;
  errors: RealtimeError[];
  gaps: GapInfo[];
  tokens: number;
  /** Resolves at the next `connected` state (after `since`, a state count). */
  nextConnected(since?: number, timeoutMs?: number): Promise<StateInfo>;
}

describe('client SDK against the local runtime', () => {
  let rt: Runtime;
  let managementUrl: string;
  const clients: RealtimeClient[] = [];

  function sdk(tokenOptions: TokenOptions, options: Partial<RealtimeClientOptions> = {}): Recorder {
    const r: Recorder = {
      client: createRealtimeClient({
        url: rt.wsUrl,
        getToken: () => {
          r.tokens++;
          return token(tokenOptions);
        },
        WebSocket,
        ...options,
      }),
      states: [],
      received: [],
      errors: [],
      gaps: [],
      tokens: 0,
      async nextConnected(since = r.states.length, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = r.states.slice(since).find((s) => s.state === 'connected');
          if (found) return found;
          if (Date.now() > deadline) throw new Error(`not connected: ${JSON.stringify(r.states.map((s) => s.reason))}`);
          await sleep(5);
        }
      },
    };
    r.client.on('state', (_state, info) => r.states.push(info));
    r.client.on('event', (e) =>
      r.received.push({
        type: e.type,
        seq: e.data.seq,
        eventId: e.eventId,
        ...(e.source === undefined ? {} : { source: e.source }),
        ...(e.priority === undefined ? {} : { priority: e.priority }),
      }),
    );
    r.client.on('error', (e) => r.errors.push(e));
    r.client.on('gap', (g) => r.gaps.push(g));
    clients.push(r.client);
    return r;
  }

  /** Ends a connection from the server side, as API Gateway's management API does. */
  async function kill(connectionId: string): Promise<void> {
    const res = await fetch(`${managementUrl}/@connections/${encodeURIComponent(connectionId)}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
  }

  const emit = (tenant: string, type: string, data: Record<string, unknown> = {}) =>
    putEvents(rt, [entry(type, { tenantId: tenant, goalId: 'g', actionId: 'a', ...data })]);

  async function until(check: () => boolean, timeoutMs = 10_000, label = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
      await sleep(10);
    }
  }

  beforeAll(async () => {
    // A fast sweeper (1 s) so expired sessions are closed quickly, as the short-token test needs.
    rt = await startRuntime({ STAGE, SWEEP_INTERVAL_SECONDS: '1' });
    managementUrl = rt.managementUrl.replace(/\/@connections\/?$/, '');
    // The SDK's order across a reconnect relies on the server marking replayed frames: check it does.
    const probe = await authedClient(rt, { tenant: 'probe' });
    await emit('probe', 'goal.created');
    const first = await probe.waitFor((f) => typeof f.eventId === 'string');
    await emit('probe', 'goal.created');
    await probe.waitFor((f) => typeof f.eventId === 'string' && f.eventId !== first.eventId);
    await probe.request({ action: 'resume', lastEventId: first.eventId }, ['resume.success', 'resume.error']);
    expect(probe.frames.some((f) => f.replay === true)).toBe(true);
    probe.close();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await rt?.stop();
  });

  it('delivers every event exactly once and in order while the connection is killed server-side', async () => {
    const tenant = 'kill';
    await emit(tenant, 'goal.created', { seq: -1 }); // the log is not empty: there is a resume point
    await settled(rt);
    const r = sdk({ tenant });
    r.client.connect();
    await r.nextConnected();

    const N = 60;
    let seq = 0;
    const emitNext = () => emit(tenant, 'goal.created', { seq: seq++ });
    let kills = 0;
    // Events flow until N are out and at least 3 kills happened (a loaded machine kills less often).
    const more = () => seq < N || kills < 3;
    const producer = (async () => {
      while (more()) {
        await emitNext();
        await sleep(60);
      }
    })();

    while (more()) {
      await sleep(400 + Math.random() * 400);
      const id = r.client.connectionId;
      if (!more() || r.client.state !== 'connected' || !id) continue;
      const since = r.states.length;
      await kill(id);
      kills++;
      await r.nextConnected(since);
      const emitted = seq;
      await until(() => r.received.length >= emitted, 10_000, `the ${emitted} events emitted so far`);
    }
    await producer;
    await settled(rt);
    await until(() => r.received.length >= seq, 10_000, `${seq} events (got ${r.received.length})`);
    await sleep(300); // a late duplicate would show up here

    expect(kills).toBeGreaterThanOrEqual(3);
    expect(r.received.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i));
    expect(new Set(r.received.map((e) => e.eventId)).size).toBe(seq);
    expect(r.gaps).toEqual([]);
    expect(r.states.some((s) => s.state === 'closed')).toBe(false);
    console.log(`exactly once, in order: ${seq} events across ${kills} server-side kills`);
  }, 90_000);

  it('reconnects in well under a second (median) after a server-side close, with default options', async () => {
    const r = sdk({ tenant: 'latency' });
    r.client.connect();
    await r.nextConnected();
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      await sleep(2_100); // let the connection count as stable, so each close starts the backoff afresh
      const since = r.states.length;
      const started = performance.now();
      await kill(r.client.connectionId!);
      await r.nextConnected(since);
      times.push(performance.now() - started);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[3]!;
    console.log(
      `reconnect after server-side close: median ${median.toFixed(0)} ms (all: ${sorted.map((t) => t.toFixed(0)).join(', ')} ms)`,
    );
    expect(median).toBeLessThan(1000);
  }, 60_000);

  it('with short-lived tokens and a fast sweeper, refreshes in time and never falls to closed', async () => {
    const tenant = 'short';
    const r = sdk({ tenant, ttl: 4 });
    r.client.connect();
    await r.nextConnected();
    await sleep(10_000); // 2.5 token lifetimes; the sweeper runs every second
    await emit(tenant, 'goal.created', { seq: 1 });
    await until(() => r.received.length === 1, 5_000, 'the event');
    expect(r.states.map((s) => s.state)).not.toContain('closed');
    expect(r.states.filter((s) => s.reason === 'auth_expired')).toEqual([]);
    expect(r.client.state).toBe('connected');
    expect(r.tokens).toBeGreaterThanOrEqual(4); // the first auth and at least three refreshes
    expect(r.errors).toEqual([]);
  }, 30_000);

  it('emits gap when the resume point is unknown, and carries on live', async () => {
    const tenant = 'gap';
    await emit(tenant, 'goal.created', { seq: 0 });
    await settled(rt);
    const r = sdk({ tenant }, { lastEventId: 'evt_00000000-0000-0000-0000-000000000000' });
    r.client.connect();
    await r.nextConnected();
    await until(() => r.gaps.length === 1, 5_000, 'gap');
    expect(r.gaps[0]).toMatchObject({ code: 'gap', lastEventId: 'evt_00000000-0000-0000-0000-000000000000' });
    await emit(tenant, 'goal.created', { seq: 1 });
    await until(() => r.received.length === 1, 5_000, 'the live event');
    expect(r.received[0]?.seq).toBe(1);
    expect(r.client.state).toBe('connected');
  });

  it('stops on a fatal auth error (invalid_claims): state closed, error with the server code', async () => {
    const r = sdk({ tenant: 'fatal', user: null }); // no `sub`
    r.client.connect();
    await until(() => r.client.state === 'closed', 5_000, 'closed');
    expect(r.states.map((s) => `${s.state}:${s.reason}`)).toEqual([
      'connecting:connect',
      'authenticating:open',
      'closed:fatal',
    ]);
    expect(r.errors.map((e) => e.code)).toEqual(['invalid_claims']);
    expect(r.tokens).toBe(1);
  });

  it('restores the subscription on the new connection after a server-side close', async () => {
    const tenant = 'subs';
    const db = tableClient(rt);
    const subscriptionsOf = async (id: string) =>
      (
        await db.send(
          new GetCommand({ TableName: localTableNames(STAGE).connections, Key: { [ConnectionAttr.connectionId]: id } }),
        )
      ).Item?.[ConnectionAttr.subscriptions] as string[] | undefined;
    try {
      const r = sdk({ tenant }, { eventTypes: ['goal.*'] });
      r.client.connect();
      const first = (await r.nextConnected()).connectionId!;
      const since = r.states.length;
      await kill(first);
      const second = (await r.nextConnected(since)).connectionId!;
      expect(second).not.toBe(first);
      const deadline = Date.now() + 5_000;
      while ((await subscriptionsOf(second)) === undefined && Date.now() < deadline) await sleep(20);
      expect(await subscriptionsOf(second)).toEqual(['goal.*']);
      // The server filters: the action event never reaches the socket, the goal event does.
      await emit(tenant, 'action.created', { seq: 1 });
      await emit(tenant, 'goal.created', { seq: 2 });
      await until(() => r.received.length >= 1, 5_000, 'the goal event');
      await settled(rt);
      expect(r.received.map((e) => `${e.type}:${e.seq}`)).toEqual(['goal.created:2']);
    } finally {
      db.destroy();
    }
  });

  it('the filter survives a reconnect through the SDK: only high and critical events of the chosen sources arrive, before and after', async () => {
    const tenant = 'filter';
    const db = tableClient(rt);
    const recordOf = async (id: string) =>
      (
        await db.send(
          new GetCommand({ TableName: localTableNames(STAGE).connections, Key: { [ConnectionAttr.connectionId]: id } }),
        )
      ).Item;
    // Every frame the server sends, by socket: the server's filter, not only the SDK's own.
    const frames: Array<Array<{ eventId?: string; data?: { seq?: unknown } }>> = [];
    class Recording extends WebSocket {
      constructor(url: string) {
        super(url);
        const mine: (typeof frames)[number] = [];
        frames.push(mine);
        this.on('message', (data) => mine.push(JSON.parse(String(data))));
      }
    }
    const put = (seq: number, source: string, priority?: string) =>
      putEvents(rt, [
        entry('goal.created', { tenantId: tenant, goalId: 'g', seq, ...(priority ? { priority } : {}) }, source),
      ]);
    const seqsOn = (socket: number) =>
      (frames[socket] ?? []).filter((f) => typeof f.eventId === 'string').map((f) => f.data?.seq);
    try {
      const r = sdk(
        { tenant },
        {
          WebSocket: Recording as unknown as typeof WebSocket,
          sources: ['app.billing', 'app.alerts'],
          minPriority: 'high',
        },
      );
      expect(r.client.filter).toEqual({ eventTypes: [], sources: ['app.billing', 'app.alerts'], minPriority: 'high' });
      r.client.connect();
      const first = (await r.nextConnected()).connectionId!;
      const restored = async (id: string) => {
        const deadline = Date.now() + 5_000;
        while ((await recordOf(id))?.[ConnectionAttr.minPriority] === undefined && Date.now() < deadline)
          await sleep(20);
        const record = await recordOf(id);
        expect(record?.[ConnectionAttr.sources]).toEqual(['app.billing', 'app.alerts']);
        expect(record?.[ConnectionAttr.minPriority]).toBe('high');
      };
      await restored(first);

      await put(1, 'app.billing', 'normal');
      await put(2, 'app.other', 'critical');
      await put(3, 'app.billing'); // no priority: normal
      await put(4, 'app.billing', 'high');
      await put(5, 'app.alerts', 'critical');
      await until(() => r.received.length >= 2, 5_000, 'the two events that pass');
      await settled(rt);
      await sleep(200);
      expect(r.received.map((e) => e.seq)).toEqual([4, 5]);
      expect(r.received.map((e) => [e.source, e.priority])).toEqual([
        ['app.billing', 'high'],
        ['app.alerts', 'critical'],
      ]);
      expect(seqsOn(0)).toEqual([4, 5]); // the server filtered: the others never reached the socket

      // The server ends the connection; the SDK reconnects and restores the whole filter.
      const since = r.states.length;
      await kill(first);
      const second = (await r.nextConnected(since)).connectionId!;
      expect(second).not.toBe(first);
      await restored(second);
      const socket = frames.length - 1;

      await put(6, 'app.billing', 'normal');
      await put(7, 'app.other', 'critical');
      await put(8, 'app.billing', 'critical');
      await until(() => r.received.length >= 3, 5_000, 'the critical event after the reconnect');
      await settled(rt);
      await sleep(300);
      expect(r.received.map((e) => e.seq)).toEqual([4, 5, 8]);
      expect(r.received.at(-1)).toMatchObject({ source: 'app.billing', priority: 'critical' });
      expect(seqsOn(socket)).not.toContain(6);
      expect(seqsOn(socket)).not.toContain(7);
      expect(seqsOn(socket)).toContain(8);
      expect(r.gaps).toEqual([]);
      expect(r.errors).toEqual([]);
    } finally {
      db.destroy();
    }
  });
});

describe('client SDK: make-before-break rotation against the local runtime', () => {
  let rt: Runtime;
  afterAll(async () => rt?.stop());

  it('replaces connections before the maximum duration with no reconnect, no gap and no duplicate', async () => {
    // The runtime closes connections after 4 s (1001), as API Gateway does after 2 h; the client rotates at 2 s.
    rt = await startRuntime({ STAGE: 'rot', MAX_CONNECTION_SECONDS: '4' });
    const tenant = 'rot';
    await putEvents(rt, [entry('goal.created', { tenantId: tenant, goalId: 'g', seq: -1 })]);
    await settled(rt);
    const states: StateInfo[] = [];
    const received: unknown[] = [];
    const client = createRealtimeClient({
      url: rt.wsUrl,
      getToken: () => token({ tenant }),
      WebSocket,
      rotateAfterMs: 2_000,
    });
    client.on('state', (_s, info) => states.push(info));
    client.on('event', (e) => received.push(e.data.seq));
    const gaps: GapInfo[] = [];
    client.on('gap', (g) => gaps.push(g));
    try {
      client.connect();
      while (client.state !== 'connected') await sleep(10); // events before the first auth are history
      const N = 80;
      for (let seq = 0; seq < N; seq++) {
        await putEvents(rt, [entry('goal.created', { tenantId: tenant, goalId: 'g', seq })]);
        await sleep(100);
      }
      await settled(rt);
      const deadline = Date.now() + 5_000;
      while (received.length < N && Date.now() < deadline) await sleep(20);
      await sleep(300);
      const rotations = states.filter((s) => s.reason === 'rotated');
      expect(rotations.length).toBeGreaterThanOrEqual(3);
      expect(new Set(rotations.map((s) => s.connectionId)).size).toBe(rotations.length);
      expect(states.map((s) => s.state)).not.toContain('reconnecting');
      expect(received).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(gaps).toEqual([]);
      console.log(`rotation: ${rotations.length} make-before-break rotations, ${N} events exactly once, in order`);
    } finally {
      client.close();
    }
  }, 60_000);
});
