/** ManagementApiSender against a scripted management-API client: outcome and error mapping. */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from 'vitest';
import { ManagementApiSender } from '../../lambdas/adapters/management-sender.js';
import { SendError } from '../../lambdas/core/errors.js';

const meta = (httpStatusCode?: number) => ({ $metadata: httpStatusCode === undefined ? {} : { httpStatusCode } });

/** A client whose `send` records the command and then throws `error` (or succeeds). */
function client(error?: unknown) {
  const commands: unknown[] = [];
  const fake = {
    send: async (command: unknown) => {
      commands.push(command);
      if (error !== undefined) throw error;
      return {};
    },
  };
  return { commands, sender: new ManagementApiSender(fake as unknown as ApiGatewayManagementApiClient) };
}

async function sendError(promise: Promise<unknown>): Promise<SendError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SendError);
  return err as SendError;
}

describe('ManagementApiSender.post', () => {
  it('posts the payload to the connection and resolves sent', async () => {
    const { commands, sender } = client();
    expect(await sender.post('abc=', '{"type":"pong"}')).toBe('sent');
    expect(commands).toHaveLength(1);
    expect(commands[0]).toBeInstanceOf(PostToConnectionCommand);
    expect((commands[0] as PostToConnectionCommand).input).toEqual({ ConnectionId: 'abc=', Data: '{"type":"pong"}' });
  });

  it.each([
    ['a GoneException', new GoneException({ message: 'gone', ...meta(410) })],
    ['an error named GoneException (another SDK copy)', Object.assign(new Error('gone'), { name: 'GoneException' })],
    ['any error with HTTP 410', Object.assign(new Error('gone'), meta(410))],
  ])('resolves gone on %s', async (_label, error) => {
    expect(await client(error).sender.post('c', 'p')).toBe('gone');
  });

  it.each([
    ['throttling (429)', new LimitExceededException({ message: 'slow down', ...meta(429) }), 429, true],
    [
      'a server error (500)',
      Object.assign(new Error('internal'), { name: 'InternalServerError' }, meta(500)),
      500,
      true,
    ],
    ['a bad gateway (502)', Object.assign(new Error('bad gateway'), meta(502)), 502, true],
    [
      'a network error without a response',
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
      undefined,
      true,
    ],
    ['forbidden (403)', new ForbiddenException({ message: 'no', ...meta(403) }), 403, false],
    ['payload too large (413)', new PayloadTooLargeException({ message: 'big', ...meta(413) }), 413, false],
  ])(
    'throws SendError on %s, retryable as appropriate, keeping the cause',
    async (_label, error, status, retryable) => {
      const err = await sendError(client(error).sender.post('c', 'p'));
      expect(err.status).toBe(status);
      expect(err.retryable).toBe(retryable);
      expect(err.cause).toBe(error);
      if (status !== undefined) expect(err.message).toContain(`HTTP ${status}`);
    },
  );
});

describe('ManagementApiSender.close', () => {
  it('deletes the connection', async () => {
    const { commands, sender } = client();
    await sender.close('abc=');
    expect(commands[0]).toBeInstanceOf(DeleteConnectionCommand);
    expect((commands[0] as DeleteConnectionCommand).input).toEqual({ ConnectionId: 'abc=' });
  });

  it('treats a connection already gone as closed', async () => {
    await expect(
      client(new GoneException({ message: 'gone', ...meta(410) })).sender.close('c'),
    ).resolves.toBeUndefined();
  });

  it('throws SendError on other failures', async () => {
    const err = await sendError(client(Object.assign(new Error('internal'), meta(500))).sender.close('c'));
    expect(err).toMatchObject({ status: 500, retryable: true });
  });
});
