/**
 * Which interfaces of a device a process has claimed through usbfs (Linux), read from sysfs without
 * opening the device.
 *
 * usbfs makes nothing exclusive at open: any number of processes may open a device, and only an
 * interface claim (`USBDEVFS_CLAIMINTERFACE`) is held. The kernel records a claim by binding the
 * interface to its `usbfs` driver, which sysfs shows as the interface's `driver` link: a readdir
 * and a readlink per interface, no I/O on the bus, nothing claimed to find out. Not visible: a
 * process that has opened the device but claimed nothing yet (it holds nothing either), and the
 * claimant's identity. Any other driver is not a hold: libusb detaches kernel drivers at claim.
 *
 * @internal
 * @module
 */
import { readdir, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Device as UsbDevice } from 'usb';

/** Where Linux lists USB devices and their interfaces, by their port path. */
export const SYSFS_USB_DEVICES = '/sys/bus/usb/devices';

/**
 * The interface numbers of `device`'s active configuration that some process has claimed through
 * usbfs; empty off Linux, for a root hub, or when sysfs does not show the device.
 */
export async function usbfsClaims(device: UsbDevice, sysfs = SYSFS_USB_DEVICES): Promise<number[]> {
  if (process.platform !== 'linux' || !device.portNumbers?.length) return [];
  // sysfs names a device "bus-port.port…" and its interfaces "bus-port.port…:config.interface".
  const name = `${device.busNumber}-${device.portNumbers.join('.')}`;
  const entries = await readdir(join(sysfs, name)).catch(() => [] as string[]);
  const claims = await Promise.all(
    entries.map(async (entry) => {
      const match = entry.startsWith(`${name}:`) ? /\.(\d+)$/.exec(entry) : null;
      if (!match) return null;
      const driver = await readlink(join(sysfs, name, entry, 'driver')).catch(() => null);
      return driver !== null && basename(driver) === 'usbfs' ? Number(match[1]) : null;
    }),
  );
  return claims.filter((claim): claim is number => claim !== null).sort((a, b) => a - b);
}
