/** `resume`: replay a page of the tenant's events the connection may have missed, then `resume.success`. */
import { clock } from '../adapters/clock.js';
import { connectionStore, eventLog } from '../adapters/dynamodb.js';
import { sender } from '../adapters/management.js';
import { describeError, logger } from '../adapters/observability.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { ErrorCode, MAX_REPLAY_EVENTS, Route, serverMessage } from '../contract/index.js';
import { parseAction } from '../core/frames.js';
import { resume } from '../core/replay.js';

export const handler = webSocketHandler(async (event) => {
  const frame = parseAction(event.body, Route.resume);
  if (!frame.ok) return reply(serverMessage.error(clock(), ErrorCode.badRequest, frame.message));
  const deps = {
    store: connectionStore(),
    log: eventLog(),
    sender: sender(),
    clock,
    maxReplay: MAX_REPLAY_EVENTS,
    onFailure: (connectionId: string, error: unknown) =>
      logger.warn('replay delivery failed', { connectionId, error: describeError(error) }),
  };
  return reply(await resume(deps, event.requestContext.connectionId, frame.message.lastEventId));
});
