import { describe, expect, it } from 'vitest';
import { addPatterns, inAudience, matchesSubscriptions, removePatterns } from '../../lambdas/core/matching.js';

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
