/**
 * The parts of the AWS event shapes the handlers read: API Gateway WebSocket events and
 * EventBridge events. The local runtime builds events of exactly these shapes.
 */
import * as z from 'zod';

const WebSocketRequestContextSchema = z.looseObject({
  connectionId: z.string().min(1),
  routeKey: z.string(),
  eventType: z.enum(['CONNECT', 'MESSAGE', 'DISCONNECT']),
  domainName: z.string().optional(),
  stage: z.string().optional(),
  requestId: z.string().optional(),
  connectedAt: z.number().optional(),
});

export const WebSocketEventSchema = z.looseObject({
  requestContext: WebSocketRequestContextSchema,
  /** Present on `$connect` (API Gateway passes the handshake headers there only). */
  headers: z.record(z.string(), z.string().optional()).nullish(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
});
export type WebSocketEvent = z.infer<typeof WebSocketEventSchema>;

/** What a route handler returns; `body` is the client reply on routes with a route response. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
}

export const EventBridgeEventSchema = z.looseObject({
  id: z.string().min(1),
  'detail-type': z.string(),
  source: z.string(),
  time: z.string(),
  detail: z.unknown(),
});
