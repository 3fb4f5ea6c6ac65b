/**
 * Management API wiring: one client per process with keep-alive sockets, and the Sender on it.
 * Retries are done by the callers themselves (backoff with jitter, no shared retry quota), so the
 * SDK tries once. Each agent's sockets are bounded by the work its function has in flight.
 */
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Env, SETTINGS, SWEEP_CONCURRENCY } from '../contract/index.js';
import { once, requiredEnv } from './config.js';
import { ManagementApiSender } from './management-sender.js';

/** Sockets of the fan-out's client: one per call in flight at the largest concurrency a deployment may set. */
const FANOUT_MAX_SOCKETS = SETTINGS.fanoutConcurrency.max;

export function createManagementClient(maxSockets: number): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets };
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
}

export const managementClient = once(() => createManagementClient(FANOUT_MAX_SOCKETS));

export const sender = once(() => new ManagementApiSender(managementClient()));

/** The sweeper's own client: as many sockets as connections it handles at once. */
export const sweeperSender = once(() => new ManagementApiSender(createManagementClient(SWEEP_CONCURRENCY)));
