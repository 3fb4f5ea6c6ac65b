/**
 * Client → server messages: the schema of each action's frame. The server → client control
 * messages and their builders are in `protocol.ts`.
 */

import { PrioritySchema, SourceSchema, SubscriptionPatternSchema, WellFormedStringSchema } from './catalog.js';
import { MAX_EVENT_ID_BYTES, MAX_FILTER_SOURCES, MAX_SUBSCRIPTIONS, MAX_TOKEN_LENGTH } from './limits.js';
import { Route } from './routes.js';
import * as z from './zod.js';

// ---------------------------------------------------------------- client → server

const AuthMessageSchema = z.object({
  action: z.literal(Route.auth),
  token: z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`),
    ),
});
const PingMessageSchema = z.object({ action: z.literal(Route.ping) });
/**
 * The filter fields of `subscribe` and `unsubscribe`, each optional: `eventTypes` and `sources`
 * are added (subscribe) or removed (unsubscribe); `minPriority` replaces the floor in either.
 */
const filterChange = {
  eventTypes: z.optional(
    z
      .array(SubscriptionPatternSchema)
      .check(z.maxLength(MAX_SUBSCRIPTIONS, `must hold at most ${MAX_SUBSCRIPTIONS} patterns`)),
  ),
  sources: z.optional(
    z.array(SourceSchema).check(z.maxLength(MAX_FILTER_SOURCES, `must hold at most ${MAX_FILTER_SOURCES} sources`)),
  ),
  minPriority: z.optional(PrioritySchema),
};
const SubscribeMessageSchema = z.object({ action: z.literal(Route.subscribe), ...filterChange });
const UnsubscribeMessageSchema = z.object({ action: z.literal(Route.unsubscribe), ...filterChange });
/** What `subscribe` and `unsubscribe` change. */
export type FilterChange = Omit<z.infer<typeof SubscribeMessageSchema>, 'action'>;
const ResumeMessageSchema = z.object({
  action: z.literal(Route.resume),
  // A cheap bound before the byte check in core: a string of more UTF-16 units than
  // MAX_EVENT_ID_BYTES has more UTF-8 bytes than that, too.
  lastEventId: WellFormedStringSchema.check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(MAX_EVENT_ID_BYTES, `must be at most ${MAX_EVENT_ID_BYTES} characters`),
  ),
});

/** The schema of each action's frame. */
export const ACTION_SCHEMAS = {
  [Route.auth]: AuthMessageSchema,
  [Route.ping]: PingMessageSchema,
  [Route.subscribe]: SubscribeMessageSchema,
  [Route.unsubscribe]: UnsubscribeMessageSchema,
  [Route.resume]: ResumeMessageSchema,
} as const;
