/**
 * libusb's numbers, as the npm package `usb` reports them, in the contract's words.
 *
 * @internal
 * @module
 */
import type { CompletionStatus } from '../../backend.js';
import { AccessError, DisconnectedError, UsbError } from '../../errors.js';

/** libusb_transfer_status, which `usb` puts in a transfer error's `errno`. */
const transferStatus: Record<number, CompletionStatus> = {
  1: 'error', // LIBUSB_TRANSFER_ERROR
  2: 'timeout', // LIBUSB_TRANSFER_TIMED_OUT
  3: 'aborted', // LIBUSB_TRANSFER_CANCELLED
  4: 'stall', // LIBUSB_TRANSFER_STALL
  5: 'disconnected', // LIBUSB_TRANSFER_NO_DEVICE
  6: 'babble', // LIBUSB_TRANSFER_OVERFLOW
};

/** libusb_error codes that mean more than "failed". */
export const LIBUSB_ERROR_INVALID_PARAM = -2;
const LIBUSB_ERROR_ACCESS = -3;
const LIBUSB_ERROR_NO_DEVICE = -4;
const LIBUSB_ERROR_BUSY = -6;
const LIBUSB_ERROR_PIPE = -9;
const LIBUSB_ERROR_NOT_SUPPORTED = -12;

export interface LibusbError {
  readonly errno?: number;
  readonly message?: string;
}

/** The status of a finished bulk, interrupt or control transfer. */
export function completionStatus(error: LibusbError | undefined): CompletionStatus {
  if (!error) return 'ok';
  const errno = error.errno ?? 0;
  if (errno > 0) return transferStatus[errno] ?? 'error';
  if (errno === LIBUSB_ERROR_NO_DEVICE) return 'disconnected';
  if (errno === LIBUSB_ERROR_PIPE) return 'stall';
  if (errno === LIBUSB_ERROR_ACCESS || errno === LIBUSB_ERROR_BUSY) return 'access';
  return 'error';
}

/** The typed error for a failed call outside a transfer (open, claim, set configuration). */
export function callError(what: string, error: LibusbError): Error {
  const detail = `${what}: ${error.message ?? 'libusb error'}`;
  switch (error.errno) {
    case LIBUSB_ERROR_NO_DEVICE:
      return new DisconnectedError(detail);
    case LIBUSB_ERROR_BUSY:
      // usbfs: another process (or a kernel driver that would not let go) has claimed it.
      return new AccessError(`${detail} (held by another process or driver)`);
    case LIBUSB_ERROR_ACCESS:
      return new AccessError(`${detail} (the system refused access: no permission on the device, or a driver owns it)`);
    case LIBUSB_ERROR_NOT_SUPPORTED:
      // What libusb says on Windows when the device (or this interface of it) is bound to a
      // driver other than WinUSB, libusbK or libusb0.
      return new AccessError(
        `${detail} (on Windows: the device needs the WinUSB driver; install it with Zadig, or have the device ask for it with Microsoft OS descriptors)`,
      );
    default:
      return new UsbError(detail);
  }
}

/** Runs a `usb` call that takes a Node-style callback, as a Promise with typed errors. */
export function call<T = void>(what: string, start: (done: (error?: LibusbError, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((error, value) => (error ? reject(callError(what, error)) : resolve(value as T)));
    } catch (error) {
      reject(callError(what, error as LibusbError));
    }
  });
}
