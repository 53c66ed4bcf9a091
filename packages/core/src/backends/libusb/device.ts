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
import { CONTROL_LENGTH_MAX, controlTransfer, type TransferClass } from './control.js';
import type { Hold } from './holds.js';
import { LibusbPipe } from './pipe.js';
import { call, completionStatus } from './status.js';

/** How long a failed transfer waits before the device is asked whether it is still there. */
const PROBE_DELAY_MS = 250;

export class LibusbDevice implements BackendDevice {
  #gone = false;
  #closed = false;
  #probe: Promise<boolean> | null = null;
  #configurationValue: number | null;
  readonly #pipes = new Set<LibusbPipe>();
  readonly #disconnectListeners = new Set<() => void>();

  constructor(
    private readonly usbDevice: UsbDevice,
    readonly descriptor: DeviceDescriptor,
    private readonly transferClass: TransferClass,
    private readonly hold: Hold,
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
    const iface = this.#interface(interfaceNumber);
    // libusb detaches a kernel driver (Linux) at claim and gives it back at release. Another
    // process's claim fails it with LIBUSB_ERROR_BUSY: an AccessError that says it is held.
    await call(`claim interface ${interfaceNumber}`, (done) => {
      iface.claim();
      done();
    });
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#assertPresent();
    const iface = this.#interface(interfaceNumber);
    await call(`release interface ${interfaceNumber}`, (done) => iface.release(true, done));
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.#assertPresent();
    const iface = this.#interface(interfaceNumber);
    await call('set alternate setting', (done) => iface.setAltSetting(alternateSetting, done));
  }

  async getString(index: number): Promise<string> {
    this.#assertPresent();
    return (await call<string | undefined>('read string', (done) => this.usbDevice.getStringDescriptor(index, done))) ?? '';
  }

  readonly controlLengthMax = CONTROL_LENGTH_MAX;

  async control(direction: Direction, setup: ControlSetup, data: Uint8Array | number, timeout: number): Promise<ControlCompletion> {
    if (this.#gone) return { status: 'disconnected', data: new Uint8Array(0), bytes: 0 };
    const { error, received, bytes } = await controlTransfer(this.transferClass, this.usbDevice, direction, setup, data, timeout);
    let status = completionStatus(error);
    if (status !== 'ok' && this.#gone) status = 'disconnected';
    return status === 'error' && error?.message ? { status, data: received, bytes, message: error.message } : { status, data: received, bytes };
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
    this.hold.release();
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
    this.hold.release();
  }

  #interface(interfaceNumber: number): Interface {
    // `usb`'s own lookup throws a plain Error for a missing interface.
    const iface = this.usbDevice.interfaces?.find((candidate) => candidate.interfaceNumber === interfaceNumber);
    if (!iface) throw new RangeError(`the device has no interface ${interfaceNumber}`);
    return iface;
  }

  #assertPresent(): void {
    if (this.#gone) throw new DisconnectedError('the device is disconnected');
  }
}
