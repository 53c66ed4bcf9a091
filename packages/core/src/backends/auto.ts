/**
 * The backend to use when the caller does not name one.
 *
 * @module
 */
import type { Backend } from '../backend.js';
import { dext } from './dext/index.js';
import { libusb } from './libusb/index.js';

/**
 * On macOS, the dext backend where the dext answers (it is installed, drives a device, and this
 * process may open it), libusb otherwise. Elsewhere libusb: off macOS `@dextio/native` runs the dext against its
 * virtual gadget, which a caller asks for by name with {@link dext}.
 *
 * @throws UsbError when no backend can be loaded.
 */
export async function auto(): Promise<Backend> {
  if (process.platform === 'darwin') {
    try {
      const backend = await dext();
      if ((await backend.list()).length > 0) return backend;
    } catch {
      // The dext is not installed or refuses this process: libusb still reaches the device.
    }
  }
  return libusb();
}
