/**
 * `@tenant-realtime/client`: one shared connection to a tenant-realtime backend with auth,
 * token refresh, reconnect, resume, dedupe, make-before-break rotation and an HTTP polling
 * fallback. No dependencies.
 */
export type {
  AuthErrorCodeName,
  BaseDetail,
  Envelope,
  ErrorCodeName,
  EventDetailMap,
  HttpErrorCodeName,
  KnownEventType,
  PresenceResponse,
  PresenceUser,
  Priority,
  ResumeErrorCodeName,
  SubscriptionFilter,
} from '../../lambdas/contract/plain.js';
export { createRealtimeClient } from './client.js';
export { type ClientErrorCode, RealtimeError, type RealtimeErrorCode } from './errors.js';
export type { FetchLike } from './polling.js';
export type { ConnectionState, LostReason, StateReason } from './state.js';
export type { SocketLike, TransportName, WebSocketConstructor } from './transport.js';
export type {
  EventFor,
  EventPattern,
  GapInfo,
  OnlineEventTarget,
  RealtimeClient,
  RealtimeClientOptions,
  RealtimeEventMap,
  StateInfo,
  SubscribeOptions,
} from './types.js';
