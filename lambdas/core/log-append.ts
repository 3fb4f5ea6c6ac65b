/** Logging one broadcaster attempt of an event, both steps in order. */
import type { EventLog, LoggedEvent } from './ports.js';

/**
 * `writeCopy`, then `markFirst`: a marker must never point at a copy that was not written. The
 * broadcaster runs the two itself, with the recipient read between them (`broadcast`).
 */
export async function appendEvent(
  log: Pick<EventLog, 'writeCopy' | 'markFirst'>,
  event: LoggedEvent,
  attemptStartMs: number,
  ttl: number,
): Promise<{ duplicate: boolean }> {
  await log.writeCopy(event, attemptStartMs, ttl);
  return log.markFirst(event.envelope.tenantId, event.envelope.eventId, attemptStartMs, ttl);
}
