/**
 * Deployment configuration: every option the stack reads from CDK context, its default, and
 * its validation. `cdk synth -c key=value` hands every value over as a string, `cdk.json` may
 * hold numbers and arrays: both are accepted and parsed here, once, with errors that name the
 * option.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import {
  DEFAULT_AUTH_TIMEOUT_SECONDS,
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_FANOUT_CONCURRENCY,
  DEFAULT_STAGE,
  DEFAULT_TENANT_CLAIM,
} from '../lambdas/contract/index.js';

/** The validated configuration of one deployment. */
export interface RealtimeConfig {
  /** Stage name: API Gateway stage, stack name suffix; `prod` retains data on delete. */
  readonly stage: string;
  /** JWKS URL (https) for RS256/ES256 tokens. Exclusive with `jwtSecretArn`. */
  readonly jwksUrl?: string;
  /** Complete ARN of an existing Secrets Manager secret holding the HS256 key. */
  readonly jwtSecretArn?: string;
  /** Required `iss` claim, if set. */
  readonly jwtIssuer?: string;
  /** Required `aud` claim, if set. */
  readonly jwtAudience?: string;
  /** Token claim holding the tenant id. */
  readonly tenantClaim: string;
  /** Origins allowed to open a connection; unset allows any Origin. */
  readonly allowedOrigins?: readonly string[];
  /** Seconds a new connection has to authenticate. */
  readonly authTimeoutSeconds: number;
  /** Hours the per-tenant event log keeps events for `resume`. */
  readonly eventRetentionHours: number;
  /** Name of an existing event bus to attach to; unset creates a bus. */
  readonly eventBusName?: string;
  /** Only events from these sources are broadcast; unset accepts any source. */
  readonly eventSources?: readonly string[];
  /** PostToConnection calls in flight per broadcaster invocation. */
  readonly fanoutConcurrency: number;
  /** Cap on PostToConnection calls per second per broadcaster invocation; unset means no cap. */
  readonly fanoutMaxRps?: number;
  /** Retention of every log group (Lambda and access logs). */
  readonly logRetentionDays: RetentionDays;
  /** Stage default route steady-state rate limit (requests per second). */
  readonly throttleRateLimit: number;
  /** Stage default route burst limit (requests). */
  readonly throttleBurstLimit: number;
  /** E-mail address subscribed to the alarm topic; unset creates no topic. */
  readonly alarmEmail?: string;
}

export type ConfigOptionName = keyof RealtimeConfig;

/** What a caller (context, test, another app) may hand in: every option optional and loosely typed. */
export type RealtimeConfigInput = { readonly [K in ConfigOptionName]?: unknown };

export interface ConfigOptionDoc {
  readonly name: ConfigOptionName;
  /** How to write the value in `-c name=value`. */
  readonly type: string;
  /** The default, as a reader would write it; `-` when unset by default. */
  readonly default: string;
  readonly description: string;
}

const AUTH_TIMEOUT_RANGE = { min: 5, max: 3600 } as const;
const EVENT_RETENTION_RANGE = { min: 1, max: 720 } as const;
const FANOUT_CONCURRENCY_RANGE = { min: 1, max: 1000 } as const;
const FANOUT_MAX_RPS_RANGE = { min: 1, max: 1_000_000 } as const;
const THROTTLE_RANGE = { min: 1, max: 1_000_000 } as const;
const DEFAULT_LOG_RETENTION = RetentionDays.ONE_MONTH;
const DEFAULT_THROTTLE_RATE = 500;
const DEFAULT_THROTTLE_BURST = 1000;

/** Every valid `logRetentionDays` value (the numeric members of `RetentionDays`). */
export const LOG_RETENTION_VALUES: readonly number[] = Object.values(RetentionDays).filter(
  (v): v is number => typeof v === 'number',
);

/**
 * Every option, in the order a README should list them. Each key is a CDK context key:
 * `npx cdk deploy -c stage=prod -c jwksUrl=https://…`. A record, so that an option added to
 * `RealtimeConfig` without documentation fails to compile.
 */
const OPTION_DOCS: { readonly [K in ConfigOptionName]: Omit<ConfigOptionDoc, 'name'> } = {
  stage: {
    type: 'string',
    default: DEFAULT_STAGE,
    description:
      'Stage name: API Gateway stage and stack name `TenantRealtime-<stage>`. `prod` retains tables, secret and log groups on stack deletion; other stages destroy them.',
  },
  jwksUrl: {
    type: 'https URL',
    default: '-',
    description: 'JWKS endpoint for RS256/ES256 tokens (OIDC provider, Cognito). Exclusive with `jwtSecretArn`.',
  },
  jwtSecretArn: {
    type: 'Secrets Manager ARN',
    default: '-',
    description:
      'Complete ARN of an existing secret whose SecretString is the HS256 key (if it is encrypted with a customer-managed KMS key, grant the auth function kms:Decrypt on it). Exclusive with `jwksUrl`. When neither is set, the stack generates a 64-character secret.',
  },
  jwtIssuer: {
    type: 'string',
    default: '-',
    description: 'Required `iss` claim. Required with `jwksUrl`; with an HS256 secret, unset accepts any issuer.',
  },
  jwtAudience: { type: 'string', default: '-', description: 'Required `aud` claim; unset accepts any audience.' },
  tenantClaim: { type: 'string', default: DEFAULT_TENANT_CLAIM, description: 'Token claim that holds the tenant id.' },
  allowedOrigins: {
    type: 'comma-separated origins',
    default: '-',
    description: 'Origins (`https://app.example.com`) allowed to connect; unset allows any Origin.',
  },
  authTimeoutSeconds: {
    type: `integer ${AUTH_TIMEOUT_RANGE.min}..${AUTH_TIMEOUT_RANGE.max}`,
    default: String(DEFAULT_AUTH_TIMEOUT_SECONDS),
    description: 'Seconds a new connection has to send `auth` before the sweeper closes it.',
  },
  eventRetentionHours: {
    type: `integer ${EVENT_RETENTION_RANGE.min}..${EVENT_RETENTION_RANGE.max}`,
    default: String(DEFAULT_EVENT_RETENTION_HOURS),
    description: 'Hours the per-tenant event log keeps events for `resume`.',
  },
  eventBusName: {
    type: 'string',
    default: '-',
    description: 'Attach the broadcast rule to this existing event bus; unset creates a bus.',
  },
  eventSources: {
    type: 'comma-separated strings',
    default: '-',
    description: 'Only broadcast events from these `source` values; unset accepts any source.',
  },
  fanoutConcurrency: {
    type: `integer ${FANOUT_CONCURRENCY_RANGE.min}..${FANOUT_CONCURRENCY_RANGE.max}`,
    default: String(DEFAULT_FANOUT_CONCURRENCY),
    description: 'PostToConnection calls in flight per broadcaster invocation.',
  },
  fanoutMaxRps: {
    type: 'positive integer',
    default: '-',
    description: 'Cap on PostToConnection calls per second per broadcaster invocation; unset means no cap.',
  },
  logRetentionDays: {
    type: 'RetentionDays value',
    default: String(DEFAULT_LOG_RETENTION),
    description: `Retention in days of every log group. One of ${LOG_RETENTION_VALUES.join(', ')}.`,
  },
  throttleRateLimit: {
    type: 'positive number',
    default: String(DEFAULT_THROTTLE_RATE),
    description: 'Stage default route throttling: steady-state requests per second.',
  },
  throttleBurstLimit: {
    type: 'positive integer',
    default: String(DEFAULT_THROTTLE_BURST),
    description: 'Stage default route throttling: burst size.',
  },
  alarmEmail: {
    type: 'e-mail address',
    default: '-',
    description: 'Subscribe this address to an encrypted SNS topic that receives every alarm; unset creates no topic.',
  },
};

export const CONFIG_OPTIONS: readonly ConfigOptionDoc[] = (Object.keys(OPTION_DOCS) as ConfigOptionName[]).map(
  (name) => ({
    name,
    ...OPTION_DOCS[name],
  }),
);

/** `CONFIG_OPTIONS` as a Markdown table, for the README (`-c name=value`). */
export function configOptionsMarkdown(): string {
  const escapeCell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| Option | Value | Default | Description |',
    '|---|---|---|---|',
    ...CONFIG_OPTIONS.map(
      (o) =>
        `| \`${o.name}\` | ${escapeCell(o.type)} | ${o.default === '-' ? '-' : `\`${escapeCell(o.default)}\``} | ${escapeCell(o.description)} |`,
    ),
  ].join('\n');
}

/** A configuration value that cannot be used; the message names the option. */
export class ConfigError extends Error {
  constructor(
    readonly option: ConfigOptionName,
    detail: string,
  ) {
    super(`Invalid configuration option "${option}": ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Reads every option from CDK context (`-c key=value` or cdk.json) and validates it. */
export function configFromContext(node: Node): RealtimeConfig {
  const input: Record<string, unknown> = {};
  for (const { name } of CONFIG_OPTIONS) input[name] = node.tryGetContext(name);
  return validateConfig(input);
}

/** Parses and validates the options, fills in defaults. Throws `ConfigError` on the first bad option. */
export function validateConfig(input: RealtimeConfigInput = {}): RealtimeConfig {
  const stage = stringOption(input, 'stage') ?? DEFAULT_STAGE;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stage)) {
    throw new ConfigError(
      'stage',
      `must start with a letter and hold only letters, digits and "-" (at most 64 characters), got "${stage}"`,
    );
  }

  const jwksUrl = stringOption(input, 'jwksUrl');
  const jwtSecretArn = stringOption(input, 'jwtSecretArn');
  if (jwksUrl !== undefined && jwtSecretArn !== undefined) {
    throw new ConfigError('jwksUrl', 'set either "jwksUrl" or "jwtSecretArn", not both');
  }
  if (jwksUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(jwksUrl);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') throw new ConfigError('jwksUrl', `must be an https URL, got "${jwksUrl}"`);
    // The keys of a JWKS may sign tokens of other issuers too (a provider's shared endpoint):
    // without an issuer check, any of those tokens could claim any tenant here.
    if (stringOption(input, 'jwtIssuer') === undefined) {
      throw new ConfigError(
        'jwtIssuer',
        'is required with "jwksUrl": set it to the issuer (`iss`) your tokens carry, so tokens other issuers got signed with the same keys are refused',
      );
    }
  }
  if (
    jwtSecretArn !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(jwtSecretArn)
  ) {
    throw new ConfigError(
      'jwtSecretArn',
      `must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), got "${jwtSecretArn}"`,
    );
  }

  const tenantClaim = input.tenantClaim === undefined ? DEFAULT_TENANT_CLAIM : input.tenantClaim;
  if (typeof tenantClaim !== 'string' || tenantClaim.trim() === '') {
    throw new ConfigError('tenantClaim', 'must be a non-empty string');
  }

  const allowedOrigins = listOption(input, 'allowedOrigins');
  for (const origin of allowedOrigins ?? []) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['https:', 'http:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        'allowedOrigins',
        `each entry must be an origin such as "https://app.example.com" (scheme and host, no path or trailing "/"), got "${origin}"`,
      );
    }
  }

  const eventBusName = stringOption(input, 'eventBusName');
  if (eventBusName !== undefined && !/^[/.\-_A-Za-z0-9]{1,256}$/.test(eventBusName)) {
    throw new ConfigError(
      'eventBusName',
      `must be an event bus name (letters, digits, ".", "-", "_", "/"; at most 256 characters), got "${eventBusName}"`,
    );
  }

  const logRetentionDays =
    intOption(input, 'logRetentionDays', { min: 1, max: Math.max(...LOG_RETENTION_VALUES) }) ?? DEFAULT_LOG_RETENTION;
  if (!LOG_RETENTION_VALUES.includes(logRetentionDays)) {
    throw new ConfigError(
      'logRetentionDays',
      `must be one of ${LOG_RETENTION_VALUES.join(', ')}, got ${logRetentionDays}`,
    );
  }

  const alarmEmail = stringOption(input, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(alarmEmail)) {
    throw new ConfigError('alarmEmail', `must be one e-mail address, got "${alarmEmail}"`);
  }

  const config: RealtimeConfig = {
    stage,
    tenantClaim: tenantClaim.trim(),
    authTimeoutSeconds: intOption(input, 'authTimeoutSeconds', AUTH_TIMEOUT_RANGE) ?? DEFAULT_AUTH_TIMEOUT_SECONDS,
    eventRetentionHours:
      intOption(input, 'eventRetentionHours', EVENT_RETENTION_RANGE) ?? DEFAULT_EVENT_RETENTION_HOURS,
    fanoutConcurrency: intOption(input, 'fanoutConcurrency', FANOUT_CONCURRENCY_RANGE) ?? DEFAULT_FANOUT_CONCURRENCY,
    logRetentionDays: logRetentionDays as RetentionDays,
    throttleRateLimit: numberOption(input, 'throttleRateLimit', THROTTLE_RANGE) ?? DEFAULT_THROTTLE_RATE,
    throttleBurstLimit: intOption(input, 'throttleBurstLimit', THROTTLE_RANGE) ?? DEFAULT_THROTTLE_BURST,
    ...defined('jwksUrl', jwksUrl),
    ...defined('jwtSecretArn', jwtSecretArn),
    ...defined('jwtIssuer', stringOption(input, 'jwtIssuer')),
    ...defined('jwtAudience', stringOption(input, 'jwtAudience')),
    ...defined('allowedOrigins', allowedOrigins),
    ...defined('eventBusName', eventBusName),
    ...defined('eventSources', listOption(input, 'eventSources')),
    ...defined('fanoutMaxRps', intOption(input, 'fanoutMaxRps', FANOUT_MAX_RPS_RANGE)),
    ...defined('alarmEmail', alarmEmail),
  };
  return config;
}

/** `prod` keeps its data when the stack is deleted; every other stage cleans up after itself. */
export function removalPolicyFor(config: Pick<RealtimeConfig, 'stage'>): RemovalPolicy {
  return config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}

// ---------------------------------------------------------------- parsing helpers

function defined<K extends ConfigOptionName, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `undefined`, `null` and blank strings (`-c key=`) all mean "not set". */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function stringOption(input: RealtimeConfigInput, name: ConfigOptionName): string | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  if (typeof value !== 'string') throw new ConfigError(name, `must be a string, got ${JSON.stringify(value)}`);
  return value.trim();
}

function listOption(input: RealtimeConfigInput, name: ConfigOptionName): string[] | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!items || items.some((item) => typeof item !== 'string')) {
    throw new ConfigError(name, `must be a list of strings or a comma-separated string, got ${JSON.stringify(value)}`);
  }
  const list = (items as string[]).map((item) => item.trim()).filter((item) => item.length > 0);
  return list.length > 0 ? list : undefined;
}

function numberOption(
  input: RealtimeConfigInput,
  name: ConfigOptionName,
  range: { min: number; max: number },
): number | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(parsed) || parsed < range.min || parsed > range.max) {
    throw new ConfigError(name, `must be a number from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function intOption(
  input: RealtimeConfigInput,
  name: ConfigOptionName,
  range: { min: number; max: number },
): number | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < range.min || parsed > range.max) {
    throw new ConfigError(name, `must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
