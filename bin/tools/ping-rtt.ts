/**
 * The application keep-alive's round trip on the local runtime: `{"action":"ping"}` sent, `pong`
 * received, one at a time on one authenticated connection.
 */
import { Route, ServerMessageType } from '../../lambdas/contract/index.js';
import { authedClient, type Runtime } from './harness.js';
import { percentile } from './stats.js';

export interface PingRoundTrip {
  readonly pings: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export async function measurePingRoundTrip(rt: Runtime, pings = 200, warmup = 20): Promise<PingRoundTrip> {
  const client = await authedClient(rt, { tenant: 'bench-ping', user: 'bench', ttl: 3600 });
  try {
    const times: number[] = [];
    for (let i = 0; i < warmup + pings; i++) {
      const t = performance.now();
      await client.request({ action: Route.ping }, [ServerMessageType.pong]);
      if (i >= warmup) times.push(performance.now() - t);
    }
    return { pings, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) };
  } finally {
    client.close();
  }
}
