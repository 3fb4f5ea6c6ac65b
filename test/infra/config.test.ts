/** Deployment options: parsing of context strings, defaults, and errors that name the option. */
import { readFileSync } from 'node:fs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingName } from '../../lambdas/contract/index.js';
import {
  CONFIG_OPTIONS,
  configFromContext,
  configOptionsMarkdown,
  LOG_RETENTION_VALUES,
  removalPolicyFor,
  StackConfigError,
  validateConfig,
} from '../../lib/config.js';
import { testApp } from './helpers.js';

describe('validateConfig', () => {
  it('fills in every default', () => {
    expect(validateConfig({})).toEqual({
      stage: 'dev',
      tenantClaim: 'tenantId',
      authTimeoutSeconds: 30,
      eventRetentionHours: 24,
      fanoutConcurrency: 100,
      broadcasterMemoryMb: 1024,
      logRetentionDays: RetentionDays.ONE_MONTH,
      throttleRateLimit: 500,
      throttleBurstLimit: 1000,
      statusRole: 'admin',
    });
  });

  it('parses the strings `-c key=value` hands over', () => {
    expect(
      validateConfig({
        authTimeoutSeconds: ' 60 ',
        eventRetentionHours: '720',
        fanoutConcurrency: '1',
        fanoutMaxRps: '50',
        broadcasterMemoryMb: '1769',
        logRetentionDays: '7',
        throttleRateLimit: '12.5',
        throttleBurstLimit: '20',
        allowedOrigins: 'https://a.example.com, http://localhost:3000,',
        eventSources: 'app.goals',
      }),
    ).toMatchObject({
      authTimeoutSeconds: 60,
      eventRetentionHours: 720,
      fanoutConcurrency: 1,
      fanoutMaxRps: 50,
      broadcasterMemoryMb: 1769,
      logRetentionDays: RetentionDays.ONE_WEEK,
      throttleRateLimit: 12.5,
      throttleBurstLimit: 20,
      allowedOrigins: ['https://a.example.com', 'http://localhost:3000'],
      eventSources: ['app.goals'],
    });
  });

  it('accepts numbers and arrays as cdk.json holds them', () => {
    expect(validateConfig({ authTimeoutSeconds: 5, eventSources: ['a.b', 'c.d'] })).toMatchObject({
      authTimeoutSeconds: 5,
      eventSources: ['a.b', 'c.d'],
    });
  });

  it('treats an empty value as unset', () => {
    expect(validateConfig({ fanoutMaxRps: '', jwksUrl: ' ', allowedOrigins: '' })).not.toHaveProperty('fanoutMaxRps');
  });

  it.each([
    [
      {
        jwksUrl: 'https://idp.example.com/jwks',
        jwtSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbC123',
      },
      'jwksUrl',
      /not both/,
    ],
    [{ jwksUrl: 'http://idp.example.com/jwks' }, 'jwksUrl', /https URL/],
    [{ jwksUrl: 'not a url' }, 'jwksUrl', /https URL/],
    // Keys of a shared JWKS (a provider's common endpoint) sign other issuers' tokens too.
    [{ jwksUrl: 'https://idp.example.com/jwks' }, 'jwtIssuer', /required with "jwksUrl"/],
    [{ jwtSecretArn: 'my-secret' }, 'jwtSecretArn', /complete ARN/],
    [{ authTimeoutSeconds: '4' }, 'authTimeoutSeconds', /integer from 5 to 3600/],
    [{ authTimeoutSeconds: '3601' }, 'authTimeoutSeconds', /integer from 5 to 3600/],
    [{ authTimeoutSeconds: 'thirty' }, 'authTimeoutSeconds', /integer from 5 to 3600, got "thirty"/],
    [{ authTimeoutSeconds: '12.5' }, 'authTimeoutSeconds', /integer/],
    [{ tenantClaim: '' }, 'tenantClaim', /non-empty string/],
    [{ tenantClaim: '   ' }, 'tenantClaim', /non-empty string/],
    [{ tenantClaim: 42 }, 'tenantClaim', /non-empty string/],
    [{ eventRetentionHours: '0' }, 'eventRetentionHours', /1 to 720/],
    [{ fanoutConcurrency: '1001' }, 'fanoutConcurrency', /1 to 1000/],
    [{ fanoutMaxRps: '-1' }, 'fanoutMaxRps', /integer/],
    [{ logRetentionDays: '2' }, 'logRetentionDays', /must be one of 1, 3, 5, 7/],
    [{ throttleRateLimit: '0' }, 'throttleRateLimit', /number/],
    [{ throttleBurstLimit: 'lots' }, 'throttleBurstLimit', /integer/],
    [{ allowedOrigins: 'https://app.example.com/' }, 'allowedOrigins', /origin/],
    [{ allowedOrigins: 'app.example.com' }, 'allowedOrigins', /origin/],
    [{ stage: 'my_stage' }, 'stage', /letters, digits and "-"/],
    [{ eventBusName: 'bad name' }, 'eventBusName', /event bus name/],
    [{ alarmEmail: 'oncall' }, 'alarmEmail', /e-mail/],
    [{ statusRole: ' ' }, 'statusRole', /non-empty string/],
    [{ statusRole: ['admin'] }, 'statusRole', /non-empty string/],
  ] as const)('rejects %j, naming "%s"', (input, option, message) => {
    let error: unknown;
    try {
      validateConfig(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}"`);
    expect((error as Error).message).toMatch(message);
  });
});

describe('numeric options and the contract SETTINGS', () => {
  const NUMERIC = Object.keys(SETTINGS) as SettingName[];

  it.each(NUMERIC)('%s: takes its default from SETTINGS', (name) => {
    expect(validateConfig({})[name]).toBe(SETTINGS[name].default);
    const doc = CONFIG_OPTIONS.find((o) => o.name === name);
    expect(doc?.default).toBe(SETTINGS[name].default === undefined ? '-' : String(SETTINGS[name].default));
  });

  it.each(NUMERIC)('%s: accepts both ends of its SETTINGS range and refuses just outside it', (name) => {
    const { min, max } = SETTINGS[name];
    expect(validateConfig({ [name]: String(min) })[name]).toBe(min);
    expect(validateConfig({ [name]: max })[name]).toBe(max);
    expect(() => validateConfig({ [name]: min - 1 })).toThrow(StackConfigError);
    expect(() => validateConfig({ [name]: max + 1 })).toThrow(StackConfigError);
  });

  it('logRetentionDays: its range is CloudWatch Logs’ list of values, and its default one of them', () => {
    expect(SETTINGS.logRetentionDays.min).toBe(Math.min(...LOG_RETENTION_VALUES));
    expect(SETTINGS.logRetentionDays.max).toBe(Math.max(...LOG_RETENTION_VALUES));
    expect(LOG_RETENTION_VALUES).toContain(SETTINGS.logRetentionDays.default);
    expect(SETTINGS.logRetentionDays.default).toBe(RetentionDays.ONE_MONTH);
  });
});

describe('configFromContext', () => {
  it('reads every option from CDK context', () => {
    const app = testApp({
      stage: 'staging',
      jwksUrl: 'https://idp.example.com/jwks',
      jwtIssuer: 'https://idp.example.com/',
      authTimeoutSeconds: '90',
      eventSources: 'a.b,c.d',
    });
    expect(configFromContext(app.node)).toMatchObject({
      stage: 'staging',
      jwksUrl: 'https://idp.example.com/jwks',
      authTimeoutSeconds: 90,
      eventSources: ['a.b', 'c.d'],
    });
  });

  it('fails synth early on a bad option', () => {
    expect(() => configFromContext(testApp({ authTimeoutSeconds: 'abc' }).node)).toThrow(/"authTimeoutSeconds"/);
  });
});

describe('CONFIG_OPTIONS', () => {
  it('documents every option once, with a default and a description', () => {
    const fullyConfigured = validateConfig({
      jwksUrl: 'https://idp.example.com/jwks',
      jwtIssuer: 'i',
      jwtAudience: 'a',
      allowedOrigins: 'https://a.example.com',
      eventBusName: 'bus',
      eventSources: 's',
      fanoutMaxRps: 1,
      alarmEmail: 'a@example.com',
    });
    const names = CONFIG_OPTIONS.map((o) => o.name);
    // jwtSecretArn is exclusive with jwksUrl, so no single config holds every key.
    expect([...names].sort()).toEqual([...Object.keys(fullyConfigured), 'jwtSecretArn'].sort());
    for (const option of CONFIG_OPTIONS) {
      expect(option.description.length, option.name).toBeGreaterThan(10);
      expect(option.default, option.name).not.toBe('');
    }
  });

  it('renders a Markdown table with one row per option', () => {
    const rows = configOptionsMarkdown().split('\n');
    expect(rows).toHaveLength(CONFIG_OPTIONS.length + 2);
    expect(rows[2]).toMatch(/^\| `stage` \| string \| `dev` \|/);
  });

  it('is what the README deployment section lists', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const deploySection = /^## Deploy\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
    expect(deploySection, 'README has a "## Deploy" section').toBeDefined();
    for (const { name } of CONFIG_OPTIONS) expect(deploySection, name).toContain(`| \`${name}\` |`);
  });
});

describe('removalPolicyFor', () => {
  it('retains prod and destroys every other stage', () => {
    expect(removalPolicyFor({ stage: 'prod' })).toBe(RemovalPolicy.RETAIN);
    expect(removalPolicyFor({ stage: 'dev' })).toBe(RemovalPolicy.DESTROY);
  });
});
