/** `auth`: verify the JWT and authenticate (or refresh) the connection. Never logs the token. */
import { verifier } from '../adapters/auth.js';
import { clock } from '../adapters/clock.js';
import { connectionStore, eventLog } from '../adapters/dynamodb.js';
import { logger } from '../adapters/observability.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { AuthErrorCode, Route, ServerMessageType, serverMessage } from '../contract/index.js';
import { parseAction } from '../core/frames.js';
import { authenticate } from '../core/session.js';

export const handler = webSocketHandler(async (event) => {
  const frame = parseAction(event.body, Route.auth);
  if (!frame.ok) {
    logger.info('auth refused', { code: AuthErrorCode.invalidToken, reason: 'malformed auth message' });
    return reply(serverMessage.authError(clock(), AuthErrorCode.invalidToken, frame.message));
  }
  const result = await authenticate(
    { store: connectionStore(), log: eventLog(), verifier: verifier(), clock },
    event.requestContext.connectionId,
    frame.message.token,
  );
  if (result.type === ServerMessageType.authSuccess) logger.info('authenticated', { tenantId: result.data.tenantId });
  else logger.info('auth refused', { code: result.data.code });
  return reply(result);
});
