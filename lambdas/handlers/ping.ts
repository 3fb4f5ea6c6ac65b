/** `ping`: the application keep-alive (API Gateway ignores protocol ping frames). */
import { clock } from '../adapters/clock.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { serverMessage } from '../contract/index.js';

export const handler = webSocketHandler(async () => reply(serverMessage.pong(clock())));
