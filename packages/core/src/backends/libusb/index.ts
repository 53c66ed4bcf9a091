/**
 * The libusb backend: `@dextio/core` over the npm package `usb` 2.18 (libusb 1.0 with async
 * transfers and cancel), for Linux, Windows and Macs without the dext.
 *
 * @module
 */
import type { Device as UsbDevice } from 'usb';
import type { Backend, BackendDevice, BackendDeviceInfo, BackendHotplugEvent } from '../../backend.js';
import { AccessError, DisconnectedError, UsbError } from '../../errors.js';
import { deviceDescriptor, deviceId, type DeviceStrings } from './descriptors.js';
import { LibusbDevice } from './device.js';
import { heldHere, hold } from './holds.js';
import { call, callError, type LibusbError } from './status.js';
import { usbfsClaims } from './usbfs.js';

type UsbModule = typeof import('usb');

/**
 * Loads the npm package `usb` and returns a backend over it.
 *
 * Busy: a device is busy while this process has it open through any libusb backend (a second open
 * is refused: usbfs itself would allow it), and on Linux while another process has claimed one of
 * its interfaces, which sysfs shows without opening anything. A process that has opened the device
 * but claimed nothing shows nowhere, nor does another process's hold off Linux: there the second
 * claim fails with an `AccessError` that says the interface is held.
 *
 * Control transfers: libusb's Linux and Windows backends carry at most 4096 bytes in a data stage
 * and refuse a longer one before it reaches the bus, which this backend reports as a `RangeError`;
 * libusb on macOS has no such limit.
 *
 * @throws UsbError when `usb` is not installed or its native part does not load.
 *
 * @example
 * {@includeCode ../../../../../test/docs/examples/backends.ts#libusb}
 */
export async function libusb(): Promise<Backend> {
  let module: UsbModule;
  try {
    module = await import('usb');
  } catch (error) {
    throw new UsbError(`the libusb backend needs the npm package 'usb' 2.18: ${(error as Error).message}`);
  }
  return new LibusbBackend(module);
}

class LibusbBackend implements Backend {
  readonly name = 'libusb';

  constructor(private readonly module: UsbModule) {}

  async list(): Promise<BackendDeviceInfo[]> {
    return Promise.all(this.module.getDeviceList().map((device) => deviceInfo(device)));
  }

  watch(listener: (event: BackendHotplugEvent) => void): () => void {
    let watching = true;
    // Listing entries take a sysfs read: events wait for each other so that they keep their order.
    let delivered = Promise.resolve();
    const forward = (type: 'attach' | 'detach', info: Promise<BackendDeviceInfo>): void => {
      delivered = delivered.then(async () => {
        const device = await info;
        if (!watching) return;
        try {
          listener({ type, device });
        } catch (error) {
          // Uncaught, as an event listener's would be, without stopping the events after it.
          setImmediate(() => {
            throw error;
          });
        }
      });
    };
    const attach = (device: UsbDevice): void => forward('attach', deviceInfo(device));
    // A device that left holds nothing.
    const detach = (device: UsbDevice): void => forward('detach', Promise.resolve({ ...listing(device), busy: false }));
    this.module.usb.on('attach', attach);
    this.module.usb.on('detach', detach);
    return () => {
      watching = false;
      this.module.usb.off('attach', attach);
      this.module.usb.off('detach', detach);
    };
  }

  async open(id: string): Promise<BackendDevice> {
    const usbDevice = this.module.getDeviceList().find((device) => deviceId(device) === id);
    if (!usbDevice) throw new DisconnectedError(`device ${id} is not attached`);
    const reserved = hold(id, this.module.usb);
    try {
      const claims = await usbfsClaims(usbDevice);
      if (claims.length > 0) {
        throw new AccessError(`device ${id} is held by another process (interface ${claims.join(', ')} claimed through usbfs)`);
      }
      try {
        usbDevice.open();
      } catch (error) {
        throw callError(`open device ${id}`, error as LibusbError);
      }
      if (process.platform === 'linux') usbDevice.setAutoDetachKernelDriver(true);
      const descriptor = deviceDescriptor(usbDevice, await readStrings(usbDevice));
      const device = new LibusbDevice(usbDevice, descriptor, this.module.Transfer, reserved);
      reserved.own(device);
      return device;
    } catch (error) {
      reserved.release();
      throw error;
    }
  }
}

function listing(device: UsbDevice): Omit<BackendDeviceInfo, 'busy'> {
  return { id: deviceId(device), descriptor: deviceDescriptor(device) };
}

async function deviceInfo(device: UsbDevice): Promise<BackendDeviceInfo> {
  const entry = listing(device);
  return { ...entry, busy: heldHere(entry.id) || (await usbfsClaims(device)).length > 0 };
}

async function readStrings(device: UsbDevice): Promise<DeviceStrings> {
  const { iManufacturer, iProduct, iSerialNumber } = device.deviceDescriptor;
  const read = async (index: number): Promise<string | undefined> => {
    if (index === 0) return undefined;
    // A device without a readable string still opens; the field stays absent.
    return call<string | undefined>('read string', (done) => device.getStringDescriptor(index, done)).catch(() => undefined);
  };
  const [manufacturerName, productName, serialNumber] = await Promise.all([read(iManufacturer), read(iProduct), read(iSerialNumber)]);
  return {
    ...(manufacturerName === undefined ? {} : { manufacturerName }),
    ...(productName === undefined ? {} : { productName }),
    ...(serialNumber === undefined ? {} : { serialNumber }),
  };
}
