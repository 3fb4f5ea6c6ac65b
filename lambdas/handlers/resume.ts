/** `resume`: replay the tenant's events logged after `lastEventId`, then `resume.success`. */
import { clock } from '../adapters/clock.js';
import { connectionStore, eventLog } from '../adapters/dynamodb.js';
import { sender } from '../adapters/management.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { ErrorCode, MAX_REPLAY_EVENTS, Route, serverMessage } from '../contract/index.js';
import { parseAction } from '../core/frames.js';
import { resume } from '../core/session.js';

export const handler = webSocketHandler(async (event) => {
  const frame = parseAction(event.body, Route.resume);
  if (!frame.ok) return reply(serverMessage.error(clock(), ErrorCode.badRequest, frame.message));
  const deps = { store: connectionStore(), log: eventLog(), sender: sender(), clock, maxReplay: MAX_REPLAY_EVENTS };
  return reply(await resume(deps, event.requestContext.connectionId, frame.message.lastEventId));
});
