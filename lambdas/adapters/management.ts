/**
 * Management API wiring: one client per process with keep-alive sockets, and the Sender on it.
 * Retries are done by the callers themselves (backoff with jitter, no shared retry quota), so the
 * SDK tries once. Each agent's sockets are bounded by the work its function has in flight.
 *
 * A fan-out is one PostToConnection per recipient, so the SDK's per-call CPU is most of the
 * broadcaster's (README "Performance"). Two things the SDK would otherwise redo for every call
 * are done once per client: resolving and sorting the middleware stack (`cacheMiddleware`, an SDK
 * option: safe here, nothing adds middleware to these clients or their commands) and building the
 * SigV4 signer, which copies the whole client configuration each time (`reuseSigner`). Posts
 * skip the rest of the per-command stack (`directPost`): each is still signed with the current
 * credentials and sent on the client's own HTTP handler, one request per recipient.
 */
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  ApiGatewayManagementApiClient,
  type ApiGatewayManagementApiClientConfig,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Env, SETTINGS, SWEEP_CONCURRENCY } from '../contract/index.js';
import { once, requiredEnv } from './config.js';
import { directPost } from './direct-post.js';
import { ManagementApiSender } from './management-sender.js';

/** Sockets of the fan-out's client: one per call in flight at the largest concurrency a deployment may set. */
const FANOUT_MAX_SOCKETS = SETTINGS.fanoutConcurrency.max;

/** `config` adds to (or overrides) the defaults: the bench points a client at the local runtime. */
export function createManagementClient(
  maxSockets: number,
  config: ApiGatewayManagementApiClientConfig = {},
): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets };
  const client = new ApiGatewayManagementApiClient({
    endpoint: config.endpoint ?? requiredEnv(Env.managementEndpoint),
    maxAttempts: 1,
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 2000,
      requestTimeout: 5000,
    }),
    ...config,
  });
  reuseSigner(client);
  return client;
}

/**
 * The SDK asks its signer factory for a new SigV4 signer on every request, and the factory copies
 * the resolved client configuration into each one. A signer holds no per-request state (it reads
 * the credentials provider at every signature), so one per auth scheme serves every request.
 */
export function reuseSigner(client: ApiGatewayManagementApiClient): void {
  const make = client.config.signer;
  const signers = new Map<string, ReturnType<typeof make>>();
  client.config.signer = (scheme) => {
    const key = scheme ? `${scheme.name}|${scheme.signingName ?? ''}|${scheme.signingRegion ?? ''}` : '';
    let signer = signers.get(key);
    if (!signer) {
      signer = make(scheme);
      signers.set(key, signer);
      signer.catch(() => signers.delete(key)); // a failed build is retried by the next request
    }
    return signer;
  };
}

export const managementClient = once(() => createManagementClient(FANOUT_MAX_SOCKETS));

/** A sender whose posts skip the client's middleware stack (`directPost`); closes go through the client. */
export function createSender(client: ApiGatewayManagementApiClient): ManagementApiSender {
  return new ManagementApiSender(client, directPost(client));
}

export const sender = once(() => createSender(managementClient()));

/** The sweeper's own client: as many sockets as connections it handles at once. */
export const sweeperSender = once(() => createSender(createManagementClient(SWEEP_CONCURRENCY)));
