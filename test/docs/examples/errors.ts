/**
 * The examples of the error classes, run by test/docs/examples.test.ts against the embedded
 * virtual gadget zero. Every `// → ` comment is a line the example prints.
 */
// #region setup
import {
  AbortedError,
  AccessError,
  BackpressureError,
  ClosedError,
  DisconnectedError,
  OverflowError,
  StallError,
  TimeoutError,
  UsbError,
  dext,
  errorForStatus,
  Usb,
} from '@dextio/core';
import { filter, firstValueFrom, from, interval, lastValueFrom, map, take } from 'rxjs';
import { createRequire } from 'node:module';
import type * as Native from '@dextio/native';

const usb = new Usb(await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const source = await device.openPipe('in', 1);
// #endregion setup
const unplug = () => (createRequire(import.meta.url)('@dextio/native') as typeof Native).host!.gadgetDisconnect();

// #region StallError
// A single transfer reports a stall in its result; a stream errors with StallError.
const sink = await device.openPipe('out', 1); // SourceSink OUT takes only its pattern
try {
  await lastValueFrom(sink.writeFrom(from([new Uint8Array(64).fill(0xff)])));
} catch (error) {
  console.log(error instanceof StallError, error instanceof UsbError);
  // → true true
  await sink.clearHalt(); // then the endpoint takes transfers again
}
// #endregion StallError

// #region TimeoutError
const loopIn = await device.openPipe('in', 2); // Loopback IN: nothing to send until OUT gets data
try {
  await loopIn.transferIn(512, { timeout: 50 });
} catch (error) {
  console.log((error as Error).name);
  // → TimeoutError
}
// #endregion TimeoutError

// #region OverflowError
const loopOut = await device.openPipe('out', 2);
await loopOut.transferOut(new Uint8Array(1024)); // one message of 1024 bytes...
try {
  // ...does not fit in 512: babble. A single transfer reports it as its status, a stream errors.
  await lastValueFrom(loopIn.stream({ transferSize: 512 }).pipe(take(1)));
} catch (error) {
  console.log(error instanceof OverflowError);
  // → true
}
// #endregion OverflowError

// #region AbortedError
const waiting = loopIn.transferIn(512); // nothing will come
await loopIn.close(); // closing the pipe aborts it
try {
  await waiting;
} catch (error) {
  console.log(error instanceof AbortedError);
  // → true
}
// #endregion AbortedError

// #region ClosedError
try {
  loopIn.read(512); // use after close throws at once
} catch (error) {
  console.log(error instanceof ClosedError, error instanceof TypeError);
  // → true true
}
// #endregion ClosedError

// #region errorForStatus
console.log(errorForStatus('timeout') instanceof TimeoutError, errorForStatus('stall', 'halted').message);
// → true halted
// #endregion errorForStatus

// #region AccessError
try {
  await usb.open({ vendorId: 0x0525, productId: 0xa4a0 }); // this process holds it already
} catch (error) {
  console.log(error instanceof AccessError);
  // → true
}
// #endregion AccessError

// #region BackpressureError
const slow = await device.openPipe('out', 2);
try {
  // A source that pushes far faster than the device takes: writeFrom holds 64 chunks, not more.
  await lastValueFrom(slow.writeFrom(interval(0).pipe(take(100000), map(() => new Uint8Array(4096)))));
} catch (error) {
  console.log(error instanceof BackpressureError);
  // → true
}
// #endregion BackpressureError

// #region DisconnectedError
// When the device goes away, hotplug says so, and everything in flight on it fails with
// DisconnectedError: open the device again once it is back.
const detached = firstValueFrom(usb.hotplug().pipe(filter((event) => event.type === 'detach')));
const streaming = lastValueFrom(source.stream({ transferSize: 512, inFlight: 4 })).catch((error: unknown) => {
  console.log(error instanceof DisconnectedError);
});
// #endregion DisconnectedError
unplug(); // the embedded gadget's test hook: as if the cable were pulled
await streaming;
// → true
console.log('detached', (await detached).device.id);
// → detached dext:0525:a4a0:0
await device.close();
