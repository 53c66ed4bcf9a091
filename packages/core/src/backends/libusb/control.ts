/**
 * Control transfers on endpoint 0 over `usb`'s low-level `Transfer` rather than
 * `Device.controlTransfer`, which turns a timeout of 0 into its own default of one second: the
 * contract's 0 waits forever, and libusb's transfer timeout of 0 does too.
 *
 * @internal
 * @module
 */
import type { Device as UsbDevice, Transfer } from 'usb';
import type { ControlSetup, Direction } from '../../descriptors.js';
import { LIBUSB_ERROR_INVALID_PARAM, type LibusbError } from './status.js';

/** `usb`'s Transfer class, from the loaded module (the type import alone has no value). */
export type TransferClass = typeof Transfer;

const LIBUSB_TRANSFER_TYPE_CONTROL = 0;
const SETUP_SIZE = 8;

/**
 * libusb's Linux and Windows backends refuse a data stage above this (`MAX_CTRL_BUFFER_LENGTH`)
 * before anything reaches the bus, though usbfs itself takes up to 65535 bytes; macOS has no such
 * limit.
 */
const LIBUSB_CONTROL_DATA_MAX = 4096;

/** The longest control data stage the libusb backend carries on this platform. */
export const CONTROL_LENGTH_MAX = process.platform === 'darwin' ? 0xffff : LIBUSB_CONTROL_DATA_MAX;

const requestTypeBits = { standard: 0, class: 1, vendor: 2 } as const;
const recipientBits = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

/** How a control transfer ended, in libusb's terms: `received` for IN, `bytes` for both. */
export interface ControlOutcome {
  readonly error: LibusbError | undefined;
  readonly received: Uint8Array;
  readonly bytes: number;
}

/**
 * Runs one control transfer. Resolves with its outcome, also when it cannot start (`error` says
 * why); rejects with a `RangeError` only for a length libusb refuses.
 */
export function controlTransfer(
  TransferClass: TransferClass,
  device: UsbDevice,
  direction: Direction,
  setup: ControlSetup,
  data: Uint8Array | number,
  timeout: number,
): Promise<ControlOutcome> {
  const wLength = typeof data === 'number' ? data : data.byteLength;
  // One buffer holds the setup packet and the data stage, as libusb expects.
  const buffer = Buffer.alloc(SETUP_SIZE + wLength);
  buffer.writeUInt8((direction === 'in' ? 0x80 : 0) | (requestTypeBits[setup.requestType] << 5) | recipientBits[setup.recipient], 0);
  buffer.writeUInt8(setup.request, 1);
  buffer.writeUInt16LE(setup.value, 2);
  buffer.writeUInt16LE(setup.index, 4);
  buffer.writeUInt16LE(wLength, 6);
  if (typeof data !== 'number') buffer.set(data, SETUP_SIZE);
  return new Promise((resolve, reject) => {
    const transfer = new TransferClass(device, 0, LIBUSB_TRANSFER_TYPE_CONTROL, timeout, (error, _buffer, actual) => {
      const received = direction === 'in' ? new Uint8Array(buffer.buffer, buffer.byteOffset + SETUP_SIZE, actual) : new Uint8Array(0);
      resolve({ error: error ?? undefined, received, bytes: actual });
    });
    try {
      transfer.submit(buffer);
    } catch (error) {
      const { errno } = error as LibusbError;
      if (errno === LIBUSB_ERROR_INVALID_PARAM && wLength > LIBUSB_CONTROL_DATA_MAX) {
        reject(
          new RangeError(
            `a control transfer of ${wLength} bytes: libusb on ${process.platform} carries at most ` +
              `${LIBUSB_CONTROL_DATA_MAX} bytes in a data stage (MAX_CTRL_BUFFER_LENGTH)`,
          ),
        );
      } else {
        resolve({ error: error as LibusbError, received: new Uint8Array(0), bytes: 0 });
      }
    }
  });
}
