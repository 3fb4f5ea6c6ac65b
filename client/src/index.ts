/**
 * `@tenant-realtime/client`: one shared connection to a tenant-realtime backend with auth,
 * token refresh, reconnect, resume, dedupe and make-before-break rotation. No dependencies.
 */
export type {
  AuthErrorCodeName,
  BaseDetail,
  Envelope,
  ErrorCodeName,
  EventDetailMap,
  KnownEventType,
  ResumeErrorCodeName,
} from '../../lambdas/contract/plain.js';
export { createRealtimeClient } from './client.js';
export { type ClientErrorCode, RealtimeError, type RealtimeErrorCode } from './errors.js';
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
} from './types.js';
