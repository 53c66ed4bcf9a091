/**
 * The front page's example, run by test/docs/examples.test.ts against the embedded virtual gadget
 * zero. Every `// → ` comment is a line the example prints.
 */
// #region front-page
import { auto, dext, Usb } from '@dextio/core';
import { lastValueFrom, reduce, take } from 'rxjs';

const usb = new Usb(process.platform === 'darwin' ? await auto() : await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
await device.claimInterface(0);
const input = await device.openPipe('in', 1);

// 1 MiB as 64 transfers of 16 KiB, 8 in flight; each one picks its zero-copy path by size.
const bytes = await lastValueFrom(
  input.stream({ transferSize: 16384, inFlight: 8 }).pipe(take(64), reduce((sum, chunk) => sum + chunk.length, 0)),
);
console.log(bytes);
// → 1048576
await device.close();
// #endregion front-page
