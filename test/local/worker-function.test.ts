/** The broadcaster's local execution environment: a handler module in its own worker thread. */
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaContext } from '../../bin/local/lambda.js';
import { startWorkerFunction, type WorkerFunction } from '../../bin/local/worker-function.js';

const MODULE = new URL('./fixtures/worker/echo.js', import.meta.url);

describe('startWorkerFunction', () => {
  let fn: WorkerFunction;
  beforeAll(async () => {
    process.env.WORKER_TEST_VALUE = 'from-the-runtime';
    fn = await startWorkerFunction(MODULE, 'echo-fn');
  });
  afterAll(async () => {
    delete process.env.WORKER_TEST_VALUE;
    await fn?.close();
  });
  const invoke = (event: unknown) => fn.handler(event, createLambdaContext('echo-fn', 5_000));

  it('runs the handler in another thread with the runtime environment and a Lambda context', async () => {
    const result = (await invoke({ mode: 'ok', value: { n: 1 } })) as Record<string, unknown>;
    expect(result).toMatchObject({ value: { n: 1 }, env: 'from-the-runtime', functionName: 'echo-fn' });
    expect(result.threadId).not.toBe(threadId);
    expect(result.remaining).toBeGreaterThan(4_000);
  });

  it('rejects with the handler error, name and message kept', async () => {
    await expect(invoke({ mode: 'throw' })).rejects.toMatchObject({ name: 'RefusedError', message: 'handler refused' });
  });

  it('runs concurrent invocations and keeps each result with its caller', async () => {
    const results = (await Promise.all(
      Array.from({ length: 20 }, (_, i) => invoke({ mode: 'ok', value: i })),
    )) as Array<{ value: number }>;
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('fails the invocation of a crashed environment and starts a new one for the next', async () => {
    const before = (await invoke({ mode: 'ok' })) as { threadId: number };
    await expect(invoke({ mode: 'exit' })).rejects.toThrow(/exited with code 3/);
    const after = (await invoke({ mode: 'ok', value: 'again' })) as { value: string; threadId: number };
    expect(after.value).toBe('again');
    expect(after.threadId).not.toBe(before.threadId);
  });

  it('refuses to start on a module without a handler', async () => {
    await expect(
      startWorkerFunction(new URL('./fixtures/worker/missing.js', import.meta.url), 'missing'),
    ).rejects.toThrow();
  });
});
