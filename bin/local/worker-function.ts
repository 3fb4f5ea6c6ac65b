/**
 * Runs a Lambda handler in its own worker thread, as Lambda runs a function in its own execution
 * environment: the handler's CPU work (SDK calls, JSON) no longer shares the gateway's thread,
 * so the local topology matches AWS (the broadcaster is not inside API Gateway) and a second
 * core is used. A crashed worker fails its pending invocations and is replaced on the next one.
 */
import { Worker } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import type { LambdaHandler } from './lambda.js';
import type { SerializedError, WorkerInit, WorkerReply, WorkerRequest } from './lambda-worker.js';

const WORKER_URL = new URL('./lambda-worker.ts', import.meta.url);
/** tsx's ESM API entry (its `register()` installs the TypeScript loader in the worker). */
const TSX_API_URL = import.meta.resolve('tsx/esm/api');
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApiUrl).then(({ register }) => { register(); return import(workerData.entryUrl); });
`;

export interface WorkerFunction {
  /** Invoke through the worker; same signature as the handler itself. */
  handler: LambdaHandler;
  close(): Promise<void>;
}

function toError(serialized: SerializedError): Error {
  const err = new Error(serialized.message);
  err.name = serialized.name;
  if (serialized.stack) err.stack = serialized.stack;
  return err;
}

export async function startWorkerFunction(moduleUrl: URL, functionName: string): Promise<WorkerFunction> {
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let current: Promise<Worker> | undefined;
  let closing = false;

  const spawn = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      // A worker's entry is loaded before any --import hook runs, so a small bootstrap registers
      // tsx first; the TypeScript entry and the handler modules then load as in the main thread.
      const worker = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: {
          moduleUrl: moduleUrl.href,
          functionName,
          entryUrl: WORKER_URL.href,
          tsxApiUrl: TSX_API_URL,
        } satisfies WorkerInit & { entryUrl: string; tsxApiUrl: string },
      });
      const fail = (err: Error) => {
        for (const { reject: rejectPending } of pending.values()) rejectPending(err);
        pending.clear();
        current = undefined;
      };
      worker.on('message', (reply: WorkerReply) => {
        if ('ready' in reply) {
          if (reply.ready) resolve(worker);
          else {
            reject(toError(reply.error));
            void worker.terminate();
          }
          return;
        }
        const waiter = pending.get(reply.id);
        if (!waiter) return;
        pending.delete(reply.id);
        if (reply.ok) waiter.resolve(reply.result);
        else waiter.reject(toError(reply.error));
      });
      worker.on('error', (err) => {
        reject(err);
        fail(err);
      });
      worker.on('exit', (code) => {
        if (!closing) fail(new Error(`${functionName} worker exited with code ${code}`));
      });
    });

  current = spawn();
  await current;

  return {
    handler: async (event: unknown, context: Context) => {
      current ??= spawn();
      const worker = await current;
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, event, timeoutMs: context.getRemainingTimeInMillis() } satisfies WorkerRequest);
      });
    },
    close: async () => {
      closing = true;
      const worker = await current?.catch(() => undefined);
      await worker?.terminate();
    },
  };
}
