/**
 * Deployment configuration: every option the stack reads from CDK context, its default, and
 * its validation. `cdk synth -c key=value` hands every value over as a string, `cdk.json` may
 * hold numbers and arrays: both are accepted and parsed here, once, with errors that name the
 * option.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { DEFAULT_STAGE, DEFAULT_STATUS_ROLE, DEFAULT_TENANT_CLAIM, SETTINGS } from '../lambdas/contract/index.js';
import { listOption, numericOption, rangeText, stringOption, withoutUnset } from './config-parsing.js';

/**
 * The validated configuration of one deployment. `validateConfig` leaves an unset option out;
 * optional members also accept `undefined`, so the stack hands them on as they are. Numeric
 * options take their default and range from the contract's `SETTINGS`.
 */
export interface RealtimeConfig {
  /** Stage name: API Gateway stage, stack name suffix; `prod` retains data on delete. */
  readonly stage: string;
  /** JWKS URL (https) for RS256/ES256 tokens. Exclusive with `jwtSecretArn`. */
  readonly jwksUrl?: string | undefined;
  /** Complete ARN of an existing Secrets Manager secret holding the HS256 key. */
  readonly jwtSecretArn?: string | undefined;
  /** Required `iss` claim, if set. */
  readonly jwtIssuer?: string | undefined;
  /** Required `aud` claim, if set. */
  readonly jwtAudience?: string | undefined;
  /** Token claim holding the tenant id. */
  readonly tenantClaim: string;
  /** Origins allowed to open a connection; unset allows any Origin. */
  readonly allowedOrigins?: readonly string[] | undefined;
  /**
   * Seconds a new connection has to authenticate.
   * @default SETTINGS.authTimeoutSeconds.default (30)
   */
  readonly authTimeoutSeconds: number;
  /**
   * Hours the per-tenant event log keeps events for `resume`.
   * @default SETTINGS.eventRetentionHours.default (24)
   */
  readonly eventRetentionHours: number;
  /** Name of an existing event bus to attach to; unset creates a bus. */
  readonly eventBusName?: string | undefined;
  /** Only events from these sources are broadcast; unset accepts any source. */
  readonly eventSources?: readonly string[] | undefined;
  /**
   * PostToConnection calls in flight per broadcaster invocation.
   * @default SETTINGS.fanoutConcurrency.default (100)
   */
  readonly fanoutConcurrency: number;
  /** Cap on PostToConnection calls per second per broadcaster invocation; unset means no cap. */
  readonly fanoutMaxRps?: number | undefined;
  /**
   * The broadcaster's memory (MB), and so its CPU share.
   * @default SETTINGS.broadcasterMemoryMb.default (1024)
   */
  readonly broadcasterMemoryMb: number;
  /**
   * Retention of every log group (Lambda and access logs).
   * @default SETTINGS.logRetentionDays.default (RetentionDays.ONE_MONTH)
   */
  readonly logRetentionDays: RetentionDays;
  /**
   * Stage default route steady-state rate limit (requests per second).
   * @default SETTINGS.throttleRateLimit.default (500)
   */
  readonly throttleRateLimit: number;
  /**
   * Stage default route burst limit (requests).
   * @default SETTINGS.throttleBurstLimit.default (1000)
   */
  readonly throttleBurstLimit: number;
  /** E-mail address subscribed to the alarm topic; unset creates no topic. */
  readonly alarmEmail?: string | undefined;
  /** Token role allowed on the HTTP API's `GET /status` and `GET /health?deep=1`. */
  readonly statusRole: string;
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
    type: rangeText(SETTINGS.authTimeoutSeconds),
    default: String(SETTINGS.authTimeoutSeconds.default),
    description: 'Seconds a new connection has to send `auth` before the sweeper closes it.',
  },
  eventRetentionHours: {
    type: rangeText(SETTINGS.eventRetentionHours),
    default: String(SETTINGS.eventRetentionHours.default),
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
    type: rangeText(SETTINGS.fanoutConcurrency),
    default: String(SETTINGS.fanoutConcurrency.default),
    description: 'PostToConnection calls in flight per broadcaster invocation.',
  },
  fanoutMaxRps: {
    type: 'positive integer',
    default: '-',
    description: 'Cap on PostToConnection calls per second per broadcaster invocation; unset means no cap.',
  },
  broadcasterMemoryMb: {
    type: rangeText(SETTINGS.broadcasterMemoryMb),
    default: String(SETTINGS.broadcasterMemoryMb.default),
    description:
      "The broadcaster's memory in MB, and with it its CPU share (1769 = 1 vCPU). Fan-out is CPU-bound: more memory makes a large tenant's fan-out and the 100-connection latency faster at about the same GB-seconds (README, Performance).",
  },
  logRetentionDays: {
    type: 'RetentionDays value',
    default: String(SETTINGS.logRetentionDays.default),
    description: `Retention in days of every log group. One of ${LOG_RETENTION_VALUES.join(', ')}.`,
  },
  throttleRateLimit: {
    type: 'positive number',
    default: String(SETTINGS.throttleRateLimit.default),
    description:
      'Stage default route throttling, of the WebSocket stage and of the HTTP API stage each: steady-state requests per second.',
  },
  throttleBurstLimit: {
    type: 'positive integer',
    default: String(SETTINGS.throttleBurstLimit.default),
    description: 'Stage default route throttling, of the WebSocket stage and of the HTTP API stage each: burst size.',
  },
  alarmEmail: {
    type: 'e-mail address',
    default: '-',
    description: 'Subscribe this address to an encrypted SNS topic that receives every alarm; unset creates no topic.',
  },
  statusRole: {
    type: 'string',
    default: DEFAULT_STATUS_ROLE,
    description:
      "Token role (claim `roles`) allowed on the HTTP API's `GET /status` and `GET /health?deep=1`; other members get 403.",
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

/**
 * A deployment option that cannot be used; the message names the option. (The handlers'
 * `ConfigError`, in lambdas/core/errors.ts, is about environment variables at run time.)
 */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
  constructor(
    readonly option: ConfigOptionName,
    detail: string,
  ) {
    super(`Invalid configuration option "${option}": ${detail}`);
  }
}

/** Reads every option from CDK context (`-c key=value` or cdk.json) and validates it. */
export function configFromContext(node: Node): RealtimeConfig {
  const input: Record<string, unknown> = {};
  for (const { name } of CONFIG_OPTIONS) input[name] = node.tryGetContext(name);
  return validateConfig(input);
}

/** Parses and validates the options, fills in defaults. Throws `StackConfigError` on the first bad option. */
export function validateConfig(input: RealtimeConfigInput = {}): RealtimeConfig {
  const stage = stringOption(input, 'stage') ?? DEFAULT_STAGE;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stage)) {
    throw new StackConfigError(
      'stage',
      `must start with a letter and hold only letters, digits and "-" (at most 64 characters), got "${stage}"`,
    );
  }

  const jwksUrl = stringOption(input, 'jwksUrl');
  const jwtSecretArn = stringOption(input, 'jwtSecretArn');
  if (jwksUrl !== undefined && jwtSecretArn !== undefined) {
    throw new StackConfigError('jwksUrl', 'set either "jwksUrl" or "jwtSecretArn", not both');
  }
  if (jwksUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(jwksUrl);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') throw new StackConfigError('jwksUrl', `must be an https URL, got "${jwksUrl}"`);
    // The keys of a JWKS may sign tokens of other issuers too (a provider's shared endpoint):
    // without an issuer check, any of those tokens could claim any tenant here.
    if (stringOption(input, 'jwtIssuer') === undefined) {
      throw new StackConfigError(
        'jwtIssuer',
        'is required with "jwksUrl": set it to the issuer (`iss`) your tokens carry, so tokens other issuers got signed with the same keys are refused',
      );
    }
  }
  if (
    jwtSecretArn !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(jwtSecretArn)
  ) {
    throw new StackConfigError(
      'jwtSecretArn',
      `must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), got "${jwtSecretArn}"`,
    );
  }

  const tenantClaim = input.tenantClaim === undefined ? DEFAULT_TENANT_CLAIM : input.tenantClaim;
  if (typeof tenantClaim !== 'string' || tenantClaim.trim() === '') {
    throw new StackConfigError('tenantClaim', 'must be a non-empty string');
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
      throw new StackConfigError(
        'allowedOrigins',
        `each entry must be an origin such as "https://app.example.com" (scheme and host, no path or trailing "/"), got "${origin}"`,
      );
    }
  }

  const eventBusName = stringOption(input, 'eventBusName');
  if (eventBusName !== undefined && !/^[/.\-_A-Za-z0-9]{1,256}$/.test(eventBusName)) {
    throw new StackConfigError(
      'eventBusName',
      `must be an event bus name (letters, digits, ".", "-", "_", "/"; at most 256 characters), got "${eventBusName}"`,
    );
  }

  const logRetentionDays = numericOption(input, 'logRetentionDays') ?? SETTINGS.logRetentionDays.default;
  if (!LOG_RETENTION_VALUES.includes(logRetentionDays)) {
    throw new StackConfigError(
      'logRetentionDays',
      `must be one of ${LOG_RETENTION_VALUES.join(', ')}, got ${logRetentionDays}`,
    );
  }

  const alarmEmail = stringOption(input, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(alarmEmail)) {
    throw new StackConfigError('alarmEmail', `must be one e-mail address, got "${alarmEmail}"`);
  }

  const statusRole = input.statusRole === undefined ? DEFAULT_STATUS_ROLE : input.statusRole;
  if (typeof statusRole !== 'string' || statusRole.trim() === '' || statusRole.trim().length > 256) {
    throw new StackConfigError('statusRole', 'must be a non-empty string of at most 256 characters');
  }

  return withoutUnset({
    stage,
    statusRole: statusRole.trim(),
    tenantClaim: tenantClaim.trim(),
    authTimeoutSeconds: numericOption(input, 'authTimeoutSeconds') ?? SETTINGS.authTimeoutSeconds.default,
    eventRetentionHours: numericOption(input, 'eventRetentionHours') ?? SETTINGS.eventRetentionHours.default,
    fanoutConcurrency: numericOption(input, 'fanoutConcurrency') ?? SETTINGS.fanoutConcurrency.default,
    logRetentionDays: logRetentionDays as RetentionDays,
    throttleRateLimit: numericOption(input, 'throttleRateLimit') ?? SETTINGS.throttleRateLimit.default,
    throttleBurstLimit: numericOption(input, 'throttleBurstLimit') ?? SETTINGS.throttleBurstLimit.default,
    jwksUrl,
    jwtSecretArn,
    jwtIssuer: stringOption(input, 'jwtIssuer'),
    jwtAudience: stringOption(input, 'jwtAudience'),
    allowedOrigins,
    eventBusName,
    eventSources: listOption(input, 'eventSources'),
    fanoutMaxRps: numericOption(input, 'fanoutMaxRps') ?? SETTINGS.fanoutMaxRps.default,
    broadcasterMemoryMb: numericOption(input, 'broadcasterMemoryMb') ?? SETTINGS.broadcasterMemoryMb.default,
    alarmEmail,
  });
}

/** `prod` keeps its data when the stack is deleted; every other stage cleans up after itself. */
export function removalPolicyFor(config: Pick<RealtimeConfig, 'stage'>): RemovalPolicy {
  return config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}
