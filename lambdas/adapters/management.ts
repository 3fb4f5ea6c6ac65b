/**
 * Management API wiring: one client per process with keep-alive sockets, and the Sender on it.
 * Retries are done by the fan-out itself (backoff with jitter, no shared retry quota), so the
 * SDK tries once.
 */
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Env, SETTINGS } from '../contract/index.js';
import { once, requiredEnv } from './config.js';
import { ManagementApiSender } from './management-sender.js';

export const managementClient = once(() => {
  // One socket per call in flight, for the largest fan-out concurrency a deployment may set.
  const agentOptions = { keepAlive: true, maxSockets: SETTINGS.fanoutConcurrency.max };
  return new ApiGatewayManagementApiClient({
    endpoint: requiredEnv(Env.managementEndpoint),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 2000,
      requestTimeout: 5000,
    }),
  });
});

export const sender = once(() => new ManagementApiSender(managementClient()));
