/**
 * The examples of Device's members, run by test/docs/examples.test.ts against the embedded virtual
 * gadget zero. Every `// → ` comment is a line the example prints.
 */
// #region setup
import { dext, Usb } from '@dextio/core';
import { firstValueFrom } from 'rxjs';

const usb = new Usb(await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
// #endregion setup

// #region identity
console.log(device.vendorId.toString(16), device.productId.toString(16), device.serialNumber);
// → 525 a4a0 dextio-virtual-0001
console.log(device.descriptor.productName, device.descriptor.configurations.length);
// → Gadget Zero (virtual) 1
console.log(device.opened, device.controlLengthMax);
// → true 65535
// #endregion identity

// #region configuration
console.log(device.configuration?.configurationValue, device.claimableInterfaces);
// → 1 [ 0 ]
await device.selectConfiguration(1); // the one it is in already: nothing happens
// #endregion configuration

// #region claimInterface
await device.claimInterface(device.claimableInterfaces[0]!);
console.log(device.isClaimed(0));
// → true
// #endregion claimInterface

// #region alternate
console.log(device.alternate(0).alternateSetting, device.alternate(0).endpoints.length);
// → 0 4
await device.selectAlternateInterface(0, 1); // setting 1 has SourceSink only
console.log(device.alternate(0).alternateSetting, device.alternate(0).endpoints.length);
// → 1 2
await device.selectAlternateInterface(0, 0);
// #endregion alternate

// #region getString
const iProduct = 2; // the device descriptor's iProduct
console.log(await device.getString(iProduct));
// → Gadget Zero (virtual)
// #endregion getString

// #region controlTransferOut
// Gadget zero's vendor requests: 0x5b stores up to 4 KiB, 0x5c reads it back.
const store = { requestType: 'vendor', recipient: 'device', request: 0x5b, value: 0, index: 0 } as const;
const stored = await device.controlTransferOut(store, new Uint8Array([1, 2, 3]));
console.log(stored.status, stored.bytesWritten);
// → ok 3
// #endregion controlTransferOut

// #region controlTransferIn
const fetch = { requestType: 'vendor', recipient: 'device', request: 0x5c, value: 0, index: 0 } as const;
const fetched = await device.controlTransferIn(fetch, 3, { timeout: 1000 });
console.log(fetched.status, [...fetched.data]);
// → ok [ 1, 2, 3 ]
// #endregion controlTransferIn

// #region controlIn
const unknown = { requestType: 'vendor', recipient: 'device', request: 0x7e, value: 0, index: 0 } as const;
const refused = await firstValueFrom(device.controlIn(unknown, 8)); // a cold Observable of one result
console.log(refused.status); // a request the device refuses: a stall, reported, not thrown
// → stall
// #endregion controlIn

// #region controlOut
const out = await firstValueFrom(device.controlOut(store, new Uint8Array(10)));
console.log(out.status, out.bytesWritten);
// → ok 10
// #endregion controlOut

// #region openPipe
const pipe = await device.openPipe('in', 1);
console.log(pipe.direction, pipe.endpointNumber);
// → in 1
// #endregion openPipe

// #region releaseInterface
await pipe.close();
await device.releaseInterface(0); // its pipes must be closed first
console.log(device.isClaimed(0));
// → false
// #endregion releaseInterface

// #region close
await device.close(); // closes its pipes, releases its interfaces, lets the device go
console.log(device.opened);
// → false
// #endregion close
