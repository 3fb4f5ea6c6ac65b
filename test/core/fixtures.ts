/** JSON fixtures from `test/fixtures/`, read fresh on each call so tests may change them. */
import { readFileSync } from 'node:fs';
import type { LocalEventBridgeEvent } from '../../bin/local/eventbridge.js';

/** An EventBridge event as a rule target receives it (the local runtime builds the same shape). */
export type EventBridgeFixture = LocalEventBridgeEvent & { [key: string]: unknown };

export function eventBridgeFixture(
  name: 'goal-created' | 'goal-created-with-audience' | 'billing-invoice-paid',
): EventBridgeFixture {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/eventbridge/${name}.json`, import.meta.url), 'utf8'),
  ) as EventBridgeFixture;
}
