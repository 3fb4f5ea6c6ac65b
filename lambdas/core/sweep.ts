/**
 * The sweeper: closes pending connections past their auth deadline, expired sessions, and
 * connections marked broken (a delivery failed for good and closing them failed then too).
 * At most SWEEP_CONCURRENCY connections are handled at once, and one that fails (DynamoDB or the
 * management API) never stops the run.
 */
import {
  AuthErrorCode,
  type DueConnection,
  SWEEP_CONCURRENCY,
  SWEEP_SHARDS,
  serverMessage,
} from '../contract/index.js';
import {
  boundedPool,
  closeWithRetry,
  DEFAULT_RETRY,
  defaultSleep,
  postWithRetry,
  type RetryPolicy,
} from './delivery.js';
import type { Clock, ConnectionStore, Sender } from './ports.js';

/** Stable shard of a connection in the sweep index (spreads index writes over partitions). */
export function sweepShardFor(connectionId: string): string {
  let h = 0;
  for (let i = 0; i < connectionId.length; i++) h = (h * 31 + connectionId.charCodeAt(i)) | 0;
  return `s${Math.abs(h) % SWEEP_SHARDS}`;
}

export interface SweepDeps {
  store: ConnectionStore;
  sender: Sender;
  clock: Clock;
  /** Connections handled at once (SWEEP_CONCURRENCY). */
  concurrency?: number;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told about each connection that could not be told or closed (for logging). */
  onFailure?: ((connectionId: string, error: unknown) => void) | undefined;
}

export interface SweepStats {
  /** Pending connections closed for missing their auth deadline. */
  timedOut: number;
  /** Authenticated connections closed because their token expired. */
  expired: number;
  /** Broken connections (marked by fan-out) closed and removed. */
  broken: number;
  /** Due a moment ago but refreshed or gone since: left alone. */
  skipped: number;
  /**
   * Could not be handled: the record was removed but the socket could not be told or closed (it
   * idles out on its own), a broken connection still cannot be closed (left for the next run),
   * or a DynamoDB call failed.
   */
  failed: number;
}

/**
 * Deletes each due record (conditionally, so a token refreshed meanwhile wins), tells the client
 * why, and closes the socket; a broken connection is closed first and its record removed only
 * once that worked. A client that is already gone is not an error.
 */
export async function sweep(deps: SweepDeps): Promise<SweepStats> {
  const now = Math.floor(deps.clock() / 1000);
  const stats: SweepStats = { timedOut: 0, expired: 0, broken: 0, skipped: 0, failed: 0 };
  const retrying = {
    sender: deps.sender,
    retry: deps.retry ?? DEFAULT_RETRY,
    sleep: deps.sleep ?? defaultSleep,
    random: deps.random ?? Math.random,
    onFailure: deps.onFailure,
  };

  const sweepOne = async ({ connectionId, tenantId, brokenAt }: DueConnection): Promise<void> => {
    if (brokenAt !== undefined) {
      // Close before forgetting: while the record stays, it stays due and the next run retries.
      if (!(await closeWithRetry(retrying, connectionId))) {
        stats.failed++;
        return;
      }
      await deps.store.delete(connectionId);
      stats.broken++;
      return;
    }
    if (!(await deps.store.deleteIfDue(connectionId, now))) {
      stats.skipped++;
      return;
    }
    const notice =
      tenantId === undefined
        ? serverMessage.authError(
            deps.clock(),
            AuthErrorCode.authTimeout,
            'no valid auth message before the deadline; reconnect and authenticate',
          )
        : serverMessage.authExpired(deps.clock());
    if (tenantId === undefined) stats.timedOut++;
    else stats.expired++;
    // One connection failing (429, 5xx) never stops the sweep of the others.
    const told = await postWithRetry(retrying, connectionId, JSON.stringify(notice));
    if (told === 'gone') return;
    try {
      await deps.sender.close(connectionId);
    } catch (err) {
      stats.failed++;
      deps.onFailure?.(connectionId, err);
    }
  };

  const pool = boundedPool(deps.concurrency ?? SWEEP_CONCURRENCY);
  try {
    for await (const page of deps.store.due(now)) {
      for (const due of page) {
        await pool.run(() =>
          sweepOne(due).catch((err: unknown) => {
            stats.failed++;
            deps.onFailure?.(due.connectionId, err);
          }),
        );
      }
    }
  } finally {
    await pool.drain();
  }
  return stats;
}
