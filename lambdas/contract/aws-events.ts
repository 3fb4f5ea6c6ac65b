/**
 * The parts of the AWS event shapes the handlers read: API Gateway WebSocket events and
 * EventBridge events. The local runtime builds events of exactly these shapes.
 */
import * as z from './zod.js';

const WebSocketRequestContextSchema = z.looseObject({
  connectionId: z.string().check(z.minLength(1)),
  routeKey: z.string(),
  eventType: z.enum(['CONNECT', 'MESSAGE', 'DISCONNECT']),
  domainName: z.optional(z.string()),
  stage: z.optional(z.string()),
  requestId: z.optional(z.string()),
  connectedAt: z.optional(z.number()),
});

export const WebSocketEventSchema = z.looseObject({
  requestContext: WebSocketRequestContextSchema,
  /** Present on `$connect` (API Gateway passes the handshake headers there only). */
  headers: z.nullish(z.record(z.string(), z.optional(z.string()))),
  body: z.nullish(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
});
export type WebSocketEvent = z.infer<typeof WebSocketEventSchema>;

/** What a route handler returns; `body` is the client reply on routes with a route response. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
}

export const EventBridgeEventSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
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
  headers: z.optional(z.record(z.string(), z.string())),
  queryStringParameters: z.optional(z.record(z.string(), z.string())),
  requestContext: z.looseObject({
    requestId: z.optional(z.string()),
    stage: z.optional(z.string()),
    http: z.looseObject({ method: z.string(), path: z.string(), sourceIp: z.optional(z.string()) }),
  }),
  body: z.optional(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
});
export type HttpApiEvent = z.infer<typeof HttpApiEventSchema>;

/** What an HTTP API (payload 2.0) handler returns. */
export interface HttpApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}
