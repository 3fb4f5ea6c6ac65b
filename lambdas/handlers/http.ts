/**
 * The HTTP API (payload format 2.0): `GET /health`, `/events`, `/presence`, `/status`. Verifies
 * the bearer token with the same verifier and configuration as the WebSocket `auth` route.
 * Logs the route, the status and the caller's tenant; never a header, a token or a query string.
 */
import { verifier } from '../adapters/auth.js';
import { clock } from '../adapters/clock.js';
import { connectionStore, eventLog } from '../adapters/dynamodb.js';
import { describeError, logger } from '../adapters/observability.js';
import { httpSettings } from '../adapters/settings.js';
import { HttpApiEventSchema, type HttpApiResult, HttpErrorCode } from '../contract/index.js';
import { type HttpReply, handleHttpRequest } from '../core/http-api.js';

function toResult(reply: HttpReply): HttpApiResult {
  return {
    statusCode: reply.statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...reply.headers },
    body: JSON.stringify(reply.body),
  };
}

/** Header names lowercased (API Gateway already does; a test event may not). */
function lowercased(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
}

export async function handler(raw: unknown): Promise<HttpApiResult> {
  const parsed = HttpApiEventSchema.safeParse(raw);
  if (!parsed.success) {
    logger.error('not an API Gateway HTTP API (payload 2.0) event');
    return toResult({
      statusCode: 400,
      body: { code: HttpErrorCode.badRequest, message: 'not an HTTP API request' },
    });
  }
  const event = parsed.data;
  logger.appendKeys({ routeKey: event.routeKey, requestId: event.requestContext.requestId });
  try {
    const reply = await handleHttpRequest(
      { verifier: verifier(), log: eventLog(), store: connectionStore(), clock, settings: httpSettings() },
      { routeKey: event.routeKey, headers: lowercased(event.headers), query: event.queryStringParameters ?? {} },
    );
    const code = (reply.body as { code?: unknown }).code;
    logger.info('http request', {
      status: reply.statusCode,
      ...(typeof code === 'string' ? { code } : {}),
      ...(reply.tenantId ? { tenantId: reply.tenantId } : {}),
      ...(reply.error === undefined ? {} : { error: describeError(reply.error) }),
    });
    return toResult(reply);
  } catch (err) {
    logger.error('http request failed', { error: describeError(err) });
    return toResult({
      statusCode: 500,
      body: { code: HttpErrorCode.internal, message: 'the server could not answer this request; try again' },
    });
  } finally {
    logger.resetKeys();
  }
}
