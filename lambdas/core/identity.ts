/** Token claims → identity, with client-safe errors. */
import {
  AuthErrorCode,
  MAX_ROLES,
  MAX_TOKEN_EXP_SECONDS,
  ROLES_CLAIM,
  RoleSchema,
  TenantIdSchema,
  UserIdSchema,
} from '../contract/index.js';
import { AuthError } from './errors.js';
import { describeIssues } from './frames.js';
import type { Identity } from './ports.js';

/**
 * Reads the tenant (from `tenantClaim`), the user (`sub`), the roles (`roles`, optional string
 * array) and the expiry (`exp`, required) from verified claims.
 */
export function identityFromClaims(claims: Record<string, unknown>, tenantClaim: string): Identity {
  const tenant = TenantIdSchema.safeParse(claims[tenantClaim]);
  if (!tenant.success) {
    const why = claims[tenantClaim] === undefined ? 'is missing' : `is invalid (${describeIssues(tenant.error)})`;
    throw new AuthError(AuthErrorCode.invalidClaims, `tenant claim "${tenantClaim}" ${why}`);
  }
  const user = UserIdSchema.safeParse(claims.sub);
  if (!user.success) {
    const why = claims.sub === undefined ? 'is missing' : `is invalid (${describeIssues(user.error)})`;
    throw new AuthError(AuthErrorCode.invalidClaims, `claim "sub" ${why}`);
  }
  const roles = claims[ROLES_CLAIM];
  if (
    roles !== undefined &&
    !(Array.isArray(roles) && roles.length <= MAX_ROLES && roles.every((r) => RoleSchema.safeParse(r).success))
  ) {
    throw new AuthError(
      AuthErrorCode.invalidClaims,
      `claim "${ROLES_CLAIM}" must be an array of at most ${MAX_ROLES} strings`,
    );
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
    throw new AuthError(AuthErrorCode.invalidClaims, 'claim "exp" is required');
  }
  if (claims.exp > MAX_TOKEN_EXP_SECONDS) {
    throw new AuthError(
      AuthErrorCode.invalidClaims,
      'claim "exp" is out of range (seconds since 1970, at most year 9999)',
    );
  }
  return {
    tenantId: tenant.data,
    userId: user.data,
    roles: (roles as string[] | undefined) ?? [],
    expiresAt: Math.floor(claims.exp),
  };
}
