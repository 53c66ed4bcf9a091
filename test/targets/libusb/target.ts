/**
 * The libusb target: a real gadget-zero device through the libusb backend. Under the QEMU harness
 * (test/hil) it is the kernel's gadget zero on dummy_hcd, which the target can unplug through
 * configfs; on real hardware it is whatever `DEXTIO_DEVICE` names.
 *
 * - `DEXTIO_DEVICE`: `vid:pid` in hex (default `0525:a4a0`), optionally `:serial`.
 * - `DEXTIO_GADGET_ZERO_CONFIGS`: `sourceSink,loopback` configuration values (default `1,2`, the
 *   configfs layout; the legacy g_zero module uses `3,2`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { libusb, Usb, type DeviceFilter } from '@dextio/core';
import { usb as hotplugEvents } from 'usb';
import type { Target } from '../../conformance/target.js';
import { until } from '../../support/until.js';

function deviceFilter(): DeviceFilter {
  const spec = process.env['DEXTIO_DEVICE'] ?? '0525:a4a0';
  const [vid, pid, serialNumber] = spec.split(':');
  const vendorId = Number.parseInt(vid ?? '', 16);
  const productId = Number.parseInt(pid ?? '', 16);
  if (!Number.isInteger(vendorId) || !Number.isInteger(productId)) {
    throw new Error(`DEXTIO_DEVICE must be vid:pid[:serial] in hex, not '${spec}'`);
  }
  return serialNumber ? { vendorId, productId, serialNumber } : { vendorId, productId };
}

function configurations(): [number, number] {
  const [sourceSink, loopback] = (process.env['DEXTIO_GADGET_ZERO_CONFIGS'] ?? '1,2').split(',').map(Number);
  return [sourceSink ?? 1, loopback ?? 2];
}

export async function libusbTarget(): Promise<Target> {
  const usb = new Usb(await libusb());
  const filter = deviceFilter();
  const [sourceSinkConfiguration, loopbackConfiguration] = configurations();
  const gadget = process.env['DEXTIO_HIL_GADGET_ZERO'];
  const udc = process.env['DEXTIO_HIL_GADGET_ZERO_UDC'];
  const present = async () => (await usb.list(filter)).length > 0;
  const unplugReason = 'the device can only be unplugged under the QEMU harness (DEXTIO_HIL_GADGET_ZERO)';
  return {
    name: 'libusb',
    features: {
      loopback: true,
      sink: true,
      vendorControl: true,
      halt: true,
      zlp: true,
      disconnect: gadget && udc ? true : unplugReason,
      hotplug:
        !gadget || !udc ? unplugReason : process.env['DEXTIO_HIL_UDEV'] === '1' ? true : 'libusb sees hotplug only through udevd, which is not running',
    },
    async open() {
      const device = await usb.open(filter);
      return {
        usb,
        device,
        sourceSink: { configurationValue: sourceSinkConfiguration, interfaceNumber: 0, alternateSetting: 0 },
        loopback: { configurationValue: loopbackConfiguration, interfaceNumber: 0, alternateSetting: 0 },
      };
    },
    // Another backend instance: the backend gives a device to one opener per process, as the
    // dext's exclusive user client does, so this one sees the fixture's device as held.
    async otherClient() {
      return new Usb(await libusb());
    },
    async disconnect() {
      await writeFile(`${gadget}/UDC`, '\n');
      await until('the device is gone', async () => !(await present()));
    },
    async reconnect() {
      if ((await readFile(`${gadget}/UDC`, 'utf8')).trim() === '') await writeFile(`${gadget}/UDC`, `${udc}\n`);
      await until('the device is back', present);
    },
    async leaks() {
      const held = (await usb.list(filter)).filter((device) => device.busy).map((device) => `device ${device.id} is still held`);
      // The backend watches for unplugs only while it has a device open: a listener left behind
      // would keep the process alive.
      const listeners = hotplugEvents.listenerCount('attach') + hotplugEvents.listenerCount('detach');
      return listeners === 0 ? held : [...held, `${listeners} hotplug listener(s) left on usb`];
    },
  };
}
