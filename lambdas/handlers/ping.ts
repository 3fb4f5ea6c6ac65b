/** `ping`: the application keep-alive (API Gateway ignores protocol ping frames). */
import { clock } from '../adapters/clock.js';
import { connectionStore } from '../adapters/dynamodb.js';
import { reply, webSocketHandler } from '../adapters/websocket-handler.js';
import { ping } from '../core/session.js';

export const handler = webSocketHandler(async (event) =>
  reply(await ping({ store: connectionStore(), clock }, event.requestContext.connectionId)),
);
