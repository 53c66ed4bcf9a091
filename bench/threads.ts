/**
 * CPU time per thread of this process, from Linux's /proc/self/task/<tid>/schedstat (nanoseconds
 * on the CPU), grouped by what the thread does. The host runtime names its threads: the dext's
 * queues "dext <name>", the virtual bus "dextio-bus", the addon's notification queue
 * "notifications". The JavaScript thread is the one whose id is the process id.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type ThreadGroup = 'js' | 'dext' | 'bus' | 'other';
export const THREAD_GROUPS: readonly ThreadGroup[] = ['js', 'dext', 'bus', 'other'];

export type CpuTimes = Record<ThreadGroup, number>;

export function threadGroup(tid: number, pid: number, name: string): ThreadGroup {
  if (tid === pid) return 'js';
  if (name.startsWith('dext ')) return 'dext';
  if (name === 'dextio-bus') return 'bus';
  return 'other';
}

/** Nanoseconds each group has run so far; threads that ended meanwhile are not counted. */
export function cpuTimes(): CpuTimes {
  const times: CpuTimes = { js: 0, dext: 0, bus: 0, other: 0 };
  for (const entry of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${entry}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/self/task/${entry}/schedstat`, 'utf8').split(' ')[0]);
      times[threadGroup(Number(entry), process.pid, name)] += ns;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return times;
}

export function cpuSince(before: CpuTimes): CpuTimes {
  const now = cpuTimes();
  return { js: now.js - before.js, dext: now.dext - before.dext, bus: now.bus - before.bus, other: now.other - before.other };
}
