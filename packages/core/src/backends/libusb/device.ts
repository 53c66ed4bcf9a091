/**
 * An opened device over `usb`'s legacy API.
 *
 * @internal
 * @module
 */
import type { Device as UsbDevice, Interface } from 'usb';
import type { BackendDevice, BackendPipe, ControlCompletion } from '../../backend.js';
import type { ControlSetup, DeviceDescriptor, Direction } from '../../descriptors.js';
import { DisconnectedError } from '../../errors.js';
import { LibusbPipe } from './pipe.js';
import { call, completionStatus, type LibusbError } from './status.js';

/** How long a failed transfer waits before the device is asked whether it is still there. */
const PROBE_DELAY_MS = 250;

const requestTypeBits = { standard: 0, class: 1, vendor: 2 } as const;
const recipientBits = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

export class LibusbDevice implements BackendDevice {
  #gone = false;
  #closed = false;
  #probe: Promise<boolean> | null = null;
  #configurationValue: number | null;
  readonly #pipes = new Set<LibusbPipe>();
  readonly #disconnectListeners = new Set<() => void>();

  constructor(
    readonly usbDevice: UsbDevice,
    readonly descriptor: DeviceDescriptor,
    private readonly onClosed: (device: LibusbDevice) => void,
  ) {
    this.#configurationValue = usbDevice.configDescriptor?.bConfigurationValue ?? null;
  }

  get gone(): boolean {
    return this.#gone;
  }

  get configurationValue(): number | null {
    return this.#configurationValue;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#assertPresent();
    await call('set configuration', (done) => this.usbDevice.setConfiguration(configurationValue, done));
    this.#configurationValue = configurationValue;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#assertPresent();
    // libusb detaches a kernel driver (Linux) at claim and gives it back at release.
    await call('claim interface', (done) => {
      this.#interface(interfaceNumber).claim();
      done();
    });
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#assertPresent();
    await call('release interface', (done) => this.#interface(interfaceNumber).release(true, done));
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.#assertPresent();
    await call('set alternate setting', (done) => this.#interface(interfaceNumber).setAltSetting(alternateSetting, done));
  }

  async getString(index: number): Promise<string> {
    this.#assertPresent();
    return (await call<string | undefined>('read string', (done) => this.usbDevice.getStringDescriptor(index, done))) ?? '';
  }

  control(direction: Direction, setup: ControlSetup, data: Uint8Array | number, timeout: number): Promise<ControlCompletion> {
    const bmRequestType =
      (direction === 'in' ? 0x80 : 0) | (requestTypeBits[setup.requestType] << 5) | recipientBits[setup.recipient];
    const payload = typeof data === 'number' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise((resolve) => {
      const finish = (error: LibusbError | undefined, result: Buffer | number | undefined): void => {
        let status = completionStatus(error);
        if (status !== 'ok' && this.#gone) status = 'disconnected';
        const received = result instanceof Uint8Array ? new Uint8Array(result.buffer, result.byteOffset, result.byteLength) : new Uint8Array(0);
        const bytes = typeof result === 'number' ? result : received.byteLength;
        resolve(error?.message && status === 'error' ? { status, data: received, bytes, message: error.message } : { status, data: received, bytes });
      };
      if (this.#gone) return setImmediate(() => finish({ errno: -4 }, undefined));
      try {
        // `usb` reads the device's timeout when the call starts, so setting it here is per call.
        this.usbDevice.timeout = timeout;
        this.usbDevice.controlTransfer(bmRequestType, setup.request, setup.value, setup.index, payload, finish);
      } catch (error) {
        setImmediate(() => finish(error as LibusbError, undefined));
      }
    });
  }

  async openPipe(direction: Direction, endpointNumber: number): Promise<BackendPipe> {
    this.#assertPresent();
    const address = (direction === 'in' ? 0x80 : 0) | endpointNumber;
    for (const iface of this.usbDevice.interfaces ?? []) {
      const endpoint = iface.endpoint(address);
      if (!endpoint) continue;
      const type = endpoint.transferType === 3 ? 'interrupt' : 'bulk';
      const pipe = new LibusbPipe(this, endpoint, type);
      this.#pipes.add(pipe);
      return pipe;
    }
    throw new RangeError(`no interface has endpoint 0x${address.toString(16)}`);
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /**
   * Whether the device has gone: a GET_STATUS on endpoint 0 fails with NO_DEVICE once it has.
   * One probe at a time serves every pipe that asks.
   */
  probe(): Promise<boolean> {
    this.#probe ??= (async () => {
      // The host side notices a removal a moment after the transfers on it fail.
      await new Promise((resolve) => setTimeout(resolve, PROBE_DELAY_MS));
      const setup = { requestType: 'standard', recipient: 'device', request: 0, value: 0, index: 0 } as const;
      const { status } = await this.control('in', setup, 2, 500);
      this.#probe = null;
      // A device that is there answers GET_STATUS; one that fails it is on its way out.
      return status === 'disconnected' || status === 'error';
    })();
    return this.#probe;
  }

  /** The device went away (a detach event, or a transfer that found it gone). */
  lost(): void {
    if (this.#gone) return;
    this.#gone = true;
    // Listeners run once every outstanding transfer has reported the disconnect (the contract).
    void Promise.all([...this.#pipes].map((pipe) => pipe.close())).then(() => {
      for (const listener of this.#disconnectListeners) listener();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#pipes].map((pipe) => pipe.close()));
    this.#pipes.clear();
    try {
      this.usbDevice.close();
    } catch {
      // A vanished device may refuse to close; libusb frees it when its last reference goes.
    }
    this.onClosed(this);
  }

  #interface(interfaceNumber: number): Interface {
    const iface = this.usbDevice.interface(interfaceNumber);
    if (!iface) throw new RangeError(`the device has no interface ${interfaceNumber}`);
    return iface;
  }

  #assertPresent(): void {
    if (this.#gone) throw new DisconnectedError('the device is disconnected');
  }
}
