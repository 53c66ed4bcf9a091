/**
 * The embedded target: the whole stack in this process, no hardware. `@dextio/core`'s dext backend
 * -> `@dextio/native` -> the dext's own code -> the host runtime -> the virtual gadget zero
 * (packages/dext/host). Linux only; needs `npm run build -w @dextio/native`.
 *
 * The dext drives one interface: the gadget's interface 0. Its alternate setting 0 holds SourceSink
 * (bulk 0x81/0x01) and Loopback (bulk 0x82/0x02) together, so the function locations name their
 * endpoints.
 */
import { createRequire } from 'node:module';
import { dext, Usb } from '@dextio/core';
import type * as Native from '@dextio/native';
import type { Target } from '../../conformance/target.js';
import { until } from '../../support/until.js';

const SOURCE_SINK = { configurationValue: 1, interfaceNumber: 0, alternateSetting: 0, endpoints: { in: 1, out: 1 } } as const;
const LOOPBACK = { configurationValue: 1, interfaceNumber: 0, alternateSetting: 0, endpoints: { in: 2, out: 2 } } as const;

/** Live objects that must be back to zero once nothing is open. */
const MUST_BE_ZERO = ['connections', 'clients', 'mappings', 'notificationPorts', 'actions', 'descriptors'] as const;

export async function embeddedTarget(): Promise<Target> {
  const native = createRequire(import.meta.url)('@dextio/native') as typeof Native;
  const host = native.host;
  if (!host) throw new Error('the embedded target needs the host runtime (@dextio/native on Linux)');
  const usb = new Usb(await dext());
  const leaked = () => MUST_BE_ZERO.filter((key) => host.liveCounts()[key] !== 0);
  return {
    name: 'embedded',
    features: {
      loopback: true,
      sink: true,
      vendorControl: true,
      halt: 'the virtual gadget stalls standard requests, SET_FEATURE(ENDPOINT_HALT) included (halts are injected in @dextio/native\'s tests)',
      zlp: "the virtual gadget's Loopback echoes transfers, not packets: a ZLP comes back as an empty IN transfer of its own instead of ending the one before, and stays queued for the next case (core's dext.test.ts checks the ZLP that way)",
      disconnect: true,
      hotplug: true,
    },
    async open() {
      const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
      return { usb, device, sourceSink: SOURCE_SINK, loopback: LOOPBACK };
    },
    async otherClient() {
      return new Usb(await dext());
    },
    async disconnect() {
      host.gadgetDisconnect();
    },
    async reconnect() {
      host.gadgetConnect();
      await until('the dext is back', async () => (await usb.list({ vendorId: 0x0525, productId: 0xa4a0 })).length > 0, 5000);
    },
    async leaks() {
      // The dext stops a closed user client on its own queue, a moment after the close.
      await until('the host runtime has released everything', () => leaked().length === 0, 2000).catch(() => undefined);
      const counts = host.liveCounts();
      return leaked().map((key) => `${counts[key]} live host-runtime ${key}`);
    },
  };
}
