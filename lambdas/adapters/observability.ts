/** Powertools logger and metrics, one of each per process. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export { MetricUnit } from '@aws-lambda-powertools/metrics';

/** Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE. */
export const logger = new Logger({ serviceName: 'tenant-realtime' });
export const metrics = new Metrics({ serviceName: 'tenant-realtime', namespace: 'TenantRealtime' });

/** A short description of an error for logs: name, message and HTTP status; never a payload. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const status =
      (err as { status?: number; $metadata?: { httpStatusCode?: number } }).status ??
      (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return { name: err.name, message: err.message, ...(status ? { status } : {}) };
  }
  return { message: String(err) };
}
