/**
 * Scheduled sweeper: closes pending connections past their deadline, expired sessions and
 * connections marked broken; bounded concurrency, on its own management client.
 */
import { clock } from '../adapters/clock.js';
import { connectionStore } from '../adapters/dynamodb.js';
import { sweeperSender } from '../adapters/management.js';
import { describeError, logger } from '../adapters/observability.js';
import { type SweepStats, sweep } from '../core/sweep.js';

export async function handler(): Promise<SweepStats> {
  const stats = await sweep({
    store: connectionStore(),
    sender: sweeperSender(),
    clock,
    onFailure: (connectionId, error) =>
      logger.warn('could not close connection', { connectionId, error: describeError(error) }),
  });
  if (stats.timedOut + stats.expired + stats.broken + stats.failed > 0) logger.info('sweep', { ...stats });
  return stats;
}
