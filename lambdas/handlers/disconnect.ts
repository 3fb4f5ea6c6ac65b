/** `$disconnect`: delete the record. Best-effort on AWS; TTL and 410 handling cover the rest. */
import { connectionStore } from '../adapters/dynamodb.js';
import { webSocketHandler } from '../adapters/websocket-handler.js';

export const handler = webSocketHandler(async (event) => {
  await connectionStore().delete(event.requestContext.connectionId);
  return { statusCode: 200 };
});
