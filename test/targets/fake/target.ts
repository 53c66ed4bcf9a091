/** The fake target: the gadget-zero model behind the fake backend, in this process. */
import { Usb } from '@dextio/core';
import type { Target } from '../../conformance/target.js';
import { FakeBackend } from './fake-backend.js';
import { LOOPBACK_CONFIGURATION, SOURCE_SINK_CONFIGURATION } from './gadget-zero-model.js';

export function fakeTarget(): Target & { backend: FakeBackend } {
  const backend = new FakeBackend();
  let id = backend.attach();
  const usb = new Usb(backend);
  return {
    name: 'fake',
    backend,
    features: { loopback: true, sink: true, vendorControl: true, halt: true, zlp: true, disconnect: true, hotplug: true },
    async open() {
      const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
      return {
        usb,
        device,
        sourceSink: { configurationValue: SOURCE_SINK_CONFIGURATION, interfaceNumber: 0, alternateSetting: 0 },
        loopback: { configurationValue: LOOPBACK_CONFIGURATION, interfaceNumber: 0, alternateSetting: 0 },
      };
    },
    // The fake's gadgets live in its backend: another Usb over it is the other client.
    async otherClient() {
      return new Usb(backend);
    },
    async disconnect() {
      backend.detach(id);
    },
    async reconnect() {
      id = backend.attach();
    },
    async leaks() {
      const open = backend.openDevices === 0 ? [] : [`${backend.openDevices} fake device(s) still open`];
      return [...open, ...backend.violations.take()];
    },
  };
}
