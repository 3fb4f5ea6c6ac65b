/** `$connect`: refuse a disallowed Origin (403), otherwise record the connection as pending. */
import { clock } from '../adapters/clock.js';
import { connectionStore } from '../adapters/dynamodb.js';
import { logger } from '../adapters/observability.js';
import { connectSettings } from '../adapters/settings.js';
import { webSocketHandler } from '../adapters/websocket-handler.js';
import { connect } from '../core/session.js';

/** Header lookup is case-insensitive (API Gateway keeps the client's casing). */
function header(headers: Record<string, string | undefined> | null | undefined, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export const handler = webSocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  const verdict = await connect(
    { store: connectionStore(), clock, ...connectSettings() },
    connectionId,
    header(event.headers, 'origin'),
  );
  if (!verdict.accepted) {
    logger.warn('connection refused', { reason: verdict.reason });
    return { statusCode: verdict.statusCode };
  }
  return { statusCode: 200 };
});
