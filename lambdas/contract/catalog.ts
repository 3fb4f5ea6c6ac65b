/**
 * The event catalog: every event type the platform knows, with a zod schema for its detail.
 *
 * Unknown dot-notation types are still delivered (the catalog documents, it does not gate);
 * a known type whose detail fails its schema is rejected by the broadcaster.
 */

import {
  AUDIENCE_KEY,
  type BaseDetail,
  EVENT_TYPE_PATTERN,
  type EventDetailMap,
  type KnownEventType,
  PRIORITIES,
  PRIORITY_KEY,
  SUBSCRIPTION_PATTERN,
} from './event-types.js';
import { MAX_EVENT_TYPE_LENGTH, MAX_SOURCE_LENGTH, MAX_TENANT_ID_LENGTH, MAX_USER_ID_LENGTH } from './limits.js';
import * as z from './zod.js';

/**
 * A string of well-formed Unicode: no lone surrogate. Ids are compared as JavaScript strings but
 * stored as UTF-8, where an unpaired surrogate becomes U+FFFD: "t\udfff" and "t\ufffd" would be
 * two tenants here and one partition in DynamoDB. Every id, role and type goes through this.
 */
export const WellFormedStringSchema = z
  .string()
  .check(z.refine((s) => s.isWellFormed(), 'must be well-formed Unicode (no unpaired surrogate)'));

/** A tenant id: 1–256 characters, no `#` (our key separator) and no control characters. */
export const TenantIdSchema = WellFormedStringSchema.check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_TENANT_ID_LENGTH, `must be at most ${MAX_TENANT_ID_LENGTH} characters`),
  z.regex(/^[^#\p{Cc}]+$/u, 'must not contain "#" or control characters'),
);

/** A user id (`sub`): same character rules as a tenant id. */
export const UserIdSchema = WellFormedStringSchema.check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_USER_ID_LENGTH, `must be at most ${MAX_USER_ID_LENGTH} characters`),
  z.regex(/^[^#\p{Cc}]+$/u, 'must not contain "#" or control characters'),
);

/** A role (token claim `roles`, `audience.roles`). */
export const RoleSchema = WellFormedStringSchema;

export const EventTypeSchema = WellFormedStringSchema.check(
  z.maxLength(MAX_EVENT_TYPE_LENGTH, `must be at most ${MAX_EVENT_TYPE_LENGTH} characters`),
  z.regex(EVENT_TYPE_PATTERN, 'must be dot notation, e.g. "goal.created"'),
);

export const AudienceSchema = z
  .strictObject({
    userIds: z.optional(z.array(WellFormedStringSchema.check(z.minLength(1))).check(z.maxLength(1000))),
    roles: z.optional(z.array(RoleSchema.check(z.minLength(1))).check(z.maxLength(100))),
  })
  // Fail closed: an audience that names no one is a producer bug, not "everyone".
  .check(
    z.refine(
      (a) => (a.userIds?.length ?? 0) + (a.roles?.length ?? 0) > 0,
      'must list at least one user id or role (omit audience to reach the whole tenant)',
    ),
  );
export type Audience = z.infer<typeof AudienceSchema>;

/** `detail.priority`: one of `PRIORITIES`. */
export const PrioritySchema = z.enum(PRIORITIES, {
  error: () => `must be one of ${PRIORITIES.map((p) => `"${p}"`).join(', ')}`,
});

/** An EventBridge `source`, matched exactly: 1–256 characters of well-formed Unicode. */
export const SourceSchema = WellFormedStringSchema.check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_SOURCE_LENGTH, `must be at most ${MAX_SOURCE_LENGTH} characters`),
);

/** Every detail is a JSON object with a tenant id; other fields are the domain's own. */
export const BaseDetailSchema = z.looseObject({
  tenantId: TenantIdSchema,
  [AUDIENCE_KEY]: z.optional(AudienceSchema),
  [PRIORITY_KEY]: z.optional(PrioritySchema),
});

const id = z.string().check(z.minLength(1));
const goalDetail = z.extend(BaseDetailSchema, { goalId: id });
const actionDetail = z.extend(BaseDetailSchema, { actionId: id });
const issueDetail = z.extend(BaseDetailSchema, { issueId: id });

/** Known event types and the schema of their detail. Field names are camelCase. */
export const EVENT_CATALOG = {
  'goal.created': goalDetail,
  'goal.updated': goalDetail,
  'goal.activated': goalDetail,
  'goal.completed': goalDetail,
  'action.created': actionDetail,
  'action.updated': actionDetail,
  'action.completed': actionDetail,
  'issue.created': issueDetail,
  'issue.updated': issueDetail,
  'issue.resolved': issueDetail,
} as const satisfies { [K in KnownEventType]: z.ZodMiniType<EventDetailMap[K]> };

/** Compile-time check that the plain detail types and the schemas describe the same fields. */
type SchemaDetail<K extends KnownEventType> = Omit<
  z.infer<(typeof EVENT_CATALOG)[K]>,
  typeof AUDIENCE_KEY | typeof PRIORITY_KEY
>;
export type CatalogMatchesEventTypes = {
  [K in KnownEventType]: SchemaDetail<K> extends EventDetailMap[K] ? (BaseDetail extends object ? true : never) : never;
};

export function isKnownEventType(type: string): type is KnownEventType {
  return Object.hasOwn(EVENT_CATALOG, type);
}

/** The detail schema for a type: the catalog's for known types, the base schema otherwise. */
export function detailSchemaFor(type: string): z.ZodMiniType<z.infer<typeof BaseDetailSchema>> {
  return isKnownEventType(type) ? EVENT_CATALOG[type] : BaseDetailSchema;
}

export const SubscriptionPatternSchema = z.string().check(
  z.maxLength(MAX_EVENT_TYPE_LENGTH, `must be at most ${MAX_EVENT_TYPE_LENGTH} characters`),
  z.regex(SUBSCRIPTION_PATTERN, 'must be an event type ("goal.created") or a prefix wildcard ("goal.*")'),
  z.refine((p) => p.includes('.'), 'must be an event type ("goal.created") or a prefix wildcard ("goal.*")'),
);
