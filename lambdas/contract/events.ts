/** The EventBridge side of the contract: the rule pattern domain events must match. */
import { ConnectionAttr } from './tables.js';

export interface EventPattern {
  source?: string[];
  detail: Record<string, unknown>;
}

/**
 * The broadcaster rule: any event whose detail has a `tenantId` (type checked by the
 * broadcaster), optionally only from the given sources.
 */
export function broadcastEventPattern(sources?: readonly string[]): EventPattern {
  const pattern: EventPattern = { detail: { [ConnectionAttr.tenantId]: [{ exists: true }] } };
  if (sources && sources.length > 0) pattern.source = [...sources];
  return pattern;
}

/** EventBridge's limit on one PutEvents entry. */
export const MAX_PUT_EVENTS_ENTRY_BYTES = 256 * 1024;
/** EventBridge's limit on entries per PutEvents call. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
