/**
 * CDK app: one RealtimeStack per stage, configured from CDK context, checked by cdk-nag.
 *
 *   npx cdk synth -c stage=prod -c jwksUrl=https://issuer.example.com/.well-known/jwks.json
 *
 * Options and defaults: `CONFIG_OPTIONS` in lib/config.ts.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config.js';
import { RealtimeStack, stackNameFor } from '../lib/realtime-stack.js';

const app = new App();
const config = configFromContext(app.node);

new RealtimeStack(app, stackNameFor(config.stage), {
  config,
  description: `Tenant real-time events over WebSocket (${config.stage})`,
  // Environment-agnostic on purpose: no lookups, so one template deploys to any account/region.
});

// Findings fail the synth; each accepted one is acknowledged on the construct it concerns.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
