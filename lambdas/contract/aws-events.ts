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

/**
 * API Gateway HTTP API, payload format 2.0: header names are lowercased and repeated headers or
 * query parameters are comma-joined; `queryStringParameters` is absent without a query string.
 */
export const HttpApiEventSchema = z.looseObject({
  version: z.literal('2.0'),
  /** `GET /events`, or `$default`. */
  routeKey: z.string(),
  rawPath: z.string(),
  rawQueryString: z.string(),
  headers: z.record(z.string(), z.string()).optional(),
  queryStringParameters: z.record(z.string(), z.string()).optional(),
  requestContext: z.looseObject({
    requestId: z.string().optional(),
    stage: z.string().optional(),
    http: z.looseObject({ method: z.string(), path: z.string(), sourceIp: z.string().optional() }),
  }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});
export type HttpApiEvent = z.infer<typeof HttpApiEventSchema>;

/** What an HTTP API (payload 2.0) handler returns. */
export interface HttpApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}
