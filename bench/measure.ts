/**
 * One point of the benchmark: SourceSink IN of the embedded virtual gadget streamed through
 * `@dextio/core`'s `Pipe.stream`, as an app would, with what it cost around it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Pipe } from '@dextio/core';
import { firstValueFrom, lastValueFrom, take, takeWhile, tap } from 'rxjs';
import { native } from './native.js';
import { cpuSince, cpuTimes, type CpuTimes } from './threads.js';

export type BusModel = 'high-speed' | 'unthrottled';

/** USB 2.0 high speed, bulk: 13 packets of 512 bytes per 125 us microframe. */
export const HIGH_SPEED_BULK_BYTES_PER_SECOND = 13 * 512 * 8000;

export interface Point {
  bus: BusModel;
  transferSize: number;
  inFlight: number;
  path: 'mapped' | 'descriptor';
  transfers: number;
  seconds: number;
  megabytesPerSecond: number;
  transfersPerSecond: number;
  /** Microseconds of CPU per transfer, per thread group. */
  cpuMicroseconds: CpuTimes;
  /** Calls into the dext plus messages from it, per transfer. */
  ipcPerTransfer: number;
  /** The calls alone (kicks, descriptor submissions), per transfer. */
  ipcCallsPerTransfer: number;
  /** V8 heap bytes allocated per transfer (unthrottled only; null where a GC spoilt the count). */
  heapBytesPerTransfer: number | null;
  /** Share of the bus's limit (high speed only). */
  busShare: number | null;
}

/**
 * Streams for about `seconds`. The rate is the steady state's: from the first chunk to the last,
 * counting the chunks after the first (filling the pipeline once is latency, not throughput).
 */
async function streamFor(pipe: Pipe, transferSize: number, inFlight: number, seconds: number) {
  let transfers = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let deadline = Infinity;
  await lastValueFrom(
    pipe.stream({ transferSize, inFlight }).pipe(
      takeWhile(() => last < deadline),
      tap((chunk) => {
        last = performance.now();
        if (first === 0) {
          first = last;
          deadline = first + seconds * 1000;
          return;
        }
        transfers++;
        bytes += chunk.length;
      }),
    ),
    { defaultValue: undefined },
  );
  await pipe.drained();
  return { transfers, bytes, seconds: (last - first) / 1000 };
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run node with --expose-gc');
  gc();
}

/**
 * Heap bytes `work` allocates, or null if a garbage collection ran meanwhile (then the heap's
 * growth says nothing). Needs a young generation large enough for the whole run.
 */
export async function heapAllocated(work: () => Promise<void>): Promise<number | null> {
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  collectGarbage();
  // The observer hears of a collection a little later: let the forced one's entry through.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  await settle();
  collections = 0;
  const before = getHeapStatistics().used_heap_size;
  await work();
  const after = getHeapStatistics().used_heap_size;
  await settle();
  observer.disconnect();
  return collections === 0 ? after - before : null;
}

/** Heap bytes per transfer of a steady stream of `transfers` (after one to warm up). */
async function streamHeapBytes(pipe: Pipe, transferSize: number, inFlight: number, transfers: number) {
  const run = async () => {
    await lastValueFrom(pipe.stream({ transferSize, inFlight }).pipe(take(transfers)));
    await pipe.drained();
  };
  await run();
  const allocated = await heapAllocated(run);
  return allocated === null ? null : allocated / transfers;
}

/**
 * Heap bytes per transfer of `readLeased` kept `inFlight` deep, each lease released as it comes:
 * the zero-copy way to read. Returns null if a GC ran.
 */
export async function leasedHeapBytes(pipe: Pipe, length: number, inFlight: number, transfers: number) {
  const run = async () => {
    let started = 0;
    let finished = 0;
    await new Promise<void>((resolve, reject) => {
      const next = (): void => {
        if (started === transfers) return;
        started++;
        firstValueFrom(pipe.readLeased(length)).then((lease) => {
          lease.release();
          if (++finished === transfers) resolve();
          else next();
        }, reject);
      };
      for (let i = 0; i < inFlight; i++) next();
    });
  };
  await run();
  const allocated = await heapAllocated(run);
  return allocated === null ? null : allocated / transfers;
}

export async function measurePoint(
  pipe: Pipe,
  bus: BusModel,
  transferSize: number,
  inFlight: number,
  seconds: number,
): Promise<Point> {
  // A short stream first: the pipe's buffers exist and the JIT has seen the code.
  await streamFor(pipe, transferSize, inFlight, Math.min(0.05, seconds));
  const ipcBefore = native.ipcCounters();
  const cpuBefore = cpuTimes();
  const { transfers, bytes, seconds: elapsed } = await streamFor(pipe, transferSize, inFlight, seconds);
  const cpu = cpuSince(cpuBefore);
  const ipcAfter = native.ipcCounters();
  const perTransfer = (ns: number) => ns / 1000 / Math.max(1, transfers);
  const megabytesPerSecond = bytes / elapsed / 1e6;
  const heapTransfers = Math.max(200, Math.min(5000, transfers));
  return {
    bus,
    transferSize,
    inFlight,
    path: transferSize > 4096 ? 'descriptor' : 'mapped',
    transfers,
    seconds: elapsed,
    megabytesPerSecond,
    transfersPerSecond: transfers / elapsed,
    cpuMicroseconds: { js: perTransfer(cpu.js), dext: perTransfer(cpu.dext), bus: perTransfer(cpu.bus), other: perTransfer(cpu.other) },
    ipcPerTransfer: (ipcAfter.calls - ipcBefore.calls + ipcAfter.messages - ipcBefore.messages) / Math.max(1, transfers),
    ipcCallsPerTransfer: (ipcAfter.calls - ipcBefore.calls) / Math.max(1, transfers),
    heapBytesPerTransfer: bus === 'unthrottled' && transferSize <= 65536 ? await streamHeapBytes(pipe, transferSize, inFlight, heapTransfers) : null,
    busShare: bus === 'high-speed' ? (megabytesPerSecond * 1e6) / HIGH_SPEED_BULK_BYTES_PER_SECOND : null,
  };
}
