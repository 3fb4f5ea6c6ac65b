/**
 * The event catalog's plain half: type names, the dot-notation and subscription patterns, and the
 * detail shape of each known type as TypeScript types. Imports nothing (no zod), so the client
 * SDK types `onEvent('goal.created', (e) => e.data.goalId)` from it; `catalog.ts` builds the zod
 * schemas that validate the same shapes, and a type test keeps the two in step.
 */

/**
 * Dot notation: two or more segments of letters, digits, `_` or `-`, each starting with a letter,
 * e.g. `goal.created`, `billing.invoice.paid`.
 */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)+$/;

/**
 * A subscription pattern: an exact event type, or a prefix followed by `.*`
 * (`goal.*` matches `goal.created` and `goal.step.done`).
 */
export const SUBSCRIPTION_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*(\.\*)?$/;

/** Reserved detail key: targets a subset of the tenant. Removed from the envelope's data. */
export const AUDIENCE_KEY = 'audience';

/**
 * Reserved detail key: the event's priority, one of `PRIORITIES` (default `DEFAULT_PRIORITY`).
 * Removed from the envelope's data and carried as the envelope's `priority`; any other value
 * rejects the event (`invalid_priority`).
 */
export const PRIORITY_KEY = 'priority';

/** Event priorities, lowest first: an event passes a `minPriority` at or below its own. */
export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The priority of an event that names none (and of a logged event from before priorities). */
export const DEFAULT_PRIORITY: Priority = 'normal';

/** The floor of a filter that names none: every priority passes. */
export const LOWEST_PRIORITY: Priority = 'low';

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}

/** 0 for `low` … 3 for `critical`. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

/**
 * What a connection (or a `GET /events` caller) receives. An event passes when its type matches
 * one of `eventTypes` (empty: any), its `source` is one of `sources` (empty: any) and its
 * priority is at least `minPriority`.
 */
export type SubscriptionFilter = {
  eventTypes: string[];
  /** Exact EventBridge `source` values. */
  sources: string[];
  minPriority: Priority;
};

/** Fields every event's data has (the domain's own fields come beside them). */
export interface BaseDetail {
  tenantId: string;
  [field: string]: unknown;
}
export interface GoalDetail extends BaseDetail {
  goalId: string;
}
export interface ActionDetail extends BaseDetail {
  actionId: string;
}
export interface IssueDetail extends BaseDetail {
  issueId: string;
}

/** Every known event type and the shape of its data. Field names are camelCase. */
export interface EventDetailMap {
  'goal.created': GoalDetail;
  'goal.updated': GoalDetail;
  'goal.activated': GoalDetail;
  'goal.completed': GoalDetail;
  'action.created': ActionDetail;
  'action.updated': ActionDetail;
  'action.completed': ActionDetail;
  'issue.created': IssueDetail;
  'issue.updated': IssueDetail;
  'issue.resolved': IssueDetail;
}
export type KnownEventType = keyof EventDetailMap;
