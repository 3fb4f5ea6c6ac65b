/**
 * Who gets an event: the subscription filter (event types, sources, minimum priority) and
 * audience targeting. `delivers` is the one decision fan-out, resume replay and `GET /events`
 * all make.
 */
import {
  type Audience,
  type ConnectionRecord,
  changeFilter,
  type Envelope,
  type Priority,
  passesFilter,
  type SubscriptionFilter,
} from '../contract/index.js';

// The filter's pure parts live in the zod-free contract (lambdas/contract/filter.ts), which the
// client SDK runs too: one implementation on both sides.
export {
  addPatterns,
  changeFilter,
  matchesSources,
  matchesSubscriptions,
  meetsPriority,
  removePatterns,
} from '../contract/index.js';

/**
 * True when the recipient is in the audience: listed by user id, or holding one of the roles.
 * No audience means the whole tenant; an audience that lists no one matches no one.
 */
export function inAudience(
  audience: Audience | undefined,
  recipient: { userId?: string | undefined; roles?: readonly string[] | undefined },
): boolean {
  if (audience === undefined) return true;
  const userIds = audience.userIds ?? [];
  const roles = audience.roles ?? [];
  if (recipient.userId !== undefined && userIds.includes(recipient.userId)) return true;
  return (recipient.roles ?? []).some((r) => roles.includes(r));
}

/** A recipient as the three delivery paths know it: its filter (each part optional) and identity. */
export interface MatchTarget {
  /** Event type patterns (the connection record's `subscriptions`). */
  eventTypes?: readonly string[] | undefined;
  sources?: readonly string[] | undefined;
  minPriority?: Priority | undefined;
  userId?: string | undefined;
  roles?: readonly string[] | undefined;
}

/** What the filter is matched against: the envelope's fields and the event's audience. */
export interface MatchEvent {
  type: string;
  source?: string | undefined;
  priority?: Priority | undefined;
  audience?: Audience | undefined;
}

/** Whether `event` goes to `target`: its filter passes (type, source, priority) and it is in the audience. */
export function delivers(target: MatchTarget, event: MatchEvent): boolean {
  return passesFilter(target, event) && inAudience(event.audience, target);
}

/** A connection record (or fan-out recipient) as a target: its `subscriptions` are the event types. */
export function connectionTarget(
  r: Pick<ConnectionRecord, 'subscriptions' | 'sources' | 'minPriority' | 'userId' | 'roles'>,
): MatchTarget {
  return {
    eventTypes: r.subscriptions,
    sources: r.sources,
    minPriority: r.minPriority,
    userId: r.userId,
    roles: r.roles,
  };
}

/** A logged (or live) event as matched: the envelope's type, source and priority, and its audience. */
export function eventOf(envelope: Pick<Envelope, 'type' | 'source' | 'priority'>, audience?: Audience): MatchEvent {
  return { type: envelope.type, source: envelope.source, priority: envelope.priority, audience };
}

/** The complete filter a reply reports (`subscribe.success`): absent parts filled in, arrays copied. */
export function fullFilter(target: Pick<MatchTarget, 'eventTypes' | 'sources' | 'minPriority'>): SubscriptionFilter {
  return changeFilter(target, true, {});
}
