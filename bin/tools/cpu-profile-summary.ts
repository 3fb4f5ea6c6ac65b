/**
 * Summarises a `.cpuprofile` (from `node --cpu-prof`, e.g. bin/tools/profile-fanout.ts): busy time
 * by component (self time of the functions of each), and the top functions. With `--deliveries N`
 * the components are also given in µs per delivery. Profiler overhead inflates every figure; use
 * the shares, and thread-cpu.ts (no profiler) for absolute CPU.
 *
 *   npx tsx bin/tools/cpu-profile-summary.ts /tmp/fanout-profile/CPU.*.cpuprofile --deliveries 20000
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The component a function belongs to, from its script URL. */
function componentOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC (this thread)';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String|write)$/.test(functionName))
      return 'socket writes (kernel: loopback TCP)';
    return 'V8/native (program)';
  }
  if (/node_modules\/(@smithy|@aws-sdk)\//.test(url)) return 'AWS SDK (@aws-sdk, @smithy)';
  if (/node_modules\/ws\//.test(url)) return 'ws';
  if (/node_modules\/(tsx|esbuild)\//.test(url) || url.startsWith('node:internal/modules'))
    return 'module loading (tsx)';
  if (/node_modules\/@aws-lambda-powertools\//.test(url)) return 'Powertools';
  if (/node_modules\/(zod|jose)\//.test(url)) return 'zod, jose';
  if (/node_modules\/dynalite|node_modules\/(level|memdown)/.test(url)) return 'dynalite';
  if (/\/bin\/local\//.test(url)) return 'ours: local runtime (bin/local)';
  if (/\/lambdas\//.test(url)) return 'ours: handlers (lambdas)';
  if (/^node:(internal\/)?(_http|http|net|stream|internal\/streams|internal\/stream_base)/.test(url))
    return 'Node http, net, streams';
  if (/^node:(internal\/)?crypto/.test(url)) return 'Node crypto (SigV4 hashes, ids)';
  if (/^node:(internal\/)?(events|timers|process\/task_queues|event_target)/.test(url))
    return 'Node events, timers, promise queue';
  if (url.startsWith('node:')) return 'Node other';
  return 'other';
}

function summarize(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const components = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const component = componentOf(url, functionName);
    components.set(component, (components.get(component) ?? 0) + us);
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(bin|lambdas)\//, '$1/');
    const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    totalUs += us;
  }
  const idleUs = components.get('idle') ?? 0;
  components.delete('idle');
  functions.delete('(idle) :-1');
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalUs, idleUs, busyUs: totalUs - idleUs, components: sorted(components), functions: sorted(functions) };
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { deliveries: { type: 'string', default: '0' }, top: { type: 'string', default: '15' } },
  });
  const deliveries = Number(values.deliveries);
  for (const file of positionals) {
    const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
    const per = (us: number) => (deliveries > 0 ? `${(us / deliveries).toFixed(1).padStart(8)} µs/delivery` : '');
    console.log(`\n${file}: busy ${ms(s.busyUs)} ms of ${ms(s.totalUs)} ms ${per(s.busyUs)}`);
    for (const [name, us] of s.components) {
      if (us < s.busyUs * 0.005) continue;
      console.log(`  ${ms(us)} ms ${((100 * us) / s.busyUs).toFixed(1).padStart(5)} % ${per(us)}  ${name}`);
    }
    console.log('  top functions (self time):');
    for (const [name, us] of s.functions.slice(0, Number(values.top)))
      console.log(`  ${ms(us)} ms ${((100 * us) / s.busyUs).toFixed(1).padStart(5)} %  ${name}`);
  }
}

main();
