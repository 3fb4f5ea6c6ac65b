/** `$default`: frames that selected no route. Explains what was wrong; the socket stays usable. */
import { clock } from '../adapters/clock.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { ErrorCode, serverMessage } from '../contract/index.js';
import { diagnoseFrame } from '../core/frames.js';

export const handler = webSocketHandler(async (event) => {
  const body = event.isBase64Encoded ? undefined : event.body;
  const { problem, message } = event.isBase64Encoded
    ? { problem: ErrorCode.badRequest, message: 'binary frames are not supported: send JSON text' }
    : diagnoseFrame(body);
  return reply(
    serverMessage.error(
      clock(),
      problem === 'unknown_action' ? ErrorCode.unknownAction : ErrorCode.badRequest,
      message,
    ),
  );
});
