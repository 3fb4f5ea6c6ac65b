/**
 * Sender over the API Gateway management API (PostToConnection / DeleteConnection). Posts go
 * through `post` when given (the fan-out's `directPost`, which fails the way `client.send` does),
 * otherwise through `client.send`; either way one mapping turns an outcome into `SendResult`.
 */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendError } from '../core/errors.js';
import type { Sender, SendResult } from '../core/ports.js';
import type { PostToConnection } from './direct-post.js';

function httpStatusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

function isGone(err: unknown): boolean {
  return (
    err instanceof GoneException ||
    (err as { name?: string } | null)?.name === 'GoneException' ||
    httpStatusOf(err) === 410
  );
}

/** 429 (LimitExceededException / throttling) and 5xx are worth retrying; so are network errors. */
function toSendError(err: unknown): SendError {
  const status = httpStatusOf(err);
  const name = (err as { name?: string } | null)?.name ?? 'Error';
  const retryable = status === undefined || status === 429 || status >= 500;
  return new SendError(`${name}${status ? ` (HTTP ${status})` : ''}`, status, retryable, { cause: err });
}

export class ManagementApiSender implements Sender {
  private readonly postTo: PostToConnection;

  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    post?: PostToConnection,
  ) {
    this.postTo =
      post ??
      (async (connectionId, payload) => {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
      });
  }

  async post(connectionId: string, payload: string): Promise<SendResult> {
    try {
      await this.postTo(connectionId, payload);
      return 'sent';
    } catch (err) {
      if (isGone(err)) return 'gone';
      throw toSendError(err);
    }
  }

  async close(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (err) {
      if (isGone(err)) return;
      throw toSendError(err);
    }
  }
}
