/**
 * The documented semantics of the EventLogScan port (bounded log reads for the HTTP API), as a
 * reusable suite: `log-scan.test.ts` runs it against the in-memory fake and
 * `test/adapters/dynamo-log-scan.test.ts` against DynamoEventLog on dynalite.
 */
import { describe, expect, it } from 'vitest';
import type { Audience, Envelope } from '../../lambdas/contract/index.js';
import { appendEvent } from '../../lambdas/core/log-append.js';
import type { EventLog, EventLogScan, LogChunk } from '../../lambdas/core/ports.js';
import { envelope } from './fakes.js';

const NOW = Math.floor(Date.UTC(2025, 0, 15, 12) / 1000);
const T0 = Date.UTC(2025, 0, 15, 12);
const TTL = NOW + 86_400;

type Log = EventLog & EventLogScan;

const ids = (chunk: LogChunk | undefined) => chunk?.events.map((e) => e.envelope.eventId);
const other = (n: number) => envelope(n, { tenantId: 't2', data: { tenantId: 't2', goalId: `g${n}` } });

export function eventLogScanContract(name: string, make: () => Promise<Log> | Log): void {
  describe(`EventLogScan contract: ${name}`, () => {
    /** Events 1..n of t1 at T0 + 10·i ms, plus one of t2 between each. */
    const seed = async (
      log: Log,
      events: Array<{ env: Envelope; audience?: Audience; at?: number; ttl?: number }>,
    ): Promise<void> => {
      for (const [i, e] of events.entries()) {
        await appendEvent(
          log,
          { envelope: e.env, ...(e.audience ? { audience: e.audience } : {}) },
          e.at ?? T0 + i * 10,
          e.ttl ?? TTL,
        );
      }
    };
    const five = (log: Log) =>
      seed(log, [
        { env: envelope(1) },
        { env: other(101) },
        { env: envelope(2), audience: { userIds: ['u2'] } },
        { env: envelope(3) },
        { env: other(103) },
        { env: envelope(4) },
        { env: envelope(5) },
      ]);

    it('reads forward after an event, at most limit entries, and continues from the position it returns', async () => {
      // Prepare
      const log = await make();
      await five(log);
      // Act
      const first = await log.scanForward('t1', { afterEventId: 'evt_1' }, 2, NOW);
      const second = await log.scanForward('t1', { afterPosition: first!.next! }, 2, NOW);
      const third = second?.next ? await log.scanForward('t1', { afterPosition: second.next }, 2, NOW) : { events: [] };
      // Assess
      expect(ids(first)).toEqual(['evt_2', 'evt_3']);
      expect(first?.events[0]?.audience).toEqual({ userIds: ['u2'] });
      expect(first?.events[1]?.audience).toBeUndefined();
      expect(first?.next).toBeDefined();
      expect(ids(second)).toEqual(['evt_4', 'evt_5']);
      expect(ids(third)).toEqual([]);
      expect(third?.next).toBeUndefined();
    });

    it('reaches the end of the log without a next position when fewer than limit entries remain', async () => {
      const log = await make();
      await five(log);
      const chunk = await log.scanForward('t1', { afterEventId: 'evt_3' }, 10, NOW);
      expect(ids(chunk)).toEqual(['evt_4', 'evt_5']);
      expect(chunk?.next).toBeUndefined();
      expect(ids(await log.scanForward('t1', { afterEventId: 'evt_5' }, 10, NOW))).toEqual([]);
    });

    it('answers undefined for an unknown, foreign or expired event id (the same gap)', async () => {
      const log = await make();
      await five(log);
      await seed(log, [{ env: envelope(9), at: T0 + 500, ttl: NOW }]);
      expect(await log.scanForward('t1', { afterEventId: 'evt_404' }, 10, NOW)).toBeUndefined();
      expect(await log.scanForward('t1', { afterEventId: 'evt_101' }, 10, NOW)).toBeUndefined();
      expect(await log.scanForward('t1', { afterEventId: 'evt_9' }, 10, NOW)).toBeUndefined();
      expect(ids(await log.scanForward('t2', { afterEventId: 'evt_101' }, 10, NOW))).toEqual(['evt_103']);
    });

    it('reads from a time: events logged at or after it, never before, never another tenant', async () => {
      const log = await make();
      await five(log);
      // evt_3 was logged at T0 + 30.
      expect(ids(await log.scanForward('t1', { sinceMs: T0 + 30 }, 10, NOW))).toEqual(['evt_3', 'evt_4', 'evt_5']);
      expect(ids(await log.scanForward('t1', { sinceMs: T0 + 31 }, 10, NOW))).toEqual(['evt_4', 'evt_5']);
      expect(ids(await log.scanForward('t1', { sinceMs: 0 }, 2, NOW))).toEqual(['evt_1', 'evt_2']);
      expect(ids(await log.scanForward('t1', { sinceMs: T0 + 10_000 }, 10, NOW))).toEqual([]);
    });

    it('reads backward from the newest, newest first, and continues before the position it returns', async () => {
      const log = await make();
      await five(log);
      const first = await log.scanBackward('t1', undefined, 2, NOW);
      const second = await log.scanBackward('t1', first.next, 3, NOW);
      expect(ids(first)).toEqual(['evt_5', 'evt_4']);
      expect(ids(second)).toEqual(['evt_3', 'evt_2', 'evt_1']);
      expect(second.events[1]?.audience).toEqual({ userIds: ['u2'] });
      const rest = second.next ? await log.scanBackward('t1', second.next, 3, NOW) : { events: [] };
      expect(ids(rest)).toEqual([]);
      expect(ids(await log.scanBackward('t3', undefined, 3, NOW))).toEqual([]);
    });

    it('skips expired entries, which still count against limit (reads stay bounded)', async () => {
      const log = await make();
      await seed(log, [
        { env: envelope(1), ttl: TTL },
        { env: envelope(2), ttl: NOW },
        { env: envelope(3), ttl: NOW - 5 },
        { env: envelope(4), ttl: TTL },
      ]);
      const chunk = await log.scanForward('t1', { afterEventId: 'evt_1' }, 2, NOW);
      expect(ids(chunk)).toEqual([]);
      expect(chunk?.next).toBeDefined();
      expect(ids(await log.scanForward('t1', { afterPosition: chunk!.next! }, 2, NOW))).toEqual(['evt_4']);
      expect(ids(await log.scanBackward('t1', undefined, 10, NOW))).toEqual(['evt_4', 'evt_1']);
    });
  });
}
