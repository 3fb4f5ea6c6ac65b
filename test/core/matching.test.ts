import { describe, expect, it } from 'vitest';
import { type Audience, PRIORITIES, type Priority } from '../../lambdas/contract/index.js';
import {
  addPatterns,
  connectionTarget,
  delivers,
  eventOf,
  fullFilter,
  inAudience,
  type MatchEvent,
  type MatchTarget,
  matchesSources,
  matchesSubscriptions,
  meetsPriority,
  removePatterns,
} from '../../lambdas/core/matching.js';

describe('matchesSubscriptions', () => {
  it.each([undefined, []])('matches every type when the subscription set is %j', (patterns) => {
    expect(matchesSubscriptions(patterns, 'goal.created')).toBe(true);
    expect(matchesSubscriptions(patterns, 'billing.invoice.paid')).toBe(true);
  });

  it('matches an exact type only by equality', () => {
    const patterns = ['goal.created'];
    expect(matchesSubscriptions(patterns, 'goal.created')).toBe(true);
    expect(matchesSubscriptions(patterns, 'goal.updated')).toBe(false);
    expect(matchesSubscriptions(patterns, 'goal.created.extra')).toBe(false);
    expect(matchesSubscriptions(patterns, 'goal')).toBe(false);
  });

  it.each([
    ['goal.created', true],
    ['goal.step.done', true],
    ['goals.created', false],
    ['goal', false],
    ['subgoal.created', false],
    ['action.created', false],
  ])('goal.* against %s → %s', (type, expected) => {
    expect(matchesSubscriptions(['goal.*'], type)).toBe(expected);
  });

  it('matches a nested prefix wildcard below its prefix only', () => {
    expect(matchesSubscriptions(['billing.invoice.*'], 'billing.invoice.paid')).toBe(true);
    expect(matchesSubscriptions(['billing.invoice.*'], 'billing.invoices.paid')).toBe(false);
    expect(matchesSubscriptions(['billing.invoice.*'], 'billing.invoice')).toBe(false);
  });

  it('matches when any one of several patterns matches', () => {
    const patterns = ['action.created', 'issue.*'];
    expect(matchesSubscriptions(patterns, 'issue.resolved')).toBe(true);
    expect(matchesSubscriptions(patterns, 'action.created')).toBe(true);
    expect(matchesSubscriptions(patterns, 'goal.created')).toBe(false);
  });
});

describe('inAudience', () => {
  const alice = { userId: 'alice', roles: ['editor'] };
  const bob = { userId: 'bob', roles: ['admin', 'viewer'] };
  const nobody = {};

  it('treats no audience as the whole tenant', () => {
    expect(inAudience(undefined, alice)).toBe(true);
    expect(inAudience(undefined, nobody)).toBe(true);
  });

  it.each([{}, { userIds: [] }, { roles: [] }, { userIds: [], roles: [] }])(
    'fails closed: audience %j reaches no one',
    (audience) => {
      expect(inAudience(audience, alice)).toBe(false);
      expect(inAudience(audience, bob)).toBe(false);
      expect(inAudience(audience, nobody)).toBe(false);
    },
  );

  it('targets listed user ids', () => {
    const audience = { userIds: ['alice'] };
    expect(inAudience(audience, alice)).toBe(true);
    expect(inAudience(audience, bob)).toBe(false);
    expect(inAudience(audience, nobody)).toBe(false);
  });

  it('targets holders of any listed role', () => {
    const audience = { roles: ['viewer', 'auditor'] };
    expect(inAudience(audience, bob)).toBe(true);
    expect(inAudience(audience, alice)).toBe(false);
    expect(inAudience(audience, { userId: 'carol' })).toBe(false);
  });

  it('with user ids and roles, includes anyone matching either', () => {
    const audience = { userIds: ['alice'], roles: ['admin'] };
    expect(inAudience(audience, alice)).toBe(true);
    expect(inAudience(audience, bob)).toBe(true);
    expect(inAudience(audience, { userId: 'carol', roles: ['viewer'] })).toBe(false);
  });

  it('with an empty user list but roles, targets by role only', () => {
    const audience = { userIds: [], roles: ['editor'] };
    expect(inAudience(audience, alice)).toBe(true);
    expect(inAudience(audience, bob)).toBe(false);
  });
});

describe('addPatterns / removePatterns', () => {
  it('adds without duplicates, keeping first-seen order', () => {
    expect(addPatterns(['goal.*', 'issue.created'], ['action.*', 'goal.*', 'action.*'])).toEqual([
      'goal.*',
      'issue.created',
      'action.*',
    ]);
  });

  it('removes only the listed patterns (no wildcard expansion)', () => {
    expect(removePatterns(['goal.*', 'goal.created', 'issue.created'], ['goal.*', 'absent.x'])).toEqual([
      'goal.created',
      'issue.created',
    ]);
  });
});

// ---------------------------------------------------------------- the subscription filter

/** `undefined`: the event names no priority / the filter has no floor. */
const PRIORITY_CASES: Array<Priority | undefined> = [undefined, 'low', 'normal', 'high', 'critical'];

/**
 * Written out, not computed: row = the event's priority, column = the filter's `minPriority`,
 * both in PRIORITY_CASES order. An event without priority counts as `normal`; a filter without
 * `minPriority` lets everything through (`low`).
 */
const PRIORITY_TABLE: Record<string, boolean[]> = {
  //          absent  low    normal high   critical
  absent: [true, true, true, false, false],
  low: [true, true, false, false, false],
  normal: [true, true, true, false, false],
  high: [true, true, true, true, false],
  critical: [true, true, true, true, true],
};
const priorityPasses = (event: Priority | undefined, min: Priority | undefined) =>
  PRIORITY_TABLE[event ?? 'absent']![PRIORITY_CASES.indexOf(min)]!;

/** The filter's `sources`, and whether an event from `billing` / without a source passes it. */
const SOURCE_CASES: Array<{ name: string; sources: string[] | undefined; billing: boolean; none: boolean }> = [
  { name: 'absent', sources: undefined, billing: true, none: true },
  { name: 'empty', sources: [], billing: true, none: true },
  { name: 'match', sources: ['crm', 'billing'], billing: true, none: false },
  { name: 'miss', sources: ['crm'], billing: false, none: false },
];
const EVENT_SOURCES = ['billing', undefined] as const;
const sourcePasses = (c: (typeof SOURCE_CASES)[number], source: string | undefined) =>
  source === undefined ? c.none : c.billing;

describe('meetsPriority', () => {
  it('covers the four priorities in order (the table above assumes it)', () => {
    expect([...PRIORITIES]).toEqual(['low', 'normal', 'high', 'critical']);
  });

  const rows = PRIORITY_CASES.flatMap((event) =>
    PRIORITY_CASES.map((min) => [event ?? 'absent', min ?? 'absent', priorityPasses(event, min), event, min] as const),
  );
  it.each(rows)('event %s, minPriority %s: %s', (_e, _m, expected, event, min) => {
    expect(meetsPriority(min, event)).toBe(expected);
  });
});

describe('matchesSources', () => {
  const rows = SOURCE_CASES.flatMap((c) =>
    EVENT_SOURCES.map((source) => [c.name, source ?? '(none)', sourcePasses(c, source), c.sources, source] as const),
  );
  it.each(rows)('sources %s, event source %s: %s', (_n, _s, expected, sources, source) => {
    expect(matchesSources(sources, source)).toBe(expected);
  });

  it('matches exactly: no case folding, prefix, pattern or trimming', () => {
    for (const source of ['Billing', 'bill', 'billing.eu', ' billing', 'billing ', '*'])
      expect(matchesSources(['billing'], source), source).toBe(false);
    expect(matchesSources(['*'], 'billing')).toBe(false);
    expect(matchesSources(['billing.*'], 'billing.eu')).toBe(false);
  });
});

describe('delivers', () => {
  const member = { userId: 'alice', roles: ['ops'] };
  const AUDIENCE_CASES: Array<{ name: string; audience: Audience | undefined; passes: boolean }> = [
    { name: 'none', audience: undefined, passes: true },
    { name: 'in', audience: { roles: ['ops'] }, passes: true },
    { name: 'out', audience: { userIds: ['bob'] }, passes: false },
  ];
  const TYPE_CASES = [
    { name: 'match', eventTypes: ['goal.*'], passes: true },
    { name: 'miss', eventTypes: ['issue.*'], passes: false },
  ];

  // Every combination: 2 types × 4 source sets × 2 event sources × 5 × 5 priorities × 3 audiences.
  const rows = TYPE_CASES.flatMap((t) =>
    SOURCE_CASES.flatMap((s) =>
      EVENT_SOURCES.flatMap((source) =>
        PRIORITY_CASES.flatMap((priority) =>
          PRIORITY_CASES.flatMap((min) =>
            AUDIENCE_CASES.map((a) => {
              const expected = t.passes && sourcePasses(s, source) && priorityPasses(priority, min) && a.passes;
              const target: MatchTarget = { ...member, eventTypes: t.eventTypes, sources: s.sources, minPriority: min };
              const event: MatchEvent = { type: 'goal.created', source, priority, audience: a.audience };
              const label = `type ${t.name}, sources ${s.name}, source ${source ?? '(none)'}, priority ${
                priority ?? 'absent'
              } ≥ ${min ?? 'absent'}, audience ${a.name}`;
              return [label, expected, target, event] as const;
            }),
          ),
        ),
      ),
    ),
  );

  it('enumerates all 1,200 combinations, both outcomes', () => {
    expect(rows).toHaveLength(2 * 4 * 2 * 5 * 5 * 3);
    expect(rows.some(([, expected]) => expected)).toBe(true);
    expect(rows.some(([, expected]) => !expected)).toBe(true);
  });

  it('is the AND of type, source, priority and audience, in every combination', () => {
    const wrong = rows.filter(([, expected, target, event]) => delivers(target, event) !== expected);
    expect(wrong.map(([label, expected]) => `${label}: expected ${expected}`)).toEqual([]);
  });

  it('is the AND of the four parts as the parts themselves decide', () => {
    for (const [label, , target, event] of rows) {
      const parts =
        matchesSubscriptions(target.eventTypes, event.type) &&
        matchesSources(target.sources, event.source) &&
        meetsPriority(target.minPriority, event.priority) &&
        inAudience(event.audience, target);
      expect(delivers(target, event), label).toBe(parts);
    }
  });

  it('an empty target (a connection that never subscribed) gets every event of its audience', () => {
    for (const priority of PRIORITY_CASES)
      for (const source of EVENT_SOURCES) expect(delivers({}, { type: 'any.thing', source, priority })).toBe(true);
    expect(delivers({}, { type: 'any.thing', audience: { userIds: ['bob'] } })).toBe(false);
  });
});

describe('connectionTarget / eventOf / fullFilter', () => {
  it('reads a connection record: subscriptions are the event types, with sources, floor, user and roles', () => {
    const record = {
      connectionId: 'c1',
      tenantId: 't1',
      userId: 'alice',
      roles: ['ops'],
      subscriptions: ['goal.*'],
      sources: ['billing'],
      minPriority: 'high' as const,
    };
    expect(connectionTarget(record)).toEqual({
      eventTypes: ['goal.*'],
      sources: ['billing'],
      minPriority: 'high',
      userId: 'alice',
      roles: ['ops'],
    });
    const target = connectionTarget(record);
    const env = { type: 'goal.created', source: 'billing', priority: 'critical' as const };
    expect(delivers(target, eventOf(env))).toBe(true);
    expect(delivers(target, eventOf({ ...env, priority: 'normal' }))).toBe(false);
    expect(delivers(target, eventOf({ ...env, source: 'crm' }))).toBe(false);
    expect(delivers(target, eventOf(env, { userIds: ['bob'] }))).toBe(false);
  });

  it('reads an envelope of before sources and priorities as a normal event of no source', () => {
    expect(eventOf({ type: 'goal.created' })).toEqual({
      type: 'goal.created',
      source: undefined,
      priority: undefined,
      audience: undefined,
    });
    const old = eventOf({ type: 'goal.created' });
    expect(delivers({ minPriority: 'normal' }, old)).toBe(true);
    expect(delivers({ minPriority: 'high' }, old)).toBe(false);
    expect(delivers({ sources: ['billing'] }, old)).toBe(false);
    expect(delivers({ sources: [] }, old)).toBe(true);
  });

  it('fills in what a filter leaves out: every type, any source, every priority (low)', () => {
    expect(fullFilter({})).toEqual({ eventTypes: [], sources: [], minPriority: 'low' });
    expect(fullFilter({ eventTypes: ['goal.*'], sources: ['crm'], minPriority: 'critical' })).toEqual({
      eventTypes: ['goal.*'],
      sources: ['crm'],
      minPriority: 'critical',
    });
    const types = ['goal.*'];
    const filled = fullFilter({ eventTypes: types });
    filled.eventTypes.push('x.*');
    expect(types).toEqual(['goal.*']); // a copy, not the record's own array
  });
});
