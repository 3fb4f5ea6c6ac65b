/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias set
 * in lib/constructs/node-function.ts). Lambda hands a function its role's credentials in the
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the default
 * chain's other sources (SSO, INI files, process, IMDS, web identity) are dead code there, and
 * they were about a quarter of each DynamoDB bundle's bytes and of its cold import time.
 * Same export name and signature as the chain's, so the SDK clients take it unchanged.
 */
import { type FromEnvInit, fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: FromEnvInit = {}) => fromEnv(init);
