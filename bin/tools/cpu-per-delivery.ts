/**
 * The bench's CPU-per-delivery section: runs bin/tools/cpu-probe.ts in its own process against the
 * runtime's endpoints and an open fleet, and projects the result onto AWS.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localTableNames } from '../local/defaults.js';
import type { CpuJob, CpuProbeResult, CpuSample } from './cpu-probe.js';
import { percentile } from './stats.js';

export interface CpuRuntime {
  managementUrl: string;
  dynamodbEndpoint: string;
}

/** `opts.root`: another checkout whose probe (and broadcaster handler) to run; this one by default. */
export async function runCpuProbe(
  rt: CpuRuntime,
  job: CpuJob,
  opts: { concurrency: number; stage: string; root?: string },
): Promise<CpuProbeResult> {
  const file = join(tmpdir(), `cpu-probe-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(job));
  const tables = localTableNames(opts.stage);
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/tools/cpu-probe.ts', file], {
    ...(opts.root ? { cwd: opts.root } : {}),
    env: {
      ...process.env,
      WS_MANAGEMENT_ENDPOINT: rt.managementUrl,
      DYNAMODB_ENDPOINT: rt.dynamodbEndpoint,
      CONNECTIONS_TABLE: tables.connections,
      EVENT_LOG_TABLE: tables.events,
      FANOUT_CONCURRENCY: String(opts.concurrency),
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_NAMESPACE: 'bench',
      POWERTOOLS_SERVICE_NAME: 'broadcaster',
      NODE_NO_WARNINGS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    // Metrics lines are not kept: only the result line matters.
    if (out.length > 1_000_000 && !out.includes('CPU_PROBE ')) out = out.slice(-1000);
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('CPU_PROBE '));
  if (code !== 0 || !line) throw new Error(`cpu probe failed (exit ${code}):\n${err.slice(-2000)}`);
  return JSON.parse(line.slice('CPU_PROBE '.length)) as CpuProbeResult;
}

const perDelivery = (s: CpuSample) => s.cpuUs / Math.max(1, s.deliveries);

/** µs of CPU per delivery (median of rounds) for each side, and the ratio. */
export function summarize(result: CpuProbeResult) {
  const ours = percentile(result.broadcaster.map(perDelivery), 0.5);
  const bare = percentile(result.bare.map(perDelivery), 0.5);
  return { ours, bare, ratio: ours / bare, rounds: result.broadcaster.length };
}

/** Lambda CPU share per MB of memory: 1,769 MB = 1 vCPU. */
export const MB_PER_VCPU = 1769;

/**
 * On paper: deliveries/s per vCPU from the CPU per delivery; the memory that reaches `targetRps`
 * PostToConnection calls per second on CPU alone; the fan-out time of `connections` at a per-call
 * latency and concurrency (latency-bound: connections / concurrency × latency, unless CPU-bound).
 */
export function projectAws(
  cpuUsPerDelivery: number,
  opts: { targetRps: number; connections: number; callLatencyMs: number; concurrency: number },
) {
  const perVcpu = 1e6 / cpuUsPerDelivery;
  const vcpusNeeded = opts.targetRps / perVcpu;
  const memoryMb = Math.ceil(vcpusNeeded * MB_PER_VCPU);
  const latencyBoundRps = (opts.concurrency / opts.callLatencyMs) * 1000;
  const fanoutSeconds = opts.connections / latencyBoundRps;
  return { perVcpu, vcpusNeeded, memoryMb, latencyBoundRps, fanoutSeconds };
}
