/**
 * CPU time per thread of a local process, from Linux's /proc/<pid>/task/<tid>/schedstat: the
 * nanoseconds each thread ran on a CPU and the nanoseconds it waited, runnable, for one (what a
 * shared machine costs). No profiler, so nothing is slowed down. Elsewhere than Linux: empty.
 *
 * The runtime's main thread is the task whose id is the process id; its busiest other thread over
 * a fan-out is the broadcaster's worker (the runtime's other threads are V8's GC helpers, libuv's
 * pool and tsx's loader, which do little once started).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTime {
  cpuNs: number;
  waitNs: number;
}

/** Every thread of `pid`, by thread id. */
export function threadTimes(pid: number): Map<number, ThreadTime> {
  const out = new Map<number, ThreadTime>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      out.set(Number(tid), { cpuNs: Number(cpu), waitNs: Number(wait) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** What each thread used between two readings (threads that ended are left out). */
export function threadDelta(before: Map<number, ThreadTime>, after: Map<number, ThreadTime>): Map<number, ThreadTime> {
  const out = new Map<number, ThreadTime>();
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { cpuNs: 0, waitNs: 0 };
    out.set(tid, { cpuNs: a.cpuNs - b.cpuNs, waitNs: a.waitNs - b.waitNs });
  }
  return out;
}

export interface RuntimeCpu {
  /** The main thread: gateway, management API, EventBridge, HTTP API. */
  main: ThreadTime;
  /** The busiest other thread: the broadcaster's worker during fan-outs. */
  worker: ThreadTime;
  /** Every other thread together. */
  rest: ThreadTime;
}

const add = (a: ThreadTime, b: ThreadTime): ThreadTime => ({ cpuNs: a.cpuNs + b.cpuNs, waitNs: a.waitNs + b.waitNs });
const ZERO: ThreadTime = { cpuNs: 0, waitNs: 0 };

/** A runtime process's thread delta, split into main thread, broadcaster worker and the rest. */
export function runtimeCpu(pid: number, delta: Map<number, ThreadTime>): RuntimeCpu {
  const main = delta.get(pid) ?? ZERO;
  const others = [...delta].filter(([tid]) => tid !== pid).map(([, t]) => t);
  others.sort((a, b) => b.cpuNs - a.cpuNs);
  return { main, worker: others[0] ?? ZERO, rest: others.slice(1).reduce(add, ZERO) };
}

/** Every thread of a process together. */
export function processCpu(delta: Map<number, ThreadTime>): ThreadTime {
  return [...delta.values()].reduce(add, ZERO);
}
