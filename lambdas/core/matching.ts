/** Who gets an event: subscription patterns and audience targeting. */
import type { Audience } from '../contract/index.js';

/** True when `type` matches one of the patterns; an empty or absent set matches everything. */
export function matchesSubscriptions(patterns: readonly string[] | undefined, type: string): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((p) => (p.endsWith('.*') ? type.startsWith(p.slice(0, -1)) : p === type));
}

/**
 * True when the recipient is in the audience: listed by user id, or holding one of the roles.
 * No audience means the whole tenant; an audience that lists no one matches no one.
 */
export function inAudience(
  audience: Audience | undefined,
  recipient: { userId?: string; roles?: readonly string[] },
): boolean {
  if (audience === undefined) return true;
  const userIds = audience.userIds ?? [];
  const roles = audience.roles ?? [];
  if (recipient.userId !== undefined && userIds.includes(recipient.userId)) return true;
  return (recipient.roles ?? []).some((r) => roles.includes(r));
}

/** Union of two pattern sets, keeping first-seen order. */
export function addPatterns(current: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...current, ...added])];
}

/** `current` without `removed`. */
export function removePatterns(current: readonly string[], removed: readonly string[]): string[] {
  const drop = new Set(removed);
  return current.filter((p) => !drop.has(p));
}
