/**
 * The embedded stack end to end: @dextio/core's Pipe.stream over the dext backend, SourceSink IN.
 *
 *   node --import tsx --conditions=dextio-source test/targets/embedded/bench.ts
 */
import { dext, Usb } from '@dextio/core';
import { lastValueFrom, reduce, take } from 'rxjs';

console.log('| size | in flight | transfers/s | MB/s |');
console.log('|---:|---:|---:|---:|');
const usb = new Usb(await dext());
for (const [size, inFlight, total] of [
  [512, 16, 50_000],
  [4096, 16, 20_000],
  [65536, 8, 2_000],
] as const) {
  const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
  await device.claimInterface(0);
  const pipe = await device.openPipe('in', 1);
  const started = process.hrtime.bigint();
  const bytes = await lastValueFrom(pipe.stream({ transferSize: size, inFlight }).pipe(take(total), reduce((sum, chunk) => sum + chunk.length, 0)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await device.close();
  console.log(`| ${size} | ${inFlight} | ${Math.round(total / seconds)} | ${(bytes / seconds / 1e6).toFixed(0)} |`);
}
