/**
 * The examples of Pipe's members, run by test/docs/examples.test.ts against the embedded virtual
 * gadget zero: SourceSink on endpoints 1 (IN sends a pattern, OUT takes only that pattern) and
 * Loopback on endpoints 2 (OUT data comes back on IN). Every `// → ` comment is a line the
 * example prints.
 */
// #region setup
import { dext, Usb } from '@dextio/core';
import { firstValueFrom, from, lastValueFrom, reduce, take, toArray } from 'rxjs';

const usb = new Usb(await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const source = await device.openPipe('in', 1); // SourceSink IN: a pattern, as fast as asked
const loopOut = await device.openPipe('out', 2); // Loopback OUT: what it gets comes back...
const loopIn = await device.openPipe('in', 2); // ...on Loopback IN
// #endregion setup

// #region properties
console.log(source.direction, source.endpointNumber, source.type, source.packetSize);
// → in 1 bulk 512
console.log(source.limits); // how many transfers of each path the pipe runs at once
// → { mapped: 32, descriptor: 32 }
// #endregion properties

// #region read
const small = await firstValueFrom(source.read(512)); // a cold Observable of one result
console.log(small.status, small.data.length, small.path);
// → ok 512 mapped
// #endregion read

// #region transferIn
const large = await source.transferIn(65536); // read() as a Promise
console.log(large.status, large.data.length, large.path);
// → ok 65536 descriptor
// #endregion transferIn

// #region readLeased
const lease = await firstValueFrom(source.readLeased(512));
try {
  console.log(lease.data[0], lease.data[1], lease.data.length); // the slot itself, no copy
  // → 0 1 512
} finally {
  lease.release(); // from now on lease.data is empty
}
console.log(lease.data.length);
// → 0
// #endregion readLeased

// #region transferOut
const sent = await loopOut.transferOut(new TextEncoder().encode('hello'));
console.log(sent.status, sent.bytesWritten, sent.path);
// → ok 5 mapped
const echo = await loopIn.transferIn(512);
console.log(new TextDecoder().decode(echo.data));
// → hello
// #endregion transferOut

// #region write
const [written] = await Promise.all([
  firstValueFrom(loopOut.write(new Uint8Array(8192).fill(7))), // > 4096: the descriptor path
  loopIn.transferIn(8192), // the echo
]);
console.log(written.status, written.bytesWritten, written.path);
// → ok 8192 descriptor
// #endregion write

// #region stream
const total = await lastValueFrom(
  source.stream({ transferSize: 16384, inFlight: 4 }).pipe(
    take(64), // unsubscribes after 64 chunks, which aborts what is still queued
    reduce((sum, chunk) => sum + chunk.length, 0),
  ),
);
await source.drained();
console.log(total, source.outstanding);
// → 1048576 0
// #endregion stream

// #region chunks
let pulled = 0;
for await (const chunk of source.chunks({ transferSize: 4096, inFlight: 2 })) {
  pulled += chunk.length; // nothing more is read until the loop asks for it
  if (pulled >= 16384) break; // leaving the loop cancels what is outstanding
}
console.log(pulled);
// → 16384
// #endregion chunks

// #region writeFrom
const results = await lastValueFrom(loopOut.writeFrom(from([new Uint8Array(100), new Uint8Array(200)])).pipe(toArray()));
console.log(results.map((r) => r.bytesWritten).join(' '));
// → 100 200
const echoes = await lastValueFrom(loopIn.stream({ transferSize: 512, inFlight: 2 }).pipe(take(2), toArray()));
console.log(echoes.map((c) => c.length).join(' '));
// → 100 200
// #endregion writeFrom

// #region clearHalt
const sink = await device.openPipe('out', 1); // SourceSink OUT stalls on anything but its pattern
const refused = await sink.transferOut(new Uint8Array(64).fill(0xff));
console.log(refused.status);
// → stall
await sink.clearHalt(); // the device takes transfers again
// #endregion clearHalt

// #region drained
const pending = source.stream({ transferSize: 512, inFlight: 8 }).subscribe();
pending.unsubscribe(); // aborts what the stream had queued
await source.drained(); // resolves once every one of them is reaped
console.log(source.outstanding);
// → 0
// #endregion drained

// #region close
await sink.close(); // aborts what is outstanding on this pipe only; the others go on
try {
  sink.write(new Uint8Array(1));
} catch (error) {
  console.log((error as Error).name);
  // → ClosedError
}
// #endregion close

await device.close();
