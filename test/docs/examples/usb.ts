/**
 * The examples of Usb's members, run by test/docs/examples.test.ts against the embedded virtual
 * gadget zero. Every `// → ` comment is a line the example prints.
 */
// #region setup
import { dext, Usb } from '@dextio/core';
import { filter, firstValueFrom } from 'rxjs';

const usb = new Usb(await dext()); // or auto(), or libusb()
// #endregion setup

// #region list
const found = await usb.list({ vendorId: 0x0525, productId: 0xa4a0 });
console.log(found.length, found[0]?.descriptor.productName, found[0]?.busy);
// → 1 Gadget Zero (virtual) false
// #endregion list

// #region devices
const now = await firstValueFrom(usb.devices()); // then again after every attach or detach
console.log(now.map((d) => d.descriptor.vendorId.toString(16)));
// → [ '525' ]
// #endregion devices

// #region hotplug
const subscription = usb
  .hotplug()
  .pipe(filter((event) => event.type === 'detach'))
  .subscribe((event) => console.log('gone:', event.device.id));
subscription.unsubscribe(); // stop following
// #endregion hotplug

// #region open
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 }); // or open(found[0]!)
console.log(device.opened);
// → true
await device.close();
// #endregion open
