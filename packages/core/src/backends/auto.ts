/**
 * The backend to use when the caller does not name one.
 *
 * @module
 */
import type { Backend } from '../backend.js';
import { UsbError } from '../errors.js';
import { dext } from './dext/index.js';
import { libusb } from './libusb/index.js';

/**
 * On macOS, the dext backend where the dext answers (it is installed, drives a device, and this
 * process may open it), libusb otherwise. Elsewhere libusb: off macOS `@dextio/native` runs the dext against its
 * virtual gadget, which a caller asks for by name with {@link dext}.
 *
 * The backend's `description` says why a backend it passed over was unavailable.
 *
 * @throws UsbError when no backend can be loaded, with each one's reason.
 *
 * @example
 * {@includeCode ../../../../test/docs/examples/backends.ts#auto}
 */
export async function auto(): Promise<Backend> {
  const passedOver: string[] = [];
  if (process.platform === 'darwin') {
    try {
      const backend = await dext();
      if ((await backend.list()).length > 0) return backend;
      passedOver.push('dext: no device is driven by the dext (is it installed and activated?)');
    } catch (error) {
      // The dext is not installed or refuses this process: libusb still reaches the device.
      passedOver.push(`dext: ${(error as Error).message}`);
    }
  }
  let backend: Backend;
  try {
    backend = await libusb();
  } catch (error) {
    passedOver.push(`libusb: ${(error as Error).message}`);
    throw new UsbError(`no backend is available:\n  ${passedOver.join('\n  ')}`);
  }
  if (passedOver.length === 0) return backend;
  const description = [backend.description, `chosen because ${passedOver.join('; ')}`].filter(Boolean).join('; ');
  return Object.defineProperty(backend, 'description', { value: description, enumerable: true });
}
