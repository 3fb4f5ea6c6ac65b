/**
 * Invoking a handler the way Lambda does: a fresh `context` per invocation and a timeout.
 * The handler keeps running after a timeout (it cannot be frozen locally); its result is dropped.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './defaults.js';
import { usage } from './usage.js';

/** Any Lambda handler: `handler(event, context)` returning a promise. */
export type LambdaHandler<E = unknown, R = unknown> = (event: E, context: Context) => Promise<R>;

export class LambdaTimeoutError extends Error {
  override readonly name = 'LambdaTimeoutError';
}

/** A Lambda-like context; only the fields handlers read are meaningful. */
export function createLambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = (): never => {
    throw new Error('context.done/fail/succeed are not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Invokes `handler` with a fresh context; rejects with `LambdaTimeoutError` after `timeoutMs`. */
export async function invokeLambda<E, R>(
  handler: LambdaHandler<E, R>,
  event: E,
  functionName: string,
  timeoutMs: number,
): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LambdaTimeoutError(`${functionName} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    // `Promise.resolve().then` turns a synchronous throw into a rejection too.
    return await Promise.race([
      Promise.resolve().then(() => handler(event, createLambdaContext(functionName, timeoutMs))),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    usage.invocation(functionName, performance.now() - started);
  }
}
