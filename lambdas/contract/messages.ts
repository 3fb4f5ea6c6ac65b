/**
 * Client → server messages (schemas) and server → client control messages (builders).
 * Every control message is `{type, data, timestamp}`; errors carry `data.code` and `data.message`.
 */
import * as z from 'zod';
import { SubscriptionPatternSchema, WellFormedStringSchema } from './catalog.js';
import { MAX_SUBSCRIPTIONS, MAX_TOKEN_LENGTH } from './limits.js';
import { Route } from './routes.js';

// ---------------------------------------------------------------- client → server

export const AuthMessageSchema = z.object({
  action: z.literal(Route.auth),
  token: z.string().min(1, 'must not be empty').max(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`),
});
export const PingMessageSchema = z.object({ action: z.literal(Route.ping) });
export const SubscribeMessageSchema = z.object({
  action: z.literal(Route.subscribe),
  eventTypes: z
    .array(SubscriptionPatternSchema)
    .max(MAX_SUBSCRIPTIONS, `must hold at most ${MAX_SUBSCRIPTIONS} patterns`),
});
export const UnsubscribeMessageSchema = z.object({
  action: z.literal(Route.unsubscribe),
  eventTypes: z
    .array(SubscriptionPatternSchema)
    .max(MAX_SUBSCRIPTIONS, `must hold at most ${MAX_SUBSCRIPTIONS} patterns`),
});
export const ResumeMessageSchema = z.object({
  action: z.literal(Route.resume),
  lastEventId: WellFormedStringSchema.min(1, 'must not be empty').max(512, 'must be at most 512 characters'),
});

export const ClientMessageSchema = z.discriminatedUnion('action', [
  AuthMessageSchema,
  PingMessageSchema,
  SubscribeMessageSchema,
  UnsubscribeMessageSchema,
  ResumeMessageSchema,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type AuthMessage = z.infer<typeof AuthMessageSchema>;
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessageSchema>;
export type ResumeMessage = z.infer<typeof ResumeMessageSchema>;

/** The schema of each action's frame. */
export const ACTION_SCHEMAS = {
  [Route.auth]: AuthMessageSchema,
  [Route.ping]: PingMessageSchema,
  [Route.subscribe]: SubscribeMessageSchema,
  [Route.unsubscribe]: UnsubscribeMessageSchema,
  [Route.resume]: ResumeMessageSchema,
} as const;
