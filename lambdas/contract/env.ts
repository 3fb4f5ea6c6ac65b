/**
 * Names of the environment variables the handlers read. The stack sets them, the local runtime
 * sets them, and `lambdas/adapters/config.ts` is the only code that reads them.
 */
export const Env = {
  connectionsTable: 'CONNECTIONS_TABLE',
  eventLogTable: 'EVENT_LOG_TABLE',
  /** Management API endpoint, e.g. `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. */
  managementEndpoint: 'WS_MANAGEMENT_ENDPOINT',
  /** HS256 secret, in clear (local development only). */
  jwtSecret: 'JWT_SECRET',
  /** Secrets Manager ARN of the HS256 secret (deployed stacks). */
  jwtSecretArn: 'JWT_SECRET_ARN',
  /** JWKS URL for RS256/ES256 tokens (OIDC, Cognito). Exclusive with the secret. */
  jwksUrl: 'JWKS_URL',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  tenantClaim: 'TENANT_CLAIM',
  authTimeoutSeconds: 'AUTH_TIMEOUT_SECONDS',
  /** Comma-separated Origin allowlist; unset means any Origin. */
  allowedOrigins: 'ALLOWED_ORIGINS',
  eventRetentionHours: 'EVENT_RETENTION_HOURS',
  fanoutConcurrency: 'FANOUT_CONCURRENCY',
  /** Optional cap on PostToConnection calls per second per broadcaster invocation. */
  fanoutMaxRps: 'FANOUT_MAX_RPS',
  /** HTTP API: the role allowed on `GET /status` and `GET /health?deep=1`. */
  statusRole: 'STATUS_ROLE',
  /** HTTP API: the deployment stage `GET /health` reports. */
  stage: 'STAGE',
  /** HTTP API: the release `GET /health` reports (package.json `version`). */
  appVersion: 'APP_VERSION',
  /** Local only: a DynamoDB endpoint (dynalite, DynamoDB Local). */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
} as const;
export type EnvName = (typeof Env)[keyof typeof Env];
