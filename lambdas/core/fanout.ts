/**
 * Fan-out: deliver one envelope to every matching recipient of a tenant with bounded
 * concurrency, an optional send-rate cap, retries with backoff and jitter for 429/5xx, and
 * cleanup of gone and expired connections. One failing connection never stops the others.
 */
import { type Audience, MAX_AUDIENCE_USER_LOOKUPS, type Recipient, serverMessage } from '../contract/index.js';
import { DEFAULT_RETRY, defaultSleep, postWithRetry, type RetryPolicy, rateLimiter } from './delivery.js';
import { inAudience, matchesSubscriptions } from './matching.js';
import type { Clock, ConnectionStore, Sender } from './ports.js';

export interface FanoutDeps {
  store: ConnectionStore;
  sender: Sender;
  clock: Clock;
  /** PostToConnection calls in flight at most. */
  concurrency: number;
  /** Optional cap on send attempts per second. */
  maxRps?: number | undefined;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told about each delivery that failed for good (for logging). */
  onFailure?: ((connectionId: string, error: unknown) => void) | undefined;
}

export interface FanoutStats {
  /** Recipients read from the tenant index. */
  recipients: number;
  delivered: number;
  /** 410 Gone: record removed. */
  gone: number;
  /** Token expired: told, closed and removed. */
  expired: number;
  /** Excluded by subscriptions or audience. */
  filtered: number;
  /** Still failing after retries, or failed with a non-retryable error. */
  failed: number;
  /** Retries made after 429/5xx. */
  retries: number;
}

export interface FanoutEvent {
  type: string;
  /** The serialized envelope. */
  payload: string;
  audience?: Audience;
}

/**
 * Where an event's recipients are read from: an audience of a few user ids (and no roles) reads
 * only those users' connections; anything else reads the whole tenant and filters.
 */
export function recipientsFor(
  store: ConnectionStore,
  tenantId: string,
  audience: Audience | undefined,
): AsyncIterable<Recipient[]> {
  const userIds = audience?.userIds ?? [];
  const roles = audience?.roles ?? [];
  if (
    audience !== undefined &&
    roles.length === 0 &&
    userIds.length > 0 &&
    userIds.length <= MAX_AUDIENCE_USER_LOOKUPS
  ) {
    return store.recipientsOf(tenantId, userIds);
  }
  return store.recipients(tenantId);
}

export async function fanOut(deps: FanoutDeps, tenantId: string, event: FanoutEvent): Promise<FanoutStats> {
  const stats: FanoutStats = { recipients: 0, delivered: 0, gone: 0, expired: 0, filtered: 0, failed: 0, retries: 0 };
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const retry = deps.retry ?? DEFAULT_RETRY;
  const throttle = rateLimiter(deps.maxRps, deps.clock, sleep);
  const nowSeconds = Math.floor(deps.clock() / 1000);

  const post = (connectionId: string, payload: string) =>
    postWithRetry(
      {
        sender: deps.sender,
        retry,
        sleep,
        random,
        throttle,
        onFailure: deps.onFailure,
        onRetry: () => stats.retries++,
      },
      connectionId,
      payload,
    );

  const forget = async (connectionId: string) => {
    try {
      await deps.store.delete(connectionId);
    } catch (err) {
      deps.onFailure?.(connectionId, err); // the TTL removes it later
    }
  };

  const deliver = async (r: Recipient): Promise<void> => {
    if (
      r.tokenExpiresAt !== undefined &&
      r.tokenExpiresAt <= nowSeconds &&
      (await deps.store.deleteIfDue(r.connectionId, nowSeconds))
    ) {
      stats.expired++;
      if ((await post(r.connectionId, JSON.stringify(serverMessage.authExpired(deps.clock())))) === 'sent') {
        await deps.sender.close(r.connectionId).catch((err: unknown) => deps.onFailure?.(r.connectionId, err));
      }
      return;
    }
    const outcome = await post(r.connectionId, event.payload);
    if (outcome === 'sent') stats.delivered++;
    else if (outcome === 'failed') stats.failed++;
    else {
      stats.gone++;
      await forget(r.connectionId);
    }
  };

  const inFlight = new Set<Promise<void>>();
  const run = (r: Recipient) => {
    const p: Promise<void> = deliver(r)
      .catch((err: unknown) => {
        stats.failed++;
        deps.onFailure?.(r.connectionId, err);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  try {
    for await (const page of recipientsFor(deps.store, tenantId, event.audience)) {
      for (const r of page) {
        stats.recipients++;
        if (!matchesSubscriptions(r.subscriptions, event.type) || !inAudience(event.audience, r)) {
          stats.filtered++;
          continue;
        }
        while (inFlight.size >= deps.concurrency) await Promise.race(inFlight);
        run(r);
      }
    }
  } finally {
    // Even when reading recipients fails, let started sends finish before reporting.
    await Promise.all(inFlight);
  }
  return stats;
}
