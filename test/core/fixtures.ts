/** JSON fixtures from `test/fixtures/`, read fresh on each call so tests may change them. */
import { readFileSync } from 'node:fs';

export interface EventBridgeFixture {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  [key: string]: unknown;
}

export function eventBridgeFixture(name: 'goal-created' | 'goal-created-with-audience' | 'billing-invoice-paid'): EventBridgeFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/eventbridge/${name}.json`, import.meta.url), 'utf8')) as EventBridgeFixture;
}
