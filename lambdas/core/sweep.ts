/** The sweeper: closes pending connections past their auth deadline and expired sessions. */
import { AuthErrorCode, SWEEP_SHARDS, serverMessage } from '../contract/index.js';
import { DEFAULT_RETRY, defaultSleep, postWithRetry, type RetryPolicy } from './delivery.js';
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
  /** Due a moment ago but refreshed or gone since: left alone. */
  skipped: number;
  /** Record removed but the socket could not be told or closed (it idles out on its own). */
  failed: number;
}

/**
 * Deletes each due record (conditionally, so a token refreshed meanwhile wins), tells the client
 * why, and closes the socket. A client that is already gone is not an error.
 */
export async function sweep(deps: SweepDeps): Promise<SweepStats> {
  const now = Math.floor(deps.clock() / 1000);
  const stats: SweepStats = { timedOut: 0, expired: 0, skipped: 0, failed: 0 };
  const retrying = {
    sender: deps.sender,
    retry: deps.retry ?? DEFAULT_RETRY,
    sleep: deps.sleep ?? defaultSleep,
    random: deps.random ?? Math.random,
    onFailure: deps.onFailure,
  };
  for await (const page of deps.store.due(now)) {
    await Promise.all(
      page.map(async ({ connectionId, tenantId }) => {
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
      }),
    );
  }
  return stats;
}
