/**
 * DynamoDB wiring: one document client per process (reused by warm invocations) and the store
 * and event log built on it. The region and credentials come from the standard environment
 * (Lambda sets them; the local runtime sets dummy ones); DYNAMODB_ENDPOINT points at a local
 * DynamoDB.
 */
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Env } from '../contract/index.js';
import { once, optionalEnv, requiredEnv } from './config.js';
import { DynamoEventLog } from './dynamo-event-log.js';
import { DynamoConnectionStore } from './dynamo-store.js';

/**
 * Bounded calls: a DynamoDB that stops answering fails the call (and the SDK retries it) instead
 * of holding the invocation until the Lambda timeout. Bounded sockets too: every caller bounds its
 * own concurrency (fan-out ≤ 1000 sends, the sweeper SWEEP_CONCURRENCY), and the agent never
 * opens more than that, whatever a caller does.
 */
const MAX_SOCKETS = 1000;
const requestHandler = () =>
  new NodeHttpHandler({
    httpsAgent: new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
  });

export const documentClient = once(() => {
  const endpoint = optionalEnv(Env.dynamodbEndpoint);
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ requestHandler: requestHandler(), ...(endpoint ? { endpoint } : {}) }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
});

export const connectionStore = once(
  () => new DynamoConnectionStore(documentClient(), requiredEnv(Env.connectionsTable)),
);
export const eventLog = once(() => new DynamoEventLog(documentClient(), requiredEnv(Env.eventLogTable)));
