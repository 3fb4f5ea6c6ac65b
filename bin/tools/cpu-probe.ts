/**
 * CPU per delivery, run by the bench as its own process (`node --import tsx bin/tools/cpu-probe.ts
 * <job.json>`), so that process.cpuUsage() counts nothing but the measured work:
 * - the broadcaster: the real handler module (adapters, SDK clients, metrics), invoked with an
 *   EventBridge event for a tenant whose N connections the bench holds open;
 * - the bare SDK: a PostToConnectionCommand loop to the same connections, on a client built by the
 *   same factory (same agent, keep-alive, socket cap) at the same concurrency.
 * Rounds alternate their order after a warm-up of each (at least 5,000 deliveries). Prints `CPU_PROBE <json>`.
 * The environment (endpoints, tables, FANOUT_CONCURRENCY) is set by the bench.
 */
import { readFileSync } from 'node:fs';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createManagementClient } from '../../lambdas/adapters/management.js';
import { Env } from '../../lambdas/contract/index.js';
import { handler } from '../../lambdas/handlers/broadcaster.js';
import { buildEvent } from '../local/eventbridge.js';

export interface CpuJob {
  tenantId: string;
  connectionIds: string[];
  rounds: number;
}
export interface CpuSample {
  cpuUs: number;
  ms: number;
  deliveries: number;
}
export interface CpuProbeResult {
  broadcaster: CpuSample[];
  bare: CpuSample[];
}

async function measure(run: () => Promise<number>): Promise<CpuSample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deliveries = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, ms, deliveries };
}

async function main() {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as CpuJob;
  const concurrency = Number(process.env[Env.fanoutConcurrency]);
  // The broadcaster's own client has SETTINGS.fanoutConcurrency.max sockets; so has this one.
  const client = createManagementClient(1000);
  let seq = 0;
  const broadcaster = async () => {
    const event = buildEvent({
      source: 'bench.cpu',
      detailType: 'goal.created',
      detail: { tenantId: job.tenantId, goalId: `cpu-${seq++}` },
    });
    const result = (await handler(event)) as { status: string; stats?: { delivered: number } };
    if (result.status !== 'delivered') throw new Error(`broadcast ${result.status}`);
    return result.stats!.delivered;
  };
  const bare = async () => {
    // The same frame size as the broadcaster's envelope.
    const payload = JSON.stringify({
      type: 'goal.created',
      data: { tenantId: job.tenantId, goalId: `cpu-${seq++}` },
      timestamp: new Date().toISOString(),
      eventId: `evt_${crypto.randomUUID()}`,
      tenantId: job.tenantId,
    });
    let next = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, job.connectionIds.length) }, async () => {
        while (next < job.connectionIds.length) {
          const id = job.connectionIds[next++]!;
          await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: payload }));
          sent++;
        }
      }),
    );
    return sent;
  };
  // Warm-up of each side, at least 5,000 deliveries: until then the JIT is still compiling the
  // broadcaster's recipient read (deserialising a page of 1,000 costs 5–10× more at first).
  for (let warm = 0; warm < Math.max(1, Math.ceil(5000 / job.connectionIds.length)); warm++) {
    await broadcaster();
    await bare();
  }
  const out: CpuProbeResult = { broadcaster: [], bare: [] };
  for (let round = 0; round < job.rounds; round++) {
    for (const side of round % 2 === 0 ? (['broadcaster', 'bare'] as const) : (['bare', 'broadcaster'] as const)) {
      out[side].push(await measure(side === 'broadcaster' ? broadcaster : bare));
    }
  }
  client.destroy();
  console.log(`CPU_PROBE ${JSON.stringify(out)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
