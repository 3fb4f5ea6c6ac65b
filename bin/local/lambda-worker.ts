/**
 * A Lambda execution environment in a worker thread: imports one handler module (with its own
 * module scope, as each Lambda environment has) and runs the invocations the main thread posts.
 * The environment variables are the runtime's, copied when the worker starts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLambdaContext, type LambdaHandler } from './lambda.js';

export interface WorkerInit {
  /** file URL of the handler module. */
  moduleUrl: string;
  functionName: string;
}
export type WorkerRequest = { id: number; event: unknown; timeoutMs: number };
export type WorkerReply =
  | { ready: true }
  | { ready: false; error: SerializedError }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: SerializedError };
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  return err instanceof Error
    ? { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) }
    : { name: 'Error', message: String(err) };
}

if (parentPort) {
  const port = parentPort;
  const { moduleUrl, functionName } = workerData as WorkerInit;
  try {
    const mod = (await import(moduleUrl)) as { handler?: unknown };
    if (typeof mod.handler !== 'function') throw new Error(`${moduleUrl} does not export a \`handler\` function`);
    const handler = mod.handler as LambdaHandler;
    port.on('message', (request: WorkerRequest) => {
      Promise.resolve()
        .then(() => handler(request.event, createLambdaContext(functionName, request.timeoutMs)))
        .then(
          (result) => port.postMessage({ id: request.id, ok: true, result } satisfies WorkerReply),
          (err: unknown) =>
            port.postMessage({ id: request.id, ok: false, error: serializeError(err) } satisfies WorkerReply),
        );
    });
    port.postMessage({ ready: true } satisfies WorkerReply);
  } catch (err) {
    port.postMessage({ ready: false, error: serializeError(err) } satisfies WorkerReply);
  }
}
