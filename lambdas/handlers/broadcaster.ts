/**
 * EventBridge → every authenticated, subscribed connection of the event's tenant.
 * Rejected events are logged and counted, not retried. When the event cannot be processed at
 * all (storage unreachable) the handler throws: Lambda retries the asynchronous invocation, then
 * its on-failure destination puts the invocation record in the dead-letter queue (events that
 * EventBridge itself could not deliver land in the same queue).
 */
import { clock } from '../adapters/clock.js';
import { connectionStore, eventLog } from '../adapters/dynamodb.js';
import { sender } from '../adapters/management.js';
import { describeError, logger, MetricUnit, metrics } from '../adapters/observability.js';
import { broadcastSettings } from '../adapters/settings.js';
import { BroadcastMetric, REJECT_REASON_DIMENSION } from '../contract/index.js';
import { type BroadcastResult, broadcast } from '../core/broadcast.js';

/** Wall-clock milliseconds with a fraction, comparable across local processes (result `timings`). */
const hrNow = () => performance.timeOrigin + performance.now();

export async function handler(event: unknown): Promise<BroadcastResult> {
  try {
    const result = await broadcast(
      {
        store: connectionStore(),
        log: eventLog(),
        sender: sender(),
        clock,
        now: hrNow,
        ...broadcastSettings(),
        onFailure: (connectionId, error) =>
          logger.warn('delivery failed', { connectionId, error: describeError(error) }),
      },
      event,
    );
    if (result.status === 'rejected') {
      metrics
        .singleMetric()
        .addDimension(REJECT_REASON_DIMENSION, result.reason)
        .addMetric(BroadcastMetric.rejected, MetricUnit.Count, 1);
      logger.warn('event rejected', { reason: result.reason, message: result.message });
    } else {
      const { stats } = result;
      metrics.addMetric(BroadcastMetric.delivered, MetricUnit.Count, stats.delivered);
      metrics.addMetric(BroadcastMetric.gone, MetricUnit.Count, stats.gone);
      metrics.addMetric(BroadcastMetric.expired, MetricUnit.Count, stats.expired);
      metrics.addMetric(BroadcastMetric.failed, MetricUnit.Count, stats.failed);
      metrics.addMetric(BroadcastMetric.closed, MetricUnit.Count, stats.closed);
      metrics.addMetric(BroadcastMetric.broken, MetricUnit.Count, stats.broken);
      metrics.addMetric(BroadcastMetric.filtered, MetricUnit.Count, stats.filtered);
      metrics.addMetric(BroadcastMetric.recipients, MetricUnit.Count, stats.recipients);
      metrics.addMetric(BroadcastMetric.fanoutDuration, MetricUnit.Milliseconds, result.durationMs);
      logger.info('event fanned out', {
        eventId: result.eventId,
        tenantId: result.tenantId,
        type: result.type,
        duplicate: result.duplicate,
        durationMs: result.durationMs,
        ...stats,
      });
    }
    return result;
  } catch (err) {
    metrics.addMetric(BroadcastMetric.processingErrors, MetricUnit.Count, 1);
    logger.error('event could not be processed; EventBridge will retry', { error: describeError(err) });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
