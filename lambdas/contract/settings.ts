/**
 * One definition of every numeric setting: its default and its valid range. The stack's option
 * validation (`lib/config.ts`), the handlers' environment reader (`lambdas/adapters/settings.ts`,
 * which the local runtime's handlers use too) and the constructs' `@default` docs all read these
 * entries; nothing else spells out a default or a bound. Imports nothing, so every bundle may
 * carry it.
 */

export interface NumericSetting {
  /** The value when the setting is not given; `undefined` means "off" (no value, no limit). */
  readonly default: number | undefined;
  readonly min: number;
  readonly max: number;
  /** Only whole numbers are valid. */
  readonly integer: boolean;
  /** A lower floor that the handlers accept than a deployment does (see `authTimeoutSeconds`). */
  readonly handlerMin?: number;
}

export const SETTINGS = {
  /**
   * Seconds a new connection has to send `auth` before the sweeper closes it.
   *
   * A deployment accepts 5..3600. Below 5 s a client on a slow network may not finish the
   * handshake and its `auth` round trip (a cold auth function alone can take a few seconds),
   * and on AWS the sweeper runs once a minute, so a shorter deadline buys nothing but failed
   * logins. The handlers themselves accept any deadline from `handlerMin` (1 s): the local
   * runtime, which sweeps as often as every second, tests the deadline with 1–2 s timeouts.
   */
  authTimeoutSeconds: { default: 30, min: 5, max: 3600, integer: true, handlerMin: 1 },
  /**
   * Hours the per-tenant event log keeps an event for `resume` (DynamoDB TTL).
   *
   * At most 720 (30 days). The log is a catch-up buffer for clients that reconnect, not an
   * archive: its storage cost grows with retention times event rate, a `resume` replays at most
   * `MAX_REPLAY_EVENTS` anyway, and a client away for longer reloads its state from the
   * application. (The handlers used to accept up to a year; no deployment could set that.)
   */
  eventRetentionHours: { default: 24, min: 1, max: 720, integer: true },
  /**
   * PostToConnection calls in flight per broadcaster invocation.
   *
   * At most 1000: the management API client holds that many keep-alive sockets per process
   * (`lambdas/adapters/management.ts` reads this bound), so more calls in flight would only wait
   * for a socket. (The handlers used to accept up to 5000; no deployment could set that.)
   */
  fanoutConcurrency: { default: 100, min: 1, max: 1000, integer: true },
  /** Cap on PostToConnection calls per second per broadcaster invocation; unset means no cap. */
  fanoutMaxRps: { default: undefined, min: 1, max: 1_000_000, integer: true },
  /**
   * The broadcaster's memory in MB. Fan-out is CPU-bound and Lambda's CPU share grows with memory
   * (1,769 MB = 1 vCPU), so a CPU-bound fan-out finishes sooner at about the same GB-seconds
   * (README "Performance"). Lambda's own range: 128..10240.
   */
  broadcasterMemoryMb: { default: 1024, min: 128, max: 10_240, integer: true },
  /** Stage default route throttling: steady-state requests per second (fractions allowed). */
  throttleRateLimit: { default: 500, min: 1, max: 1_000_000, integer: false },
  /** Stage default route throttling: burst size. */
  throttleBurstLimit: { default: 1000, min: 1, max: 1_000_000, integer: true },
  /**
   * Retention in days of every log group. Only CloudWatch Logs' own values are valid
   * (aws-cdk-lib's `RetentionDays`: 1, 3, 5, 7, 14, … 3653, and 9999 for "never expire");
   * `lib/config.ts` checks membership, and a test checks that `min` and `max` are that list's
   * ends and `default` is one of it (30: `RetentionDays.ONE_MONTH`).
   */
  logRetentionDays: { default: 30, min: 1, max: 9999, integer: true },
} as const satisfies Readonly<Record<string, NumericSetting>>;

export type SettingName = keyof typeof SETTINGS;

/**
 * Powertools' service name (the `service` key of every log line, a dimension of every metric)
 * and the CloudWatch namespace of the custom metrics, for every function.
 */
export const SERVICE_NAME = 'tenant-realtime';
export const METRICS_NAMESPACE = 'TenantRealtime';

/**
 * The broadcaster's custom metrics (namespace `METRICS_NAMESPACE`, dimension `service`; `rejected`
 * also has `reason`). The stack alarms and graphs them by these names.
 */
export const BroadcastMetric = {
  delivered: 'delivered',
  gone: 'gone',
  expired: 'expired',
  failed: 'failed',
  closed: 'closed',
  /** Connections that missed an event and could not be closed either (left to the sweeper). */
  broken: 'broken',
  filtered: 'filtered',
  recipients: 'recipients',
  fanoutDuration: 'fanoutDuration',
  rejected: 'rejected',
  processingErrors: 'processingErrors',
} as const;
/** The dimension of `rejected` that names the reason. */
export const REJECT_REASON_DIMENSION = 'reason';
