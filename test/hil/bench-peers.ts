/**
 * SourceSink IN throughput on the QEMU gadget zero: @dextio/core's libusb backend against the npm
 * package `usb` 2.18's own `startPoll`, the same transfer sizes and transfers in flight, in one
 * guest run so that the ratios compare like with like. Each pair runs twice and the second round
 * counts, so that both have been through the JIT. It uses the built core (`npm run build`), as an
 * application would. Prints a table; run it with `npm run bench:hil`.
 */
import { libusb, Usb } from '@dextio/core';
import { lastValueFrom, take, reduce } from 'rxjs';
import * as usbPackage from 'usb';

const SIZES = [512, 4096, 65536];
const IN_FLIGHT = 16;
const SECONDS = 3;

/** Transfers to count at `size`: about SECONDS of work at the rates seen on the emulated bus. */
function transfersFor(size: number): number {
  return Math.max(64, Math.round(((SECONDS * 2e6) / size) * (size >= 65536 ? 8 : 1)));
}

async function dextioRate(size: number): Promise<number> {
  const usb = new Usb(await libusb());
  const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
  try {
    await device.claimInterface(0);
    const pipe = await device.openPipe('in', device.alternate(0).endpoints.find((e) => e.direction === 'in')!.endpointNumber);
    // Warm up, then count what arrives in a fixed time.
    await lastValueFrom(pipe.stream({ transferSize: size, inFlight: IN_FLIGHT }).pipe(take(IN_FLIGHT * 2)));
    const started = performance.now();
    const bytes = await lastValueFrom(
      pipe.stream({ transferSize: size, inFlight: IN_FLIGHT }).pipe(
        take(transfersFor(size)),
        reduce((sum, chunk) => sum + chunk.length, 0),
      ),
    );
    return bytes / 1e6 / ((performance.now() - started) / 1000);
  } finally {
    await device.close();
  }
}

async function startPollRate(size: number): Promise<number> {
  const device = usbPackage.findByIds(0x0525, 0xa4a0);
  if (!device) throw new Error('gadget zero is not attached');
  device.open();
  const iface = device.interface(0);
  iface.claim();
  const endpoint = iface.endpoints.find((e) => e.direction === 'in') as usbPackage.InEndpoint;
  const count = transfersFor(size);
  try {
    return await new Promise<number>((resolve, reject) => {
      let received = 0;
      let chunks = 0;
      let started = 0;
      endpoint.on('error', reject);
      endpoint.on('data', (data: Buffer) => {
        chunks++;
        if (chunks === IN_FLIGHT * 2) started = performance.now();
        if (chunks > IN_FLIGHT * 2) received += data.length;
        if (chunks === IN_FLIGHT * 2 + count) {
          const rate = received / 1e6 / ((performance.now() - started) / 1000);
          endpoint.stopPoll(() => resolve(rate));
        }
      });
      endpoint.startPoll(IN_FLIGHT, size);
    });
  } finally {
    endpoint.removeAllListeners();
    await new Promise<void>((resolve) => iface.release(true, () => resolve()));
    device.close();
  }
}

const rows: string[][] = [];
for (const size of SIZES) {
  let ours = 0;
  let theirs = 0;
  for (let round = 0; round < 2; round++) {
    theirs = await startPollRate(size);
    ours = await dextioRate(size);
  }
  rows.push([String(size), ours.toFixed(2), theirs.toFixed(2), (ours / theirs).toFixed(2)]);
}
const header = ['size', '@dextio/core libusb MB/s', 'usb startPoll MB/s', 'ratio'];
console.log(`SourceSink IN, ${IN_FLIGHT} in flight, one guest run`);
console.log([header, ...rows].map((row) => row.map((cell, i) => cell.padStart(header[i]!.length)).join('  ')).join('\n'));
