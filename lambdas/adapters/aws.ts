/**
 * AWS SDK clients, built once per process and reused by warm invocations. Region and
 * credentials come from the standard environment (Lambda sets them; the local runtime sets
 * dummy ones), endpoints from our configuration.
 */
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Env } from '../contract/index.js';
import { once, optionalEnv, requiredEnv } from './config.js';

export const documentClient = once(() => {
  const endpoint = optionalEnv(Env.dynamodbEndpoint);
  return DynamoDBDocumentClient.from(new DynamoDBClient(endpoint ? { endpoint } : {}), {
    marshallOptions: { removeUndefinedValues: true },
  });
});

/**
 * Management API client with keep-alive sockets, reused across invocations. Retries are done
 * by the fan-out itself (backoff with jitter, no shared retry quota), so the SDK tries once.
 */
export const managementClient = once(() => {
  const agentOptions = { keepAlive: true, maxSockets: 1000 };
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
