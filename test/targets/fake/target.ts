/** The fake target: gadget zero's model (test/support/gadget-zero-model.ts) on @dextio/model's backend, in this process. */
import { Usb } from '@dextio/core';
import { ModelBackend } from '@dextio/model';
import type { Target } from '../../conformance/target.js';
import { gadgetZero, LOOPBACK_CONFIGURATION, SOURCE_SINK_CONFIGURATION } from '../../support/gadget-zero-model.js';

export function fakeTarget(): Target & { backend: ModelBackend } {
  const backend = new ModelBackend();
  let serial = 0;
  const plugIn = () => backend.attach(gadgetZero, { serialNumber: `model-serial-${++serial}` });
  let device = plugIn();
  const usb = new Usb(backend);
  return {
    name: 'fake',
    backend,
    features: { loopback: true, sink: true, vendorControl: true, halt: true, zlp: true, disconnect: true, hotplug: true },
    async open() {
      const opened = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
      return {
        usb,
        device: opened,
        sourceSink: { configurationValue: SOURCE_SINK_CONFIGURATION, interfaceNumber: 0, alternateSetting: 0 },
        loopback: { configurationValue: LOOPBACK_CONFIGURATION, interfaceNumber: 0, alternateSetting: 0 },
      };
    },
    // The model devices live in the backend: another Usb over it is the other client.
    async otherClient() {
      return new Usb(backend);
    },
    async disconnect() {
      backend.unplug(device);
    },
    async reconnect() {
      device = plugIn();
    },
    async leaks() {
      const open = backend.openDevices === 0 ? [] : [`${backend.openDevices} model device(s) still open`];
      return [...open, ...backend.violations.take()];
    },
  };
}
