/**
 * `resume` in pages (issue 9, section 2): where a replay starts (the overlap), what it sends (each
 * event once, never the cursor), what one call may cost (a page, a bounded read), what a sequence
 * may cost (the cap, counted on what the connection receives), and the rate limit.
 */
import { describe, expect, it } from 'vitest';
import {
  type Audience,
  type Envelope,
  eventLogSortKey,
  REPLAY_OVERLAP_SECONDS,
  RESUME_RATE_LIMIT_CALLS,
  type ServerMessage,
} from '../../lambdas/contract/index.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import type { EventLog } from '../../lambdas/core/ports.js';
import { type ResumeDeps, resume } from '../../lambdas/core/replay.js';
import {
  envelope,
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  recordingSleep,
  ScriptedSender,
  seedAuthenticated,
  serverError,
} from './fakes.js';

const OVERLAP_MS = REPLAY_OVERLAP_SECONDS * 1000;
const RETAIN = Math.floor(Date.UTC(2025, 0, 16) / 1000);

/** A log that counts its calls and the limits it was asked for. */
function countingLog(log: EventLog) {
  const calls = { position: 0, read: 0, limits: [] as number[] };
  const counted: EventLog = {
    writeCopy: (...a) => log.writeCopy(...a),
    markFirst: (...a) => log.markFirst(...a),
    latest: (...a) => log.latest(...a),
    position: (...a) => {
      calls.position++;
      return log.position(...a);
    },
    read: (tenantId, range, limit) => {
      calls.read++;
      calls.limits.push(limit);
      return log.read(tenantId, range, limit);
    },
  };
  return { calls, counted };
}

async function setup(options: { subscriptions?: string[]; userId?: string } = {}) {
  const clock = new FakeClock();
  const store = new InMemoryConnectionStore();
  const log = new InMemoryEventLog();
  const sender = new ScriptedSender(clock.now);
  await seedAuthenticated(
    store,
    'c1',
    {
      userId: options.userId ?? 'ada',
      expiresAt: RETAIN + 3600,
      ...(options.subscriptions ? { subscriptions: options.subscriptions } : {}),
    },
    clock.seconds,
  );
  const { calls, counted } = countingLog(log);
  const deps = (overrides: Partial<ResumeDeps> = {}): ResumeDeps => ({
    store,
    log: counted,
    sender,
    clock: clock.now,
    maxReplay: 1000,
    sleep: recordingSleep().sleep,
    random: () => 0,
    ...overrides,
  });
  /** Logs an event's attempt at `atMs` (default: now). */
  const logAt = (env: Envelope, atMs = clock.nowMs, audience?: Audience) =>
    appendEvent(log, { envelope: env, ...(audience ? { audience } : {}) }, atMs, RETAIN);
  /** Follows `more` to the end; every reply in order. */
  const resumeAll = async (from: string, overrides: Partial<ResumeDeps> = {}) => {
    const replies: Array<ServerMessage | undefined> = [];
    let cursor = from;
    for (let i = 0; i < 100; i++) {
      const reply = await resume(deps(overrides), 'c1', cursor);
      replies.push(reply);
      if (reply?.type !== 'resume.success') break;
      const data = reply.data as { lastEventId: string; more: boolean };
      if (!data.more) break;
      cursor = data.lastEventId;
    }
    return replies;
  };
  const ids = () => sender.received('c1').map((e) => e.eventId as string);
  return { clock, store, log, sender, calls, deps, logAt, resumeAll, ids };
}

describe('resume: where the replay starts', () => {
  it('replays from the cursor’s first position minus the overlap: an earlier-logged event the client may lack is sent', async () => {
    // E1 was logged just before E2 (concurrent broadcasts); the client got E2 only.
    const { clock, logAt, deps, ids } = await setup();
    await logAt(envelope(0), clock.nowMs - 5 - OVERLAP_MS - 1); // before the window: not resent
    await logAt(envelope(1), clock.nowMs - 10);
    await logAt(envelope(2), clock.nowMs - 5);

    const reply = await resume(deps(), 'c1', 'evt_2');

    expect(ids()).toEqual(['evt_1']);
    expect(reply).toMatchObject({ type: 'resume.success', data: { replayed: 1, lastEventId: 'evt_1', more: false } });
  });

  it('never re-sends the cursor event, nor any of its copies', async () => {
    const { clock, logAt, deps, ids } = await setup();
    await logAt(envelope(1), clock.nowMs - 3000);
    await logAt(envelope(2), clock.nowMs - 2000);
    await logAt(envelope(1), clock.nowMs - 1000); // a retry of the cursor event

    await resume(deps(), 'c1', 'evt_1');

    expect(ids()).toEqual(['evt_2']);
  });

  it("finds a retry logged after the cursor even though the event's first copy is older than the window", async () => {
    const { clock, logAt, deps, ids } = await setup();
    await logAt(envelope(1), clock.nowMs - 3 * 3600_000); // first attempt, 3 h ago, failed
    await logAt(envelope(2), clock.nowMs - 60_000); // received by the client
    await logAt(envelope(1), clock.nowMs - 1000); // EventBridge's retry

    await resume(deps(), 'c1', 'evt_2');

    expect(ids()).toEqual(['evt_1']);
  });
});

describe('resume: each event once', () => {
  it('sends an event whose first copy and a retry copy are both in the window once, at its first copy', async () => {
    const { clock, logAt, deps, ids } = await setup();
    await logAt(envelope(9), clock.nowMs - 5000);
    await logAt(envelope(1), clock.nowMs - 4000);
    await logAt(envelope(2), clock.nowMs - 3000);
    await logAt(envelope(1), clock.nowMs - 2000); // retry
    await logAt(envelope(1), clock.nowMs - 1000); // and again

    await resume(deps(), 'c1', 'evt_9');

    expect(ids()).toEqual(['evt_1', 'evt_2']);
  });

  it('sends it once across pages too', async () => {
    const { clock, logAt, resumeAll, ids } = await setup();
    await logAt(envelope(0), clock.nowMs - 6000);
    await logAt(envelope(1), clock.nowMs - 5000);
    await logAt(envelope(2), clock.nowMs - 4000);
    await logAt(envelope(3), clock.nowMs - 3000);
    await logAt(envelope(1), clock.nowMs - 2000); // retry, read on a later page

    const replies = await resumeAll('evt_0', { pageSize: 2 });

    expect(ids()).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(replies.map((r) => r?.data)).toEqual([
      { replayed: 2, lastEventId: 'evt_2', more: true },
      { replayed: 1, lastEventId: 'evt_3', more: false },
    ]);
  });

  it('marks replayed frames with replay: true and leaves the envelope otherwise unchanged', async () => {
    const { clock, logAt, deps, sender } = await setup();
    await logAt(envelope(1), clock.nowMs - 2000);
    await logAt(envelope(2), clock.nowMs - 1000);
    await resume(deps(), 'c1', 'evt_1');
    expect(sender.received('c1')).toEqual([{ ...envelope(2), replay: true }]);
  });
});

describe('resume: one page per call', () => {
  it('answers more: true with the last replayed id, and continues from there to the end', async () => {
    const { clock, logAt, resumeAll, ids, store } = await setup();
    await logAt(envelope(0), clock.nowMs - 10_000);
    for (let n = 1; n <= 5; n++) await logAt(envelope(n), clock.nowMs - 10_000 + n * 1000);

    const replies = await resumeAll('evt_0', { pageSize: 2 });

    expect(replies.map((r) => r?.data)).toEqual([
      { replayed: 2, lastEventId: 'evt_2', more: true },
      { replayed: 2, lastEventId: 'evt_4', more: true },
      { replayed: 1, lastEventId: 'evt_5', more: false },
    ]);
    expect(ids()).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']);
    // Finished: nothing is kept on the record.
    expect((await store.get('c1'))?.replay).toBeUndefined();
  });

  it('starts over (from the overlap) when the id is not the one the last page answered', async () => {
    const { clock, logAt, deps, ids } = await setup();
    for (let n = 1; n <= 4; n++) await logAt(envelope(n), clock.nowMs - 10_000 + n * 1000);

    await resume(deps({ pageSize: 2 }), 'c1', 'evt_1'); // evt_2, evt_3 (more)
    await resume(deps({ pageSize: 2 }), 'c1', 'evt_1'); // a new sequence: the same page again

    expect(ids()).toEqual(['evt_2', 'evt_3', 'evt_2', 'evt_3']);
  });

  it('sends at most a page per call, in log order, one post after another', async () => {
    const { clock, logAt, deps, sender } = await setup();
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 250; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);

    const reply = await resume(deps(), 'c1', 'evt_0');

    expect(reply?.data).toMatchObject({ replayed: 100, more: true, lastEventId: 'evt_100' });
    expect(sender.attempts).toHaveLength(100);
    expect(sender.maxInFlight).toBe(1);
  });

  it('reads with a Limit: a gap on the cap costs at most one page of reads', async () => {
    const { clock, logAt, deps, calls, sender } = await setup();
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 300; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);

    const reply = await resume(deps({ maxReplay: 50 }), 'c1', 'evt_0');

    expect(reply).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    expect(sender.attempts).toEqual([]);
    expect(calls.read).toBe(1);
    expect(calls.limits[0]).toBeLessThanOrEqual(500);
  });

  it('answers gap for an unknown id after one marker lookup, reading nothing', async () => {
    const { deps, calls, sender } = await setup();
    expect(await resume(deps(), 'c1', 'evt_nope')).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    expect(calls).toMatchObject({ position: 1, read: 0 });
    expect(sender.attempts).toEqual([]);
  });

  it('bounds the log items read per call when the filters keep few, and pages on', async () => {
    // A narrow subscription in a busy tenant: 1 matching event in 1,200.
    const { clock, logAt, deps, calls, ids } = await setup({ subscriptions: ['issue.*'] });
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 1200; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);
    await logAt(envelope(9999, { type: 'issue.created' }), clock.nowMs - 1000);

    const first = await resume(deps({ scanPerCall: 500 }), 'c1', 'evt_0');

    expect(first?.data).toEqual({ replayed: 0, lastEventId: 'evt_0', more: true });
    expect(calls.limits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(500);
    const second = await resume(deps({ scanPerCall: 500 }), 'c1', 'evt_0');
    const third = await resume(deps({ scanPerCall: 500 }), 'c1', 'evt_0');
    expect(second?.data).toMatchObject({ replayed: 0, more: true });
    expect(third?.data).toEqual({ replayed: 1, lastEventId: 'evt_9999', more: false });
    expect(ids()).toEqual(['evt_9999']);
  });
});

describe('resume: the cap counts what the connection receives', () => {
  it('lets a narrow subscription in a busy tenant resume past more tenant events than the cap', async () => {
    const { clock, logAt, resumeAll, ids } = await setup({ subscriptions: ['issue.*'] });
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 1500; n++) {
      const type = n % 100 === 0 ? 'issue.created' : 'goal.created';
      await logAt(envelope(n, { type }), clock.nowMs - 60_000 + n * 10);
    }

    const replies = await resumeAll('evt_0', { maxReplay: 1000 });

    expect(replies.at(-1)).toMatchObject({ type: 'resume.success', data: { more: false } });
    expect(ids()).toHaveLength(15);
  });

  it('answers gap once the sequence would send more than the cap, across pages', async () => {
    const { clock, logAt, resumeAll, ids, store } = await setup();
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 25; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);

    const replies = await resumeAll('evt_0', { maxReplay: 20, pageSize: 8 });

    expect(replies.map((r) => r?.type)).toEqual(['resume.success', 'resume.success', 'resume.error']);
    expect(replies.at(-1)).toMatchObject({ data: { code: 'gap', message: expect.stringContaining('20') } });
    expect(ids()).toHaveLength(16); // two pages went out before the cap was reached
    expect((await store.get('c1'))?.replay).toBeUndefined();
  });

  it('succeeds at exactly the cap', async () => {
    const { clock, logAt, resumeAll, ids } = await setup();
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 20; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);

    const replies = await resumeAll('evt_0', { maxReplay: 20, pageSize: 8 });

    expect(replies.at(-1)).toMatchObject({ type: 'resume.success', data: { more: false } });
    expect(ids()).toHaveLength(20);
  });

  it('answers gap when the sequence would read more log items than its bound', async () => {
    const { clock, logAt, resumeAll, ids } = await setup({ subscriptions: ['issue.*'] });
    await logAt(envelope(0), clock.nowMs - 60_000);
    for (let n = 1; n <= 100; n++) await logAt(envelope(n), clock.nowMs - 60_000 + n * 10);

    const replies = await resumeAll('evt_0', { maxScanned: 50, scanPerCall: 20 });

    expect(replies.at(-1)).toMatchObject({ type: 'resume.error', data: { code: 'gap' } });
    expect(replies.length).toBeLessThanOrEqual(3);
    expect(ids()).toEqual([]);
  });
});

describe('resume: rate limit', () => {
  it(`answers rate_limited with retryAfterMs after ${RESUME_RATE_LIMIT_CALLS} calls in a window, then allows a new window`, async () => {
    const { clock, logAt, deps, calls } = await setup();
    clock.nowMs = Math.ceil(clock.nowMs / 10_000) * 10_000 + 2_500; // 2.5 s into a 10 s window
    await logAt(envelope(1), clock.nowMs - 1000);
    const replies = [];
    for (let i = 0; i < RESUME_RATE_LIMIT_CALLS + 1; i++) replies.push(await resume(deps(), 'c1', 'evt_1'));
    const lookups = calls.position;

    expect(replies.slice(0, -1).every((r) => r?.type === 'resume.success')).toBe(true);
    expect(replies.at(-1)).toEqual({
      type: 'resume.error',
      data: { code: 'rate_limited', message: expect.stringContaining('7500'), retryAfterMs: 7500 },
      timestamp: expect.any(String),
    });
    // A refused call costs no log read.
    expect(lookups).toBe(RESUME_RATE_LIMIT_CALLS);
    clock.advance(7500);
    expect(await resume(deps(), 'c1', 'evt_1')).toMatchObject({ type: 'resume.success' });
  });
});

describe('resume: sessions that must not be served', () => {
  it('tells an expired session auth.expired, closes it and forgets it, replaying nothing', async () => {
    const { clock, store, logAt, deps, sender, calls } = await setup();
    await logAt(envelope(1), clock.nowMs - 2000);
    await logAt(envelope(2), clock.nowMs - 1000);
    clock.nowMs = (RETAIN + 3600) * 1000;

    const reply = await resume(deps(), 'c1', 'evt_1');

    expect(reply).toBeUndefined();
    expect(sender.received('c1').map((f) => f.type)).toEqual(['auth.expired']);
    expect(sender.closes).toEqual(['c1']);
    expect(await store.get('c1')).toBeUndefined();
    expect(calls.position + calls.read).toBe(0);
  });

  it('closes a connection marked broken instead of replaying to it', async () => {
    const { clock, store, logAt, deps, sender } = await setup();
    await logAt(envelope(1), clock.nowMs - 2000);
    await logAt(envelope(2), clock.nowMs - 1000);
    await store.markBroken('c1', clock.seconds);

    expect(await resume(deps(), 'c1', 'evt_1')).toBeUndefined();
    expect(sender.attempts).toEqual([]);
    expect(sender.closes).toEqual(['c1']);
  });

  it('closes the connection when a replayed frame cannot be delivered, so the client resumes again', async () => {
    const { clock, logAt, deps, sender } = await setup();
    await logAt(envelope(1), clock.nowMs - 3000);
    await logAt(envelope(2), clock.nowMs - 2000);
    await logAt(envelope(3), clock.nowMs - 1000);
    sender.script('c1', 'ok', serverError());

    const reply = await resume(deps({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }), 'c1', 'evt_1');

    expect(reply).toBeUndefined();
    expect(sender.received('c1').map((e) => e.eventId)).toEqual(['evt_2']);
    expect(sender.closes).toEqual(['c1']);
  });

  it('positions are where the log put them: the overlap is measured on the first copy', async () => {
    const { clock, log, logAt } = await setup();
    await logAt(envelope(1), clock.nowMs - 5000);
    await logAt(envelope(1), clock.nowMs - 1000);
    expect(await log.position('t1', 'evt_1', clock.seconds)).toBe(eventLogSortKey(clock.nowMs - 5000, 'evt_1'));
  });
});
