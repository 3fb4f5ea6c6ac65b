/**
 * Ill-formed Unicode (a lone surrogate) in an id: "tz\udfff" and "tz\ufffd" are different strings
 * in JavaScript but the same UTF-8 bytes once DynamoDB stores them (an unpaired surrogate encodes
 * as U+FFFD), so two tenants could share a partition. The contract's schemas refuse any tenant id,
 * user id, role, event type or lastEventId that is not well-formed, on the token path and on the
 * bus path alike.
 */
import { describe, expect, it } from 'vitest';
import { prepareEnvelope } from '../../lambdas/core/broadcast.js';
import { AuthError } from '../../lambdas/core/errors.js';
import { parseAction } from '../../lambdas/core/frames.js';
import { identityFromClaims } from '../../lambdas/core/identity.js';
import { FakeClock } from './fakes.js';
import { eventBridgeFixture } from './fixtures.js';

const LONE = ['\ud800', '\udfff', 'a\udc00b', '\ud83d'] as const;
const now = new FakeClock().now;
const claims = { tenantId: 'acme', sub: 'user-1', roles: ['admin'], exp: 1_736_946_000 };

function refusal(input: Record<string, unknown>): AuthError {
  try {
    identityFromClaims(input, 'tenantId');
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
  throw new Error('expected an AuthError, got an identity');
}

describe('well-formed Unicode, token path', () => {
  it.each(LONE)('refuses a tenant claim holding a lone surrogate (%j) as invalid_claims', (bad) => {
    const err = refusal({ ...claims, tenantId: `tz${bad}` });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toContain('tenant claim');
  });

  it.each(LONE)('refuses a sub holding a lone surrogate (%j)', (bad) => {
    expect(refusal({ ...claims, sub: `u${bad}` }).code).toBe('invalid_claims');
  });

  it.each(LONE)('refuses a role holding a lone surrogate (%j)', (bad) => {
    const err = refusal({ ...claims, roles: ['viewer', `adm${bad}`] });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toContain('"roles"');
  });

  it('accepts well-formed text beyond the BMP (a surrogate pair)', () => {
    expect(identityFromClaims({ ...claims, tenantId: 'tz😀', sub: 'u😀', roles: ['r😀'] }, 'tenantId')).toMatchObject({
      tenantId: 'tz😀',
      userId: 'u😀',
      roles: ['r😀'],
    });
  });
});

describe('well-formed Unicode, bus path', () => {
  const withDetail = (detail: Record<string, unknown>, type = 'goal.created') => ({
    ...eventBridgeFixture('goal-created'),
    'detail-type': type,
    detail,
  });
  const reason = (event: unknown) => {
    const prepared = prepareEnvelope(event, now);
    return prepared.ok ? 'accepted' : prepared.reason;
  };

  it.each(LONE)('refuses an event whose tenantId holds a lone surrogate (%j)', (bad) => {
    expect(reason(withDetail({ tenantId: `tz${bad}`, goalId: 'g1' }))).toBe('invalid_tenant');
  });

  it.each(LONE)('refuses an audience naming a user id or role with a lone surrogate (%j)', (bad) => {
    expect(reason(withDetail({ tenantId: 'tz', goalId: 'g1', audience: { userIds: [`u${bad}`] } }))).toBe(
      'invalid_audience',
    );
    expect(reason(withDetail({ tenantId: 'tz', goalId: 'g1', audience: { roles: [`r${bad}`] } }))).toBe(
      'invalid_audience',
    );
  });

  it.each(LONE)('refuses a detail-type with a lone surrogate (%j)', (bad) => {
    expect(reason(withDetail({ tenantId: 'tz', goalId: 'g1' }, `goal.created${bad}`))).toBe('invalid_detail_type');
  });

  it('accepts the replacement character itself: it is well-formed', () => {
    expect(reason(withDetail({ tenantId: 'tz\ufffd', goalId: 'g1' }))).toBe('accepted');
  });
});

describe('well-formed Unicode, resume', () => {
  it.each(LONE)('refuses a lastEventId with a lone surrogate (%j) as bad_request', (bad) => {
    const frame = parseAction(JSON.stringify({ action: 'resume', lastEventId: `evt_${bad}` }), 'resume');
    expect(frame).toMatchObject({ ok: false, problem: 'bad_request' });
    if (!frame.ok) expect(frame.message).toMatch(/^lastEventId: /);
  });
});
