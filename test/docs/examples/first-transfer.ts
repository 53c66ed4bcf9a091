/**
 * The first transfer of the getting-started guide, runnable today in this repository:
 *
 *   node --conditions=dextio-source --import tsx test/docs/examples/first-transfer.ts
 *
 * The device is the test suite's fake gadget zero. With a real device only the line that makes the
 * backend changes (the libusb and dext backends are coming).
 */
// #region first-transfer
import { Usb } from '@dextio/core';
import { lastValueFrom, take, toArray } from 'rxjs';
import { FakeBackend } from '../../targets/fake/fake-backend.js';

const backend = new FakeBackend();
backend.attach(); // plug in one gadget-zero device
const usb = new Usb(backend);

// Gadget zero's ids; its SourceSink IN endpoint is bulk endpoint 1.
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const input = await device.openPipe('in', 1);

// One transfer as a Promise (WebUSB's names): 512 bytes, a mapped slot.
const small = await input.transferIn(512);
console.log(small.status, small.data.length, small.path); // ok 512 mapped

// Above 4096 bytes: the descriptor path, straight into the transfer's buffer.
const large = await input.transferIn(65536);
console.log(large.status, large.data.length, large.path);
// ok 65536 descriptor

// A stream is a cold Observable: nothing moves until you subscribe.
const stream = input.stream({ transferSize: 65536, inFlight: 8 });
// take(16) unsubscribes after 16 chunks, which aborts the queued transfers;
// drained() resolves once they are reaped.
const chunks = await lastValueFrom(stream.pipe(take(16), toArray()));
await input.drained();
console.log(chunks.length, 'chunks,', input.outstanding, 'outstanding');
// 16 chunks, 0 outstanding

await device.close();
// #endregion first-transfer
