/**
 * The bench's WebSocket fleets: N authenticated `ws` clients of one tenant in this process (the
 * runtime is another), counting frames per marker (an eventId, or the bare loop's `bench` field).
 */
import WebSocket from 'ws';
import { Route, ServerMessageType } from '../../lambdas/contract/index.js';
import { type Runtime, token } from './harness.js';

/** How long one fan-out may take before the bench reports it incomplete. */
const WAIT_MS = 180_000;

/** A bare client: counts frames per eventId, records arrival times. */
export interface Fleet {
  ids: string[];
  sockets: WebSocket[];
  /** Resolves when every socket has received a frame containing `marker`. */
  waitAll(marker: string): Promise<number>;
  /** Per-frame arrival callback (latency runs). */
  onFrame?: (text: string, at: number) => void;
  close(): void;
}

export async function openFleet(rt: Runtime, n: number, tenant: string): Promise<Fleet> {
  const jwt = await token({ tenant, user: 'bench', ttl: 3 * 3600 });
  const ids: string[] = [];
  const sockets: WebSocket[] = [];
  const waiting = new Map<string, { left: number; resolve: (t: number) => void }>();
  const fleet: Fleet = {
    ids,
    sockets,
    waitAll: (marker) =>
      new Promise((resolve, reject) => {
        // Bounded: a missing delivery is reported, never waited for forever.
        const timer = setTimeout(() => {
          const w = waiting.get(marker);
          waiting.delete(marker);
          reject(
            new Error(
              `${marker}: ${w ? sockets.length - w.left : '?'} of ${sockets.length} clients received it within ${WAIT_MS / 1000} s`,
            ),
          );
        }, WAIT_MS);
        waiting.set(marker, {
          left: sockets.length,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      }),
    close: () => {
      for (const s of sockets) s.terminate();
    },
  };
  const markerOf = (text: string) => /"(?:eventId|bench)":"([^"]+)"/.exec(text)?.[1];
  const openOne = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(rt.wsUrl);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ action: Route.auth, token: jwt })));
      ws.once('message', (data) => {
        const reply = JSON.parse(data.toString()) as { type: string; data: { connectionId: string } };
        if (reply.type !== ServerMessageType.authSuccess) {
          ws.terminate();
          return reject(new Error(`auth failed: ${data.toString()}`));
        }
        ids.push(reply.data.connectionId);
        sockets.push(ws);
        ws.on('message', (frame) => {
          const at = performance.now();
          const text = frame.toString();
          fleet.onFrame?.(text, at);
          const marker = markerOf(text);
          const w = marker && waiting.get(marker);
          if (w && --w.left === 0) {
            waiting.delete(marker);
            w.resolve(at);
          }
        });
        resolve();
      });
    });
  // A loaded machine can fail an auth with internal_error (a DynamoDB timeout): retry it twice.
  const openRetrying = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openOne();
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  };
  for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: Math.min(250, n - i) }, openRetrying));
  return fleet;
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
