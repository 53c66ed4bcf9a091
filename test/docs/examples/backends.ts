/**
 * The examples of the backends, run by test/docs/examples.test.ts. Every `// → ` comment is a line
 * the example prints.
 */
// #region dext
import { auto, dext, libusb, Usb } from '@dextio/core';

// The dext: on macOS the installed dext; on Linux the dext's own code against the virtual gadget.
const viaDext = new Usb(await dext());
console.log(viaDext.backend.name, (await viaDext.list()).length);
// → dext 1
// #endregion dext

// #region libusb
// libusb through the npm package `usb` 2.18: Linux, Windows, or a Mac without the dext.
const viaLibusb = new Usb(await libusb());
console.log(viaLibusb.backend.name);
// → libusb
// #endregion libusb

// #region auto
// The dext on macOS where it drives a device, libusb otherwise; description says why.
const backend = await auto();
console.log(backend.name); // here, on Linux:
// → libusb
// #endregion auto
