import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keySourceFromEnv, verifierOptionsFromEnv } from '../../lambdas/adapters/auth.js';
import { intEnv, listEnv, once, optionalEnv, requiredEnv } from '../../lambdas/adapters/config.js';
import { secretFromSecretsManager } from '../../lambdas/adapters/secrets.js';
import { Env, type EnvName } from '../../lambdas/contract/index.js';
import { ConfigError } from '../../lambdas/core/errors.js';

// Every variable of the contract is cleared before each test and restored after it.
const NAMES = Object.values(Env) as EnvName[];
let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
  for (const n of NAMES) delete process.env[n];
});
afterEach(() => {
  for (const n of NAMES) {
    if (saved[n] === undefined) delete process.env[n];
    else process.env[n] = saved[n];
  }
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('requiredEnv', () => {
  it('returns the trimmed value', () => {
    process.env[Env.connectionsTable] = '  connections-dev \n';
    expect(requiredEnv(Env.connectionsTable)).toBe('connections-dev');
  });

  it.each([undefined, '', '   '])('fails naming the variable when it is %j', (value) => {
    if (value !== undefined) process.env[Env.eventLogTable] = value;
    const err = configError(() => requiredEnv(Env.eventLogTable));
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain('EVENT_LOG_TABLE');
  });
});

describe('optionalEnv / listEnv', () => {
  it('treats unset and blank alike', () => {
    expect(optionalEnv(Env.jwtIssuer)).toBeUndefined();
    process.env[Env.jwtIssuer] = ' ';
    expect(optionalEnv(Env.jwtIssuer)).toBeUndefined();
    process.env[Env.jwtIssuer] = ' https://auth.example ';
    expect(optionalEnv(Env.jwtIssuer)).toBe('https://auth.example');
  });

  it('splits a comma-separated list, trimming and dropping empty entries', () => {
    expect(listEnv(Env.allowedOrigins)).toEqual([]);
    process.env[Env.allowedOrigins] = ' https://a.example, ,https://b.example ,';
    expect(listEnv(Env.allowedOrigins)).toEqual(['https://a.example', 'https://b.example']);
  });
});

describe('intEnv', () => {
  const range = { min: 1, max: 3600 };

  it('falls back when unset or blank', () => {
    expect(intEnv(Env.authTimeoutSeconds, 30, range)).toBe(30);
    process.env[Env.authTimeoutSeconds] = '  ';
    expect(intEnv(Env.authTimeoutSeconds, 30, range)).toBe(30);
  });

  it.each([
    ['1', 1],
    ['3600', 3600],
    [' 45 ', 45],
  ])('reads %j as %d', (raw, expected) => {
    process.env[Env.authTimeoutSeconds] = raw;
    expect(intEnv(Env.authTimeoutSeconds, 30, range)).toBe(expected);
  });

  it.each(['0', '3601', '-5', '1.5', 'abc', '30s', 'NaN', 'Infinity'])(
    'refuses %j, naming the variable and the range',
    (raw) => {
      process.env[Env.authTimeoutSeconds] = raw;
      const err = configError(() => intEnv(Env.authTimeoutSeconds, 30, range));
      expect(err.message).toContain('AUTH_TIMEOUT_SECONDS');
      expect(err.message).toContain('from 1 to 3600');
      expect(err.message).toContain(`"${raw.trim()}"`);
    },
  );
});

describe('once', () => {
  it('builds on first use only, and not at all if never used', () => {
    let builds = 0;
    const get = once(() => ({ n: ++builds }));
    expect(builds).toBe(0);
    const first = get();
    expect(get()).toBe(first);
    expect(builds).toBe(1);
  });
});

describe('keySourceFromEnv', () => {
  const SECRET_32 = 'x'.repeat(32);

  it('refuses when no key source is set', () => {
    const err = configError(() => keySourceFromEnv());
    expect(err.message).toContain('exactly one of JWKS_URL, JWT_SECRET_ARN or JWT_SECRET');
    expect(err.message).toContain('found 0');
  });

  it.each([
    [{ JWKS_URL: 'https://auth.example/jwks.json', JWT_SECRET: SECRET_32 }],
    [
      {
        JWKS_URL: 'https://auth.example/jwks.json',
        JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:jwt',
      },
    ],
    [{ JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:jwt', JWT_SECRET: SECRET_32 }],
  ])('refuses two key sources at once: %j', (vars) => {
    Object.assign(process.env, vars);
    expect(configError(() => keySourceFromEnv()).message).toContain('found 2');
  });

  it('refuses all three at once', () => {
    Object.assign(process.env, { JWKS_URL: 'https://a.example/jwks', JWT_SECRET_ARN: 'arn:x', JWT_SECRET: SECRET_32 });
    expect(configError(() => keySourceFromEnv()).message).toContain('found 3');
  });

  it('ignores blank variables when counting', () => {
    Object.assign(process.env, { JWKS_URL: '   ', JWT_SECRET: SECRET_32 });
    expect(keySourceFromEnv().kind).toBe('secret');
  });

  it('builds a JWKS key source from a URL', () => {
    process.env[Env.jwksUrl] = 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json';
    const source = keySourceFromEnv();
    expect(source.kind).toBe('jwks');
    if (source.kind === 'jwks')
      expect(source.url.href).toBe('https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json');
  });

  it('refuses a JWKS_URL that is not a URL, naming the variable', () => {
    process.env[Env.jwksUrl] = 'not a url';
    expect(configError(() => keySourceFromEnv()).message).toContain('JWKS_URL');
  });

  it.each([1, 16, 31])('refuses a JWT_SECRET of %d characters (HS256 needs at least 32)', (length) => {
    process.env[Env.jwtSecret] = 'Q'.repeat(length);
    const err = configError(() => keySourceFromEnv());
    expect(err.message).toContain('JWT_SECRET');
    expect(err.message).toContain('32');
    expect(err.message).not.toContain('Q'); // the secret is never echoed
  });

  it('accepts a JWT_SECRET of 32 characters and yields its UTF-8 bytes', async () => {
    process.env[Env.jwtSecret] = SECRET_32;
    const source = keySourceFromEnv();
    expect(source.kind).toBe('secret');
    if (source.kind === 'secret') expect(new TextDecoder().decode(await source.secret())).toBe(SECRET_32);
  });

  it('uses Secrets Manager (lazily: nothing is fetched yet) for JWT_SECRET_ARN', () => {
    process.env[Env.jwtSecretArn] = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:jwt';
    const source = keySourceFromEnv();
    expect(source.kind).toBe('secret');
  });
});

describe('verifierOptionsFromEnv', () => {
  it('refuses JWKS_URL without JWT_ISSUER, naming jwtIssuer: shared JWKS keys sign other issuers’ tokens too', () => {
    process.env[Env.jwksUrl] = 'https://login.example.com/common/discovery/keys';
    const err = configError(() => verifierOptionsFromEnv());
    expect(err.message).toContain('JWT_ISSUER');
    expect(err.message).toContain('jwtIssuer');
  });

  it('checks the issuer a JWKS_URL comes with, and reads the claims settings', () => {
    Object.assign(process.env, {
      [Env.jwksUrl]: 'https://login.example.com/tenant-a/keys',
      [Env.jwtIssuer]: 'https://login.example.com/tenant-a/',
      [Env.jwtAudience]: 'app',
      [Env.tenantClaim]: 'org',
    });
    expect(verifierOptionsFromEnv()).toMatchObject({
      key: { kind: 'jwks' },
      issuer: 'https://login.example.com/tenant-a/',
      audience: 'app',
      tenantClaim: 'org',
    });
  });

  it('leaves the issuer optional with an HS256 secret (the key is yours alone)', () => {
    process.env[Env.jwtSecret] = 'x'.repeat(32);
    expect(verifierOptionsFromEnv()).toMatchObject({ key: { kind: 'secret' }, issuer: undefined });
  });
});

describe('secretFromSecretsManager', () => {
  const fakeClient = (secretString: string | undefined) => {
    const calls: unknown[] = [];
    return {
      calls,
      client: () => ({
        send: async (command: unknown) => {
          calls.push(command);
          return { SecretString: secretString };
        },
      }),
    };
  };

  it.each([1, 16, 31])('refuses a secret of %d characters, as the environment path does', async (length) => {
    const { client } = fakeClient('Q'.repeat(length));
    const secret = secretFromSecretsManager('arn:aws:secretsmanager:eu-west-1:111122223333:secret:jwt', client);
    const err = await secret().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('32');
    expect((err as Error).message).not.toContain('Q'); // the secret is never echoed
  });

  it('accepts a secret of 32 characters, and reads it once for a while', async () => {
    const { client, calls } = fakeClient('s'.repeat(32));
    const secret = secretFromSecretsManager('arn:aws:secretsmanager:eu-west-1:111122223333:secret:jwt', client);
    expect(new TextDecoder().decode(await secret())).toBe('s'.repeat(32));
    await secret();
    expect(calls).toHaveLength(1);
  });
});
