/** Scheduled sweeper: closes pending connections past their deadline and expired sessions. */
import { clock, connectionStore, sender } from '../adapters/deps.js';
import { logger } from '../adapters/observability.js';
import { sweep, type SweepStats } from '../core/sweep.js';

export async function handler(): Promise<SweepStats> {
  const stats = await sweep({ store: connectionStore(), sender: sender(), clock });
  if (stats.timedOut + stats.expired > 0) logger.info('sweep', { ...stats });
  return stats;
}
