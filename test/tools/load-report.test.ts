/** `npm run load`'s bookkeeping: frames per user, the accounting of lost and duplicated deliveries, the report. */
import { describe, expect, it } from 'vitest';
import {
  type Accounting,
  account,
  type FrameTally,
  latencySummary,
  MAX_ERRORS,
  noteError,
  type RunMeasurements,
  recordFrame,
  report,
  type SentEvent,
  type UserRecord,
} from '../../bin/tools/load-report.js';
import { ServerMessageType } from '../../lambdas/contract/index.js';

function user(userId: string, tenant: string, firstAuthAt?: number, received: Record<string, number> = {}): UserRecord {
  return {
    tenant,
    userId,
    ...(firstAuthAt === undefined ? {} : { firstAuthAt }),
    received: new Map(Object.entries(received)),
    resuming: false,
    reconnects: 0,
    replayed: 0,
  };
}

const tally = (): FrameTally => ({ latencies: [], foreign: 0, errors: [] });

describe('recordFrame', () => {
  it('counts an event per eventId, moves the resume point and measures live latency', () => {
    const t = tally();
    const u = user('u1', 't1', 0);
    const frame = JSON.stringify({ type: 'goal.updated', eventId: 'evt_1', tenantId: 't1', data: { sentAt: 1_000 } });
    recordFrame(t, u, frame, 1_040);
    recordFrame(t, u, frame, 1_100);
    expect(u.received.get('evt_1')).toBe(2);
    expect(u.resumePoint).toBe('evt_1');
    expect(t.latencies).toEqual([40, 100]);
    expect(t.foreign).toBe(0);
  });

  it('counts frames of another tenant as foreign', () => {
    const t = tally();
    recordFrame(t, user('u1', 't1', 0), JSON.stringify({ eventId: 'evt_2', tenantId: 't2', data: {} }), 0);
    expect(t.foreign).toBe(1);
  });

  it('counts frames while resuming as replays, not latency, until resume.success', () => {
    const t = tally();
    const u = { ...user('u1', 't1', 0), resuming: true };
    recordFrame(t, u, JSON.stringify({ eventId: 'evt_3', tenantId: 't1', data: { sentAt: 5 } }), 10);
    expect([u.replayed, t.latencies]).toEqual([1, []]);
    recordFrame(t, u, JSON.stringify({ type: ServerMessageType.resumeSuccess, data: {} }), 11);
    expect(u.resuming).toBe(false);
    recordFrame(t, u, JSON.stringify({ eventId: 'evt_4', tenantId: 't1', data: { sentAt: 5 } }), 12);
    expect([u.replayed, t.latencies]).toEqual([1, [7]]);
  });

  it('notes error frames and non-JSON frames', () => {
    const t = tally();
    const u = { ...user('u1', 't1', 0), resuming: true };
    recordFrame(t, u, JSON.stringify({ type: ServerMessageType.resumeError, data: { reason: 'x' } }), 0);
    recordFrame(t, u, 'not json', 0);
    expect(u.resuming).toBe(false);
    expect(t.errors).toEqual([
      `u1: {"type":"${ServerMessageType.resumeError}","data":{"reason":"x"}}`,
      'non-JSON frame: not json',
    ]);
  });
});

describe('noteError', () => {
  it('keeps the first MAX_ERRORS and says once that more were omitted', () => {
    const errors: string[] = [];
    for (let i = 0; i < MAX_ERRORS + 10; i++) noteError(errors, `e${i}`);
    expect(errors).toHaveLength(MAX_ERRORS + 1);
    expect(errors.at(-2)).toBe(`e${MAX_ERRORS - 1}`);
    expect(errors.at(-1)).toBe('… more errors omitted');
  });
});

describe('account', () => {
  const sent = new Map<string, SentEvent>([
    ['evt_a', { tenant: 't1', sentAt: 100 }],
    ['evt_b', { tenant: 't1', sentAt: 200, userIds: new Set(['u1']) }],
    ['evt_c', { tenant: 't2', sentAt: 300 }],
    ['evt_early', { tenant: 't1', sentAt: 10 }],
  ]);

  it('expects each event for its tenant and audience, from the first auth on', () => {
    const users = [
      user('u1', 't1', 50, { evt_a: 1, evt_b: 2 }),
      user('u2', 't1', 50, { evt_a: 1 }),
      user('u3', 't2', 50, {}),
    ];
    expect(account(users, sent)).toEqual({
      expected: 4, // u1: a, b; u2: a (b is not for u2); u3: c. evt_early predates every auth
      receivedExpected: 3,
      lost: 1,
      frames: 4,
      duplicates: 1,
      lostSamples: ['u3 missed evt_c'],
      reconnects: 0,
      replayed: 0,
    } satisfies Accounting);
  });

  it('skips users that never authenticated but still sums their reconnects', () => {
    const never = { ...user('u9', 't1'), reconnects: 2, replayed: 1 };
    expect(account([never], sent)).toMatchObject({ expected: 0, lost: 0, reconnects: 2, replayed: 1 });
  });

  it('keeps only the first few lost samples', () => {
    const users = Array.from({ length: 8 }, (_, i) => user(`u${i}`, 't2', 0));
    const totals = account(users, sent, 3);
    expect(totals.lost).toBe(8);
    expect(totals.lostSamples).toEqual(['u0 missed evt_c', 'u1 missed evt_c', 'u2 missed evt_c']);
  });
});

describe('latencySummary', () => {
  it('takes nearest-rank percentiles of unsorted samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(latencySummary(samples)).toEqual({ p50: 51, p99: 100, max: 100 });
  });

  it('is NaN without samples', () => {
    expect(latencySummary([])).toEqual({ p50: NaN, p99: NaN, max: NaN });
  });
});

describe('report', () => {
  function measurements(overrides: Partial<RunMeasurements> = {}): RunMeasurements {
    return {
      accounting: account([user('u1', 't1', 0, { evt_a: 1 })], new Map([['evt_a', { tenant: 't1', sentAt: 1 }]])),
      tally: { latencies: [10, 20, 30], foreign: 0, errors: [] },
      producedInSeconds: 2,
      heapUsed: { start: 10 * 1024 * 1024, end: 12.5 * 1024 * 1024 },
      rssMb: [100, 150, 120],
      dynamoRssMb: 80,
      deadLetters: 0,
      wallSeconds: 9.25,
      hitTimeBound: false,
      ...overrides,
    };
  }

  it('prints aligned rows and PASS for a clean run', () => {
    const { lines, ok } = report(measurements());
    expect(ok).toBe(true);
    expect(lines[0]).toBe('');
    expect(lines).toContain('  frames expected                                      1');
    expect(lines).toContain('  latency p50 / p99 / max (live frames)                20 / 30 / 30 ms');
    expect(lines).toContain('  runtime live heap after GC start → end               10.0 → 12.5 MB');
    expect(lines).toContain('  runtime RSS start → end (peak)                       100 → 120 MB (150 MB)');
    expect(lines).toContain('  delivery rate (live + resume)                        1 frames/s');
    expect(lines).toContain('  wall time                                            9.3 s');
    expect(lines.at(-1)).toBe('\nPASS: 0 lost, 0 foreign, no errors');
  });

  it('fails on a lost frame, a foreign frame, an error, a dead letter or the time bound', () => {
    const lost = account([user('u1', 't1', 0)], new Map([['evt_a', { tenant: 't1', sentAt: 1 }]]));
    expect(report(measurements({ accounting: lost })).ok).toBe(false);
    expect(report(measurements({ tally: { latencies: [], foreign: 1, errors: [] } })).ok).toBe(false);
    expect(report(measurements({ deadLetters: 1 })).ok).toBe(false);
    const failed = report(measurements({ tally: { latencies: [], foreign: 0, errors: ['boom'] }, hitTimeBound: true }));
    expect(failed.ok).toBe(false);
    expect(failed.lines).toContain('  error: boom');
    expect(failed.lines.at(-1)).toBe('\nFAIL (hit the time bound)');
    const withLost = report(measurements({ accounting: lost }));
    expect(withLost.lines).toContain('  lost: u1 missed evt_a');
    expect(withLost.lines.at(-1)).toBe('\nFAIL');
  });
});
