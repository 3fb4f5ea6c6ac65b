import { describe, expect, it } from 'vitest';
import { MAX_ROLES } from '../../lambdas/contract/index.js';
import { AuthError } from '../../lambdas/core/errors.js';
import { identityFromClaims } from '../../lambdas/core/identity.js';

const EXP = 1_736_946_000;
const valid = { tenantId: 'acme', sub: 'user-1', roles: ['admin', 'viewer'], exp: EXP };

function refusal(claims: Record<string, unknown>, tenantClaim = 'tenantId'): AuthError {
  try {
    identityFromClaims(claims, tenantClaim);
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
  throw new Error('expected an AuthError, got an identity');
}

describe('identityFromClaims', () => {
  it('reads tenant, user, roles and expiry', () => {
    expect(identityFromClaims(valid, 'tenantId')).toEqual({
      tenantId: 'acme',
      userId: 'user-1',
      roles: ['admin', 'viewer'],
      expiresAt: EXP,
    });
  });

  it('defaults roles to none and floors a fractional exp', () => {
    expect(identityFromClaims({ tenantId: 'acme', sub: 'u', exp: EXP + 0.9 }, 'tenantId')).toEqual({
      tenantId: 'acme',
      userId: 'u',
      roles: [],
      expiresAt: EXP,
    });
  });

  it.each([1e13, 253_402_300_800, Number.MAX_SAFE_INTEGER])(
    'refuses exp %d, past year 9999, as invalid_claims',
    (exp) => {
      const err = refusal({ ...valid, exp });
      expect(err.code).toBe('invalid_claims');
      expect(err.message).toMatch(/"exp" is out of range/);
    },
  );

  it('accepts exp at the end of year 9999', () => {
    expect(identityFromClaims({ ...valid, exp: 253_402_300_799 }, 'tenantId').expiresAt).toBe(253_402_300_799);
  });

  it('reads the tenant from a custom claim and ignores tenantId then', () => {
    const claims = { 'custom:tenant': 'globex', tenantId: 'acme', sub: 'u', exp: EXP };
    expect(identityFromClaims(claims, 'custom:tenant').tenantId).toBe('globex');
    expect(refusal({ tenantId: 'acme', sub: 'u', exp: EXP }, 'custom:tenant').message).toBe(
      'tenant claim "custom:tenant" is missing',
    );
  });

  it.each([
    ['missing', undefined, 'is missing'],
    ['a number', 42, 'expected string'],
    ['an object', { id: 'acme' }, 'expected string'],
    ['an array', ['acme'], 'expected string'],
    ['null', null, 'expected string'],
    ['empty', '', 'must not be empty'],
    ['longer than 256 characters', 'a'.repeat(257), 'at most 256'],
    ['containing #', 'acme#evil', '"#"'],
    ['containing a control character', 'acme\u0000', 'control'],
    ['containing a newline', 'acme\nx', 'control'],
    ['containing DEL', 'acme\u007f', 'control'],
  ])('refuses a tenant claim %s as invalid_claims', (_label, tenantId, reason) => {
    const err = refusal({ ...valid, tenantId });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toContain('tenant claim "tenantId"');
    expect(err.message).toContain(reason);
  });

  it('accepts a tenant id of exactly 256 characters', () => {
    expect(identityFromClaims({ ...valid, tenantId: 'a'.repeat(256) }, 'tenantId').tenantId).toHaveLength(256);
  });

  it.each([
    ['missing', undefined],
    ['a number', 7],
    ['empty', ''],
    ['containing #', 'u#1'],
  ])('refuses a sub %s as invalid_claims', (_label, sub) => {
    const err = refusal({ ...valid, sub });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toMatch(/^claim "sub" /);
  });

  it.each([
    ['a string', 'admin'],
    ['an array with a number', ['admin', 1]],
    ['an object', { admin: true }],
    [`more than ${MAX_ROLES} entries`, Array.from({ length: MAX_ROLES + 1 }, (_, i) => `r${i}`)],
  ])('refuses roles that are %s', (_label, roles) => {
    const err = refusal({ ...valid, roles });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toContain('"roles"');
  });

  it.each([
    ['missing', undefined],
    ['a string', '1736946000'],
    ['not finite', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
  ])('refuses an exp that is %s', (_label, exp) => {
    const err = refusal({ ...valid, exp });
    expect(err.code).toBe('invalid_claims');
    expect(err.message).toBe('claim "exp" is required');
  });
});
