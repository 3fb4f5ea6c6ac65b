/**
 * cdk-nag AwsSolutions: every finding is fixed or acknowledged on the construct it concerns.
 *
 * Two views of the same check: `validateScope` is the pack's own entry point and lists the
 * findings no acknowledgement covers (readable failures); `app.synth()` with the pack
 * registered through `Validations` is what `cdk synth` runs, and throws on any finding.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../lib/config.js';
import { RealtimeStack, stackNameFor } from '../../lib/realtime-stack.js';
import { testApp } from './helpers.js';

const VARIANTS: Record<string, Record<string, string>> = {
  'default (generated HS256 secret)': {},
  'JWKS, origins, sources, rps cap, imported bus, alarm e-mail, prod': {
    stage: 'prod',
    jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
    jwtIssuer: 'https://issuer.example.com/',
    jwtAudience: 'realtime',
    allowedOrigins: 'https://app.example.com,https://admin.example.com',
    eventSources: 'app.goals,app.billing',
    eventBusName: 'domain-events',
    fanoutMaxRps: '2000',
    alarmEmail: 'oncall@example.com',
  },
  'existing HS256 secret': {
    jwtSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:realtime/jwt-AbC123',
  },
};

function appWithStack(context: Record<string, string>, options: { builtinValidation?: boolean } = {}) {
  const app = testApp(context, options);
  const config = configFromContext(app.node);
  new RealtimeStack(app, stackNameFor(config.stage), { config });
  return app;
}

describe('cdk-nag AwsSolutions', () => {
  it.each(Object.entries(VARIANTS))('leaves no finding unacknowledged: %s', (_name, context) => {
    const app = appWithStack(context);
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('synthesizes with the pack registered the way bin/app.ts registers it, and CDK built-in validation on', () => {
    const app = appWithStack({}, { builtinValidation: true });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
