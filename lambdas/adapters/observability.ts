/** Powertools logger and metrics, one of each per process. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/index.js';

export { MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Service name and namespace are the contract's `SERVICE_NAME` and `METRICS_NAMESPACE`, given
 * here as arguments, which take precedence over Powertools' POWERTOOLS_SERVICE_NAME and
 * POWERTOOLS_METRICS_NAMESPACE variables. The stack sets those variables to the same two
 * constants (for anything that reads a function's configuration); the local runtime sets
 * neither, and its handlers log and count under the same names all the same.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ serviceName: SERVICE_NAME, namespace: METRICS_NAMESPACE });

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
