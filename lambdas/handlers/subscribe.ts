/** `subscribe` and `unsubscribe` (one function, two routes): change the subscription filter. */
import { clock } from '../adapters/clock.js';
import { connectionStore } from '../adapters/dynamodb.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { ErrorCode, Route, serverMessage } from '../contract/index.js';
import { parseAction } from '../core/frames.js';
import { changeSubscriptions } from '../core/session.js';

export const handler = webSocketHandler(async (event) => {
  const mode = event.requestContext.routeKey === Route.unsubscribe ? Route.unsubscribe : Route.subscribe;
  const frame = parseAction(event.body, mode);
  if (!frame.ok) return reply(serverMessage.error(clock(), ErrorCode.badRequest, frame.message));
  const { action: _action, ...change } = frame.message;
  return reply(
    await changeSubscriptions({ store: connectionStore(), clock }, event.requestContext.connectionId, mode, change),
  );
});
