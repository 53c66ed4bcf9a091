/**
 * `npm run bench`: the embedded stack (core -> addon -> dext -> host runtime -> virtual gadget
 * zero) streaming SourceSink IN through `Pipe.stream`, for transfer sizes from 64 B to 4 MiB,
 * 1 to 32 in flight, on both bus models; with this machine's memcpy bandwidth measured in the
 * same run. Prints a Markdown table and the targets, and writes bench.json and bench.svg.
 *
 *   npm run bench                      # the whole matrix, about two minutes
 *   npm run bench -- --quick           # a few points, a few seconds (CI)
 *   npm run bench -- --out docs/media  # where bench.json and bench.svg go (default bench/results)
 *   npm run bench -- --sizes 512,4096 --depths 4,32 --bus high-speed --seconds 1
 *
 * Linux only: the bus models and the per-thread CPU figures come from the host runtime and /proc.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dext, Usb } from '@dextio/core';
import { chartSvg } from './chart.js';
import { memcpyBandwidth } from './memcpy.js';
import { native } from './native.js';
import { HIGH_SPEED_BULK_BYTES_PER_SECOND, leasedHeapBytes, measurePoint, type BusModel, type Point } from './measure.js';
import { TABLE_HEADER, tableRow } from './report.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
    seconds: { type: 'string' },
    sizes: { type: 'string' },
    depths: { type: 'string' },
    bus: { type: 'string' },
  },
});
const list = (text: string | undefined) => text?.split(',').map(Number);
const host = native.host;
if (!host) throw new Error('npm run bench needs the host runtime (Linux)');
const quick = values.quick!;
const seconds = Number(values.seconds ?? (quick ? 0.1 : 0.4));
const sizes = list(values.sizes) ?? (quick ? [512, 4096, 65536] : [64, 512, 4096, 16384, 65536, 262144, 1048576, 4194304]);
const depths = list(values.depths) ?? (quick ? [1, 16] : [1, 4, 16, 32]);
const buses = (values.bus?.split(',') ?? ['unthrottled', 'high-speed']) as BusModel[];

const memcpy64k = memcpyBandwidth(65536, quick ? 0.1 : 0.3) / 1e6;
const memcpy1m = memcpyBandwidth(1 << 20, quick ? 0.1 : 0.3) / 1e6;
// The measurement's 512 MiB go now, not in the middle of the first points.
(globalThis as { gc?: () => void }).gc?.();
console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`);
console.log(`memcpy, out of cache: ${(memcpy64k / 1000).toFixed(1)} GB/s in 64 KiB blocks, ${(memcpy1m / 1000).toFixed(1)} GB/s in 1 MiB blocks`);
console.log('SourceSink IN through @dextio/core Pipe.stream on the dext backend (embedded virtual gadget zero)\n');

const usb = new Usb(await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const pipe = await device.openPipe('in', 1);
const busBefore = host.gadgetBus();
const points: Point[] = [];
let leased: number | null = null;
console.log(TABLE_HEADER);
try {
  for (const bus of buses) {
    host.gadgetSetBus(bus);
    for (const size of sizes) {
      for (const inFlight of depths) {
        // Large transfers on the slow bus: enough time for several of each.
        const budget = bus === 'high-speed' ? Math.max(seconds, (8 * size) / HIGH_SPEED_BULK_BYTES_PER_SECOND) : seconds;
        const point = await measurePoint(pipe, bus, size, inFlight, budget);
        points.push(point);
        console.log(tableRow(point));
      }
    }
  }
  host.gadgetSetBus('unthrottled');
  leased = await leasedHeapBytes(pipe, 512, 16, 5000);
  console.log(`\nreadLeased(512), 16 in flight, each lease released as it comes: ${leased === null ? 'n/a (a GC ran)' : Math.round(leased)} heap bytes per transfer`);
  summarize(points, memcpy1m, leased);
} finally {
  host.gadgetSetBus(busBefore);
  await device.close();
}

mkdirSync(values.out!, { recursive: true });
const result = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, node: process.version },
  memcpyMegabytesPerSecond: { block64KiB: memcpy64k, block1MiB: memcpy1m },
  points,
  readLeasedHeapBytesPerTransfer: leased,
};
writeFileSync(join(values.out!, 'bench.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(
  join(values.out!, 'bench.svg'),
  chartSvg({
    points,
    title: 'SourceSink IN through Pipe.stream, embedded stack (dashed: high-speed bus)',
    references: [
      { label: 'USB 2.0 bulk limit', megabytesPerSecond: HIGH_SPEED_BULK_BYTES_PER_SECOND / 1e6 },
      { label: 'memcpy (1 MiB)', megabytesPerSecond: memcpy1m },
    ],
  }),
);
console.log(`\nwrote ${join(values.out!, 'bench.json')} and ${join(values.out!, 'bench.svg')}`);

/** The targets of the data path, as figures next to their aims; nothing is asserted. */
function summarize(all: readonly Point[], memcpy: number, leased: number | null): void {
  const find = (bus: BusModel, size: number, inFlight: number) =>
    all.find((p) => p.bus === bus && p.transferSize === size && p.inFlight === inFlight);
  console.log('\ntargets:');
  const small = find('unthrottled', 512, 32) ?? find('unthrottled', 512, 16);
  if (small) {
    console.log(
      `  unthrottled, 512 B, ${small.inFlight} in flight: ${Math.round(small.transfersPerSecond)} transfers/s (aim 200000), ` +
        `${small.ipcPerTransfer.toFixed(3)} IPC/transfer (aim <= 0.05)`,
    );
  }
  const slow = all.filter((p) => p.bus === 'high-speed' && p.transferSize >= 512 && p.inFlight >= 4);
  if (slow.length > 0) {
    const worst = slow.reduce((a, b) => (a.busShare! < b.busShare! ? a : b));
    console.log(`  high-speed, >= 512 B, >= 4 in flight: lowest bus share ${(worst.busShare! * 100).toFixed(1)}% at ${worst.transferSize} B, ${worst.inFlight} in flight (aim >= 95%)`);
  }
  const big = all.filter((p) => p.bus === 'unthrottled' && p.transferSize === 1 << 20);
  if (big.length > 0) {
    const best = big.reduce((a, b) => (a.megabytesPerSecond > b.megabytesPerSecond ? a : b));
    console.log(`  unthrottled, 1 MiB: ${best.megabytesPerSecond.toFixed(0)} MB/s at ${best.inFlight} in flight, ${((best.megabytesPerSecond / memcpy) * 100).toFixed(0)}% of memcpy (aim >= 50%)`);
  }
  const heap = all.find((p) => p.bus === 'unthrottled' && p.transferSize === 512 && p.heapBytesPerTransfer !== null && p.inFlight === 16);
  if (heap) console.log(`  stream, 512 B: ${Math.round(heap.heapBytesPerTransfer!)} heap bytes per transfer, the emitted chunk included; readLeased: ${leased === null ? 'n/a' : Math.round(leased)}`);
}
