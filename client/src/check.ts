/** The checks of a subscription filter, or of a change to one, that the client makes before sending it. */
import {
  ErrorCode,
  type FilterParts,
  LOWEST_PRIORITY,
  MAX_FILTER_SOURCES,
  MAX_SOURCE_LENGTH,
  MAX_SUBSCRIPTIONS,
  PRIORITIES,
  priorityRank,
  SUBSCRIPTION_PATTERN,
} from '../../lambdas/contract/plain.js';
import { RealtimeError } from './errors.js';

/** Throws `bad_request` naming the option (or argument) unless `ok`. */
function need(ok: unknown, part: string, what: string, value: unknown): void {
  if (!ok) throw new RealtimeError(ErrorCode.badRequest, `${part} must be ${what}, got ${JSON.stringify(value)}`);
}

/** An array of at most `cap` strings, each `ok`. */
const strings = (value: unknown, cap: number, ok: (s: string) => boolean) =>
  Array.isArray(value) && value.length <= cap && value.every((s) => typeof s === 'string' && ok(s));

/** Checks a filter, or a change to one, as the server would (its caps too). */
export function check({ eventTypes = [], sources = [], minPriority = LOWEST_PRIORITY }: FilterParts): void {
  need(
    strings(eventTypes, MAX_SUBSCRIPTIONS, (p) => SUBSCRIPTION_PATTERN.test(p)),
    'eventTypes',
    `at most ${MAX_SUBSCRIPTIONS} event types or "prefix.*" patterns`,
    eventTypes,
  );
  need(
    strings(sources, MAX_FILTER_SOURCES, (s) => s.length > 0 && s.length <= MAX_SOURCE_LENGTH),
    'sources',
    `at most ${MAX_FILTER_SOURCES} strings of 1 to ${MAX_SOURCE_LENGTH} characters`,
    sources,
  );
  need(priorityRank(minPriority) >= 0, 'minPriority', `one of ${PRIORITIES.join(', ')}`, minPriority);
}
