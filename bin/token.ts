/**
 * `npm run token -- --tenant t1 --user u1 [--roles a,b] [--ttl 3600] [--secret S]
 *   [--issuer I] [--audience A] [--claim tenantId]`
 *
 * Prints a development HS256 JWT (and nothing else on stdout, so `$(npm run -s token -- …)`
 * works). The secret is --secret, else JWT_SECRET, else the local runtime's documented dev
 * secret, so tokens match `npm start` out of the box. Issuer, audience and tenant claim default
 * to JWT_ISSUER, JWT_AUDIENCE and TENANT_CLAIM, like the auth handler.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import {
  DEFAULT_TENANT_CLAIM,
  Env,
  MAX_ROLES,
  ROLES_CLAIM,
  TenantIdSchema,
  UserIdSchema,
} from '../lambdas/contract/index.js';
import { isMain, runCli, splitList, UsageError } from './local/cli.js';
import { LOCAL_DEV_JWT_SECRET } from './local/defaults.js';

const USAGE = `usage: npm run token -- --tenant <id> --user <id> [options]

  --tenant <id>      tenant id (required)
  --user <id>        user id, the "sub" claim (required)
  --roles <a,b>      roles, comma-separated (claim "${ROLES_CLAIM}")
  --ttl <seconds>    lifetime, default 3600
  --secret <s>       HS256 secret (default: $${Env.jwtSecret}, else the local dev secret)
  --issuer <iss>     "iss" claim (default: $${Env.jwtIssuer})
  --audience <aud>   "aud" claim (default: $${Env.jwtAudience})
  --claim <name>     tenant claim name (default: $${Env.tenantClaim}, else "${DEFAULT_TENANT_CLAIM}")
  -h, --help         this help`;

export interface DevTokenOptions {
  tenant: string;
  user: string;
  roles?: string[];
  ttlSeconds: number;
  secret: string;
  issuer?: string;
  audience?: string;
  claim: string;
  /** Epoch seconds; defaults to now. */
  now?: number;
}

export async function createDevToken(options: DevTokenOptions): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { [options.claim]: options.tenant };
  if (options.roles) claims[ROLES_CLAIM] = options.roles;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.user)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

const envValue = (name: string) => process.env[name]?.trim() || undefined;

/** Command line (and environment) → token options; throws UsageError with a clear message. */
export function tokenOptionsFromArgs(args: string[]): DevTokenOptions | 'help' {
  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by the parseArgs call below (its options fix the type)
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        tenant: { type: 'string' },
        user: { type: 'string' },
        roles: { type: 'string' },
        ttl: { type: 'string' },
        secret: { type: 'string' },
        issuer: { type: 'string' },
        audience: { type: 'string' },
        claim: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.tenant === undefined) throw new UsageError('--tenant is required');
  if (values.user === undefined) throw new UsageError('--user is required');
  const tenant = TenantIdSchema.safeParse(values.tenant);
  if (!tenant.success) throw new UsageError(`--tenant ${tenant.error.issues[0]?.message ?? 'is invalid'}`);
  const user = UserIdSchema.safeParse(values.user);
  if (!user.success) throw new UsageError(`--user ${user.error.issues[0]?.message ?? 'is invalid'}`);
  const ttlSeconds = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new UsageError(`--ttl must be a positive whole number of seconds, got "${values.ttl}"`);
  const roles = splitList(values.roles);
  if (roles && roles.length > MAX_ROLES) throw new UsageError(`--roles holds at most ${MAX_ROLES} roles`);
  const secret = values.secret ?? envValue(Env.jwtSecret) ?? LOCAL_DEV_JWT_SECRET;
  if (secret.length === 0) throw new UsageError('--secret must not be empty');
  const claim = values.claim ?? envValue(Env.tenantClaim) ?? DEFAULT_TENANT_CLAIM;

  const options: DevTokenOptions = { tenant: tenant.data, user: user.data, ttlSeconds, secret, claim };
  if (roles) options.roles = roles;
  const issuer = values.issuer ?? envValue(Env.jwtIssuer);
  if (issuer) options.issuer = issuer;
  const audience = values.audience ?? envValue(Env.jwtAudience);
  if (audience) options.audience = audience;
  return options;
}

if (isMain(import.meta.url)) {
  runCli(async () => {
    const options = tokenOptionsFromArgs(process.argv.slice(2));
    if (options === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    process.stdout.write(`${await createDevToken(options)}\n`);
  }, USAGE);
}
