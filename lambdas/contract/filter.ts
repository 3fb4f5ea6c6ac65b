/**
 * The subscription filter's pure logic, zod-free: the server (lambdas/core/matching.ts
 * re-exports it) and the client SDK (through plain.ts) run these same functions, so an event
 * passes or fails alike on both sides.
 */
import {
  DEFAULT_PRIORITY,
  LOWEST_PRIORITY,
  type Priority,
  priorityRank,
  type SubscriptionFilter,
} from './event-types.js';

/** A filter with any part absent (a connection record, an option set), or a change to one. */
export type FilterParts = {
  readonly [K in keyof SubscriptionFilter]?: Readonly<SubscriptionFilter[K]> | undefined;
};

/** True when `type` matches one of the patterns; an empty or absent set matches everything. */
export function matchesSubscriptions(patterns: readonly string[] | undefined, type: string): boolean {
  return !patterns?.length || patterns.some((p) => (p.endsWith('.*') ? type.startsWith(p.slice(0, -1)) : p === type));
}

/** True when `source` is one of `sources`; an empty or absent set matches every source. */
export function matchesSources(sources: readonly string[] | undefined, source: string | undefined): boolean {
  return !sources?.length || sources.includes(source as string); // `undefined` is none of them
}

/**
 * True when `priority` (absent: `normal`, the default of an event that names none) is at least
 * `minPriority` (absent: `low`, every priority).
 */
export function meetsPriority(minPriority: Priority | undefined, priority: Priority | undefined): boolean {
  return priorityRank(priority ?? DEFAULT_PRIORITY) >= priorityRank(minPriority ?? LOWEST_PRIORITY);
}

/** Whether an event (its type, source and priority) passes the filter; audiences are the server's (`delivers`). */
export function passesFilter(
  filter: FilterParts,
  event: { type: string; source?: string | undefined; priority?: Priority | undefined },
): boolean {
  return (
    matchesSubscriptions(filter.eventTypes, event.type) &&
    matchesSources(filter.sources, event.source) &&
    meetsPriority(filter.minPriority, event.priority)
  );
}

/** Union of two pattern (or source) sets, keeping first-seen order. */
export function addPatterns(current: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...current, ...added])];
}

/** `current` without `removed`. */
export function removePatterns(current: readonly string[], removed: readonly string[]): string[] {
  return current.filter((p) => !removed.includes(p));
}

/**
 * `subscribe` (`add`) or `unsubscribe` applied to a filter: `eventTypes` and `sources` are added
 * or removed, `minPriority` (when given) replaces the floor in either; absent parts of `current`
 * are empty (`low` for the floor). The complete filter after the change.
 */
export function changeFilter(current: FilterParts, add: boolean, change: FilterParts): SubscriptionFilter {
  const edit = add ? addPatterns : removePatterns;
  return {
    eventTypes: edit(current.eventTypes ?? [], change.eventTypes ?? []),
    sources: edit(current.sources ?? [], change.sources ?? []),
    minPriority: change.minPriority ?? current.minPriority ?? LOWEST_PRIORITY,
  };
}
