/**
 * The libusb backend: `@dextio/core` over the npm package `usb` 2.18 (libusb 1.0 with async
 * transfers and cancel), for Linux, Windows and Macs without the dext.
 *
 * @module
 */
import type { Device as UsbDevice } from 'usb';
import type { Backend, BackendDevice, BackendDeviceInfo, BackendHotplugEvent } from '../../backend.js';
import { DisconnectedError, UsbError } from '../../errors.js';
import { deviceDescriptor, deviceId, type DeviceStrings } from './descriptors.js';
import { LibusbDevice } from './device.js';
import { call, callError, type LibusbError } from './status.js';

type UsbModule = typeof import('usb');

/**
 * Loads the npm package `usb` and returns a backend over it.
 *
 * @throws UsbError when `usb` is not installed or its native part does not load.
 * @example
 * ```ts
 * import { Usb, libusb } from '@dextio/core';
 * const usb = new Usb(await libusb());
 * ```
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
  readonly #open = new Set<LibusbDevice>();
  readonly #onDetach = (device: UsbDevice): void => {
    const id = deviceId(device);
    for (const open of this.#open) if (deviceId(open.usbDevice) === id) open.lost();
  };

  constructor(private readonly module: UsbModule) {}

  async list(): Promise<BackendDeviceInfo[]> {
    return this.module.getDeviceList().map(deviceInfo);
  }

  watch(listener: (event: BackendHotplugEvent) => void): () => void {
    const attach = (device: UsbDevice): void =>
      listener({ type: 'attach', device: deviceInfo(device) });
    const detach = (device: UsbDevice): void =>
      listener({ type: 'detach', device: deviceInfo(device) });
    this.module.usb.on('attach', attach);
    this.module.usb.on('detach', detach);
    return () => {
      this.module.usb.off('attach', attach);
      this.module.usb.off('detach', detach);
    };
  }

  async open(id: string): Promise<BackendDevice> {
    const usbDevice = this.module.getDeviceList().find((device) => deviceId(device) === id);
    if (!usbDevice) throw new DisconnectedError(`device ${id} is not attached`);
    try {
      usbDevice.open();
    } catch (error) {
      throw callError('open', error as LibusbError);
    }
    if (process.platform === 'linux') usbDevice.setAutoDetachKernelDriver(true);
    const device = new LibusbDevice(usbDevice, deviceDescriptor(usbDevice, await readStrings(usbDevice)), (closed) => {
      this.#open.delete(closed);
      if (this.#open.size === 0) this.module.usb.off('detach', this.#onDetach);
    });
    if (this.#open.size === 0) this.module.usb.on('detach', this.#onDetach);
    this.#open.add(device);
    return device;
  }
}

function deviceInfo(device: UsbDevice): BackendDeviceInfo {
  return { id: deviceId(device), descriptor: deviceDescriptor(device) };
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
