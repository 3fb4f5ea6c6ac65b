import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, metrics } from '../../lambdas/adapters/observability.js';
import { reply, webSocketHandler } from '../../lambdas/adapters/websocket-handler.js';
import { serverMessage } from '../../lambdas/contract/index.js';

const context = {
  functionName: 'tenant-realtime-test-ping',
  awsRequestId: 'req-1234',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

const event = (routeKey = 'ping') => ({
  requestContext: { connectionId: 'c1', routeKey, eventType: 'MESSAGE' },
  body: '{"action":"ping"}',
});

describe('webSocketHandler', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('passes the Lambda context to the logic, to the logger (request id) and to the cold-start metric', async () => {
    // Prepare
    const addContext = vi.spyOn(logger, 'addContext');
    const coldStart = vi.spyOn(metrics, 'captureColdStartMetric').mockImplementation(() => undefined);
    const seen: Context[] = [];
    const handler = webSocketHandler(async (_event, ctx) => {
      seen.push(ctx);
      return reply(serverMessage.pong(0));
    });
    // Act
    const result = await handler(event(), context);
    // Assess
    expect(result).toMatchObject({ statusCode: 200 });
    expect(seen).toEqual([context]);
    expect(addContext).toHaveBeenCalledWith(context);
    expect(coldStart).toHaveBeenCalledWith(context.functionName);
  });

  it('logs a route failure with the request id and answers internal_error', async () => {
    vi.spyOn(metrics, 'captureColdStartMetric').mockImplementation(() => undefined);
    const lines: string[] = [];
    // Powertools writes JSON lines through its own Console on the process streams.
    const capture = (chunk: unknown) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l.startsWith('{')),
      );
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const handler = webSocketHandler(async () => {
      throw new Error('boom');
    });

    const result = await handler(event(), context);

    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ type: 'error', data: { code: 'internal_error' } });
    const failure = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'route failed');
    expect(failure).toMatchObject({ function_request_id: 'req-1234', connectionId: 'c1', routeKey: 'ping' });
  });
});
