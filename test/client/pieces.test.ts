/** The client's pure pieces: state table, backoff, dedupe window, and the filter it shares with the server. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bin/tools/prng.js';
import { backoff } from '../../client/src/backoff.js';
import { dedupeWindow } from '../../client/src/dedupe.js';
import { type ConnectionState, type StateReason, transition } from '../../client/src/state.js';
import {
  changeFilter,
  matchesSources,
  matchesSubscriptions,
  meetsPriority,
  passesFilter,
} from '../../lambdas/contract/plain.js';
import * as serverMatching from '../../lambdas/core/matching.js';

const STATES: ConnectionState[] = ['idle', 'connecting', 'authenticating', 'connected', 'reconnecting', 'closed'];
const LOST = ['socket_closed', 'going_away', 'timeout', 'auth_error', 'auth_expired', 'token_error', 'server_error'];

describe('state table', () => {
  // Every allowed transition, with its reason; everything else is refused.
  const allowed: Record<string, Partial<Record<ConnectionState, ConnectionState>>> = {
    connect: { idle: 'connecting' },
    retry: { reconnecting: 'connecting' },
    online: { reconnecting: 'connecting' },
    takeover: {
      idle: 'connecting',
      connecting: 'connecting',
      authenticating: 'connecting',
      connected: 'connecting',
      reconnecting: 'connecting',
    },
    open: { connecting: 'authenticating' },
    authenticated: { authenticating: 'connected' },
    rotated: { connected: 'connected' },
    ...Object.fromEntries(
      LOST.map((r) => [
        r,
        { connecting: 'reconnecting', authenticating: 'reconnecting', connected: 'reconnecting' } as const,
      ]),
    ),
    close: {
      idle: 'closed',
      connecting: 'closed',
      authenticating: 'closed',
      connected: 'closed',
      reconnecting: 'closed',
    },
    fatal: {
      idle: 'closed',
      connecting: 'closed',
      authenticating: 'closed',
      connected: 'closed',
      reconnecting: 'closed',
    },
  };
  for (const [reason, from] of Object.entries(allowed)) {
    it(`${reason}: ${Object.entries(from)
      .map(([a, b]) => `${a} → ${b}`)
      .join(', ')}; refused elsewhere`, () => {
      for (const state of STATES) expect(transition(state, reason as StateReason)).toBe(from[state]);
    });
  }

  it('closed is final', () => {
    for (const reason of Object.keys(allowed)) expect(transition('closed', reason as StateReason)).toBeUndefined();
  });
});

describe('backoff', () => {
  it('doubles its cap per step from 500 ms up to 30 s, with a floor of a tenth of the cap', () => {
    const caps = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    caps.forEach((cap, step) => {
      expect(backoff(step, 500, 30_000, () => 0)).toBe(cap / 10);
      expect(backoff(step, 500, 30_000, () => 0.999999)).toBeCloseTo(cap, -1);
      expect(backoff(step, 500, 30_000, () => 0.999999)).toBeLessThanOrEqual(cap);
    });
  });

  it('never overflows for huge steps', () => {
    expect(backoff(10_000, 500, 30_000, () => 0.5)).toBeCloseTo(16_500);
  });

  it('is full jitter: delays spread uniformly over the range', () => {
    const random = mulberry32(7);
    const delays = Array.from({ length: 2000 }, () => backoff(3, 500, 30_000, random));
    const cap = 4000;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(cap / 10);
    expect(Math.min(...delays)).toBeLessThan(cap * 0.15);
    expect(Math.max(...delays)).toBeLessThanOrEqual(cap);
    expect(Math.max(...delays)).toBeGreaterThan(cap * 0.95);
    // Each tenth of the jitter range holds about a tenth of the draws.
    const buckets = new Array(10).fill(0);
    for (const d of delays) buckets[Math.min(9, Math.floor(((d - 400) / 3600) * 10))]++;
    for (const b of buckets) expect(b).toBeGreaterThan(140);
  });
});

describe('dedupe window', () => {
  it('answers true for an id it holds, and forgets the oldest beyond its size', () => {
    const seen = dedupeWindow(3);
    expect(['a', 'b', 'c'].map(seen)).toEqual([false, false, false]);
    expect(seen('a')).toBe(true);
    expect(seen('d')).toBe(false); // evicts a
    expect(seen('a')).toBe(false); // forgotten, so new again (evicts b)
    expect(seen('c')).toBe(true);
    expect(seen('b')).toBe(false);
  });

  it('stays bounded', () => {
    const seen = dedupeWindow(1000);
    for (let i = 0; i < 100_000; i++) seen(`evt_${i}`);
    expect(seen('evt_99000')).toBe(true);
    expect(seen('evt_98999')).toBe(false);
  });
});

describe('the filter (lambdas/contract/filter.ts: the SDK bundles it, the server re-exports it)', () => {
  it('is one implementation: the server matches with the very functions the SDK runs', () => {
    expect(serverMatching.matchesSubscriptions).toBe(matchesSubscriptions);
    expect(serverMatching.matchesSources).toBe(matchesSources);
    expect(serverMatching.meetsPriority).toBe(meetsPriority);
    expect(serverMatching.changeFilter).toBe(changeFilter);
  });

  it('patterns: exact types and `prefix.*` below the prefix; an empty set matches every type', () => {
    const sets = [[], ['goal.created'], ['goal.*'], ['goal.*', 'action.created'], ['billing.invoice.*']];
    const types = ['goal.created', 'goal.step.done', 'goals.created', 'action.created', 'billing.invoice.paid', 'x.y'];
    const expected = [
      [true, true, true, true, true, true],
      [true, false, false, false, false, false],
      [true, true, false, false, false, false],
      [true, true, false, true, false, false],
      [false, false, false, false, true, false],
    ];
    expect(sets.map((set) => types.map((type) => matchesSubscriptions(set, type)))).toEqual(expected);
  });

  it('sources match exactly; none (or an empty set) means every source; an event without one passes only then', () => {
    expect(matchesSources([], 'app.billing')).toBe(true);
    expect(matchesSources(undefined, undefined)).toBe(true);
    expect(matchesSources(['app.billing'], 'app.billing')).toBe(true);
    expect(matchesSources(['app.billing'], 'app.billing.eu')).toBe(false);
    expect(matchesSources(['app.billing'], 'App.Billing')).toBe(false);
    expect(matchesSources(['app.billing'], undefined)).toBe(false);
  });

  it('priority: at least the floor; an event without one is `normal`, a filter without one is `low`', () => {
    expect(meetsPriority('high', 'critical')).toBe(true);
    expect(meetsPriority('high', 'high')).toBe(true);
    expect(meetsPriority('high', 'normal')).toBe(false);
    expect(meetsPriority('normal', undefined)).toBe(true);
    expect(meetsPriority('high', undefined)).toBe(false);
    expect(meetsPriority(undefined, 'low')).toBe(true);
  });

  it('an event passes when its type, source and priority all do', () => {
    const f = { eventTypes: ['goal.*'], sources: ['app.goals'], minPriority: 'high' } as const;
    expect(passesFilter(f, { type: 'goal.created', source: 'app.goals', priority: 'critical' })).toBe(true);
    expect(passesFilter(f, { type: 'action.created', source: 'app.goals', priority: 'critical' })).toBe(false);
    expect(passesFilter(f, { type: 'goal.created', source: 'app.other', priority: 'critical' })).toBe(false);
    expect(passesFilter(f, { type: 'goal.created', source: 'app.goals', priority: 'normal' })).toBe(false);
    expect(passesFilter(f, { type: 'goal.created', source: 'app.goals' })).toBe(false);
    expect(passesFilter({}, { type: 'x.y' })).toBe(true);
  });

  it('subscribe adds types and sources, unsubscribe removes them; a given minPriority replaces the floor in either', () => {
    const none = changeFilter({}, true, {});
    expect(none).toEqual({ eventTypes: [], sources: [], minPriority: 'low' });
    const a = changeFilter(none, true, { eventTypes: ['goal.*', 'goal.*'], sources: ['s1'], minPriority: 'high' });
    expect(a).toEqual({ eventTypes: ['goal.*'], sources: ['s1'], minPriority: 'high' });
    const b = changeFilter(a, true, { sources: ['s2', 's1'] });
    expect(b).toEqual({ eventTypes: ['goal.*'], sources: ['s1', 's2'], minPriority: 'high' });
    const c = changeFilter(b, false, { sources: ['s1'], minPriority: 'normal' });
    expect(c).toEqual({ eventTypes: ['goal.*'], sources: ['s2'], minPriority: 'normal' });
    expect(changeFilter(c, false, { eventTypes: ['goal.*', 'nope'] })).toEqual({
      eventTypes: [],
      sources: ['s2'],
      minPriority: 'normal',
    });
    expect(a.eventTypes).toEqual(['goal.*']); // a new filter each time: the old one is untouched
  });
});
