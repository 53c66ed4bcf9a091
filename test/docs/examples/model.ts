/**
 * The example of @dextio/model, run by test/docs/examples.test.ts. Every `// → ` comment is a line
 * the example prints.
 */
// #region model
import { Usb } from '@dextio/core';
import { defineDevice, ModelBackend } from '@dextio/model';

// A device that answers 'PING' on bulk OUT 1 with 'PONG' on bulk IN 1.
const pinger = defineDevice({
  vendorId: 0x1209,
  productId: 0x0001,
  product: 'Pinger',
  configurations: [
    {
      value: 1,
      interfaces: [
        {
          number: 0,
          alternates: [
            {
              setting: 0,
              endpoints: [
                {
                  address: 0x01,
                  type: 'bulk',
                  packetSize: 512,
                  out: (data, device) => {
                    if (new TextDecoder().decode(data) !== 'PING') return 'stall';
                    device.send(0x81, new TextEncoder().encode('PONG'));
                  },
                },
                { address: 0x81, type: 'bulk', packetSize: 512 },
              ],
            },
          ],
        },
      ],
    },
  ],
});

const backend = new ModelBackend();
const plugged = backend.attach(pinger); // what a test acts on: plugged.inject(0x81, 'stall'), backend.unplug(plugged)
console.log(plugged.id, plugged.connected);
// → model-1 true
const usb = new Usb(backend); // your app's code takes this Usb, and the real one in production
const device = await usb.open({ vendorId: 0x1209, productId: 0x0001 });
await device.claimInterface(0);
const out = await device.openPipe('out', 1);
const input = await device.openPipe('in', 1);
const answer = input.transferIn(512);
await out.transferOut(new TextEncoder().encode('PING'));
console.log(device.descriptor.productName, new TextDecoder().decode((await answer).data));
// → Pinger PONG
await device.close();
// #endregion model
