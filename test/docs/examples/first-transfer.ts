/**
 * The first transfer of the getting-started guide, runnable in this repository once the native
 * addon is built (`npm run build`, which `npm start` runs too):
 *
 *   node --conditions=dextio-source --import tsx test/docs/examples/first-transfer.ts
 *
 * It uses the dext backend. On Linux, `@dextio/native` runs the dext's own code in this process
 * against its virtual gadget zero (the embedded stack), so no hardware is needed. With a real
 * device only the line that makes the backend changes: `libusb()` or `auto()`.
 */
// #region first-transfer
import { dext, Usb } from '@dextio/core';
import { lastValueFrom, take, toArray } from 'rxjs';

const usb = new Usb(await dext());

// Gadget zero's ids; its SourceSink IN endpoint is bulk endpoint 1 of interface 0.
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const input = await device.openPipe('in', 1);

// One transfer as a Promise (WebUSB's names): 512 bytes, a mapped slot.
const small = await input.transferIn(512);
console.log(small.status, small.data.length, small.path);
// → ok 512 mapped

// Above 4096 bytes: the descriptor path, straight into the transfer's buffer.
const large = await input.transferIn(65536);
console.log(large.status, large.data.length, large.path);
// → ok 65536 descriptor

// A stream is a cold Observable: nothing moves until you subscribe.
const stream = input.stream({ transferSize: 65536, inFlight: 8 });
// take(16) unsubscribes after 16 chunks, which aborts the queued transfers;
// drained() resolves once they are reaped.
const chunks = await lastValueFrom(stream.pipe(take(16), toArray()));
await input.drained();
console.log(chunks.length, 'chunks', input.outstanding, 'outstanding');
// → 16 chunks 0 outstanding

await device.close();
// #endregion first-transfer
