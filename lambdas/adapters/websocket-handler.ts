/**
 * The shared shape of a WebSocket route handler: parse the API Gateway event with the
 * contract's schema, run the route's logic, turn the reply into the route response, and turn an
 * unexpected failure into an `error` reply (logged, never with a token) so the socket stays usable.
 * Every log line carries the Lambda request id (`logger.addContext`), and cold starts are counted
 * (`metrics.captureColdStartMetric`).
 */
import type { Context } from 'aws-lambda';
import {
  ErrorCode,
  type ServerMessage,
  serverMessage,
  type WebSocketEvent,
  WebSocketEventSchema,
  type WebSocketResult,
} from '../contract/index.js';
import { clock } from './clock.js';
import { describeError, logger, metrics } from './observability.js';

export function reply(message: ServerMessage | undefined): WebSocketResult {
  return message === undefined ? { statusCode: 200 } : { statusCode: 200, body: JSON.stringify(message) };
}

export function webSocketHandler(
  logic: (event: WebSocketEvent, context: Context) => Promise<WebSocketResult>,
): (event: unknown, context: Context) => Promise<WebSocketResult> {
  return async (raw, context) => {
    logger.addContext(context);
    metrics.captureColdStartMetric(context.functionName);
    const parsed = WebSocketEventSchema.safeParse(raw);
    if (!parsed.success) {
      logger.error('not an API Gateway WebSocket event');
      return { statusCode: 400 };
    }
    const { connectionId, routeKey } = parsed.data.requestContext;
    logger.appendKeys({ connectionId, routeKey });
    try {
      return await logic(parsed.data, context);
    } catch (err) {
      logger.error('route failed', { error: describeError(err) });
      return reply(
        serverMessage.error(clock(), ErrorCode.internal, 'the server could not process this message; try again'),
      );
    } finally {
      logger.resetKeys();
    }
  };
}
