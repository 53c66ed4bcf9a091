/**
 * A device opened through the dext: one connection (one user client), the dext's one interface.
 *
 * Completions of every pipe arrive in batches (one per doorbell) and are routed by tag.
 *
 * @internal
 * @module
 */
import type { Connection, DeviceInfo, PipeInfo } from '@dextio/native';
import type { BackendDevice, BackendPipe, ControlCompletion } from '../../backend.js';
import type { ConfigurationDescriptor, ControlSetup, DeviceDescriptor, Direction } from '../../descriptors.js';
import { DisconnectedError, errorForStatus, UsbError } from '../../errors.js';
import { deviceStrings, parseConfiguration, parseDevice } from './descriptors.js';
import { DextPipe, type PipeHost } from './pipe.js';
import { RouteTable, type Route } from './routes.js';
import { callError, completionStatus, IOReturn, ioReturnText } from './status.js';

const requestTypeBits = { standard: 0, class: 1, vendor: 2 } as const;
const recipientBits = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;
/** How long close and unplug wait for the dext's completions before reporting the rest themselves. */
const REAP_GRACE_MS = 2000;
const GET_DESCRIPTOR = 0x06;
const STRING_DESCRIPTOR = 0x03;
const LANGUAGE_US_ENGLISH = 0x0409;


/**
 * The device descriptor and every configuration (0 to bNumConfigurations - 1), as the dext read
 * them from the device, without strings. A device whose device or configuration descriptor is not
 * one at all is refused with a `UsbError`; anything less wrong parses as far as it makes sense.
 */
export function readDescriptors(connection: Connection): { bytes: Uint8Array; descriptor: DeviceDescriptor } {
  const bytes = connection.deviceDescriptor();
  const configurations: ConfigurationDescriptor[] = [];
  const count = bytes.length >= 18 ? bytes[17]! : 0;
  for (let index = 0; index < count; index++) {
    const configuration = parseConfiguration(connection.configurationDescriptor(index));
    if (!configuration) throw new UsbError(`the device's configuration descriptor ${index} is malformed`);
    configurations.push(configuration);
  }
  const descriptor = parseDevice(bytes, configurations);
  if (!descriptor) throw new UsbError(`the device's device descriptor is malformed (${bytes.length} bytes)`);
  return { bytes, descriptor };
}

/** Where a device descriptor has its string indices: iManufacturer, iProduct, iSerialNumber. */
const I_MANUFACTURER = 14;
const I_PRODUCT = 15;
const I_SERIAL_NUMBER = 16;

export class DextDevice implements BackendDevice, PipeHost {
  #gone = false;
  #closed = false;
  #info: DeviceInfo;
  #pipeInfo: PipeInfo[];
  /** The device's own descriptors, read once at open; the strings join them in `readStrings`. */
  #descriptor: DeviceDescriptor;
  /** The device descriptor as the device sent it: where the string indices are. */
  readonly #deviceBytes: Uint8Array;
  readonly #routes = new RouteTable();
  readonly #pipes = new Set<DextPipe>();
  readonly #disconnectListeners = new Set<() => void>();

  /** Stops the device's own watch for its removal. */
  readonly #stopWatching: () => void;

  /**
   * Reads the device through `connection`; throws (a `UsbError` for malformed descriptors, the
   * addon's error for a failed call) before it starts anything, so the caller only has the
   * connection to close.
   *
   * @param watchRemoval - starts a watch that calls its argument when the dext's service
   *   terminates, and returns a function that stops it: the device notices an unplug even while
   *   it is idle and nobody subscribed to hotplug.
   * @param descriptorTransfersMax - the connection's budget of descriptor transfers, shared by
   *   the pipes.
   */
  constructor(
    readonly connection: Connection,
    private readonly onClosed: (device: DextDevice) => void,
    watchRemoval: (removed: () => void) => () => void,
    private readonly descriptorTransfersMax: number,
  ) {
    this.#info = connection.deviceInfo();
    this.#pipeInfo = connection.pipes();
    ({ bytes: this.#deviceBytes, descriptor: this.#descriptor } = readDescriptors(connection));
    this.#stopWatching = watchRemoval(() => {
      if (!this.#closed && !this.#present()) this.lost();
    });
  }

  get info(): DeviceInfo {
    return this.#info;
  }

  get descriptor(): DeviceDescriptor {
    return this.#descriptor;
  }

  /** The dext drives the one interface it was matched on. */
  get claimableInterfaces(): readonly number[] {
    return [this.#info.interfaceNumber];
  }

  /**
   * Reads the manufacturer, product and serial number strings that the device descriptor names.
   * A device without them (or one that stalls the request) still opens; the fields stay absent.
   */
  async readStrings(): Promise<void> {
    const read = (offset: number) => {
      const index = this.#deviceBytes[offset]!;
      return index === 0 ? undefined : this.getString(index).catch(() => undefined);
    };
    const [manufacturerName, productName, serialNumber] = await Promise.all([
      read(I_MANUFACTURER),
      read(I_PRODUCT),
      read(I_SERIAL_NUMBER),
    ]);
    const { configurations, ...device } = this.#descriptor;
    this.#descriptor = { ...device, ...deviceStrings({ manufacturerName, productName, serialNumber }), configurations };
  }

  get configurationValue(): number | null {
    return this.#info.configurationValue;
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** The connection's completion callback: every completion of one doorbell. */
  deliver(batch: Float64Array): void {
    // An unplug can surface as kIOReturnAborted first (the dext's Stop aborts its pipes) and
    // kIOReturnNoDevice later in the same batch: decide whether the device is gone before routing.
    if (!this.#gone) {
      let aborted = false;
      for (let i = 1; i < batch.length && !this.#gone; i += 4) {
        const status = completionStatus(batch[i]!);
        if (status === 'disconnected') this.lost();
        else if (status === 'aborted') aborted = true;
      }
      if (aborted && !this.#gone && !this.#closed && !this.#present()) this.lost();
    }
    for (let i = 0; i < batch.length; i += 4) {
      this.#routes.take(batch[i]!)?.(batch[i + 1]!, batch[i + 2]!);
    }
  }

  // PipeHost
  expect(route: Route): number {
    return this.#routes.add(route);
  }
  forget(tag: number): void {
    this.#routes.take(tag);
  }
  submitSlot(pipe: number, slot: number, length: number, timeout: number, tag: number): number {
    if (!this.connection.isOpen) return this.#closedStatus();
    return this.connection.submitSlot(pipe, slot, length, timeout, tag);
  }
  submitDescriptor(pipe: number, buffer: Uint8Array, length: number, timeout: number, tag: number): number {
    if (!this.connection.isOpen) return this.#closedStatus();
    return this.connection.submitDescriptor(pipe, buffer, length, timeout, tag);
  }
  abort(pipe: number): number {
    if (!this.connection.isOpen) return this.#closedStatus();
    return this.connection.abort(pipe);
  }
  leaseSlot(pipe: number, slot: number): Uint8Array {
    return this.connection.leaseSlot(pipe, slot);
  }
  revokeLease(view: Uint8Array): void {
    // After close the addon has detached every lease already.
    if (this.connection.isOpen) this.connection.revokeLease(view);
  }
  clearHalt(pipe: number): number {
    if (!this.connection.isOpen) return this.#closedStatus();
    return this.connection.clearHalt(pipe);
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#assertPresent();
    if (configurationValue !== this.#info.configurationValue) {
      throw new UsbError(`the dext drives configuration ${this.#info.configurationValue} only`);
    }
  }

  async claimInterface(): Promise<void> {
    // The dext matched the interface and opened it in its Start: opening the connection claimed it.
    // Device allows only claimableInterfaces here.
    this.#assertPresent();
  }

  async releaseInterface(): Promise<void> {
    // The dext holds the interface for as long as the connection is open.
  }

  async selectAlternateInterface(_interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.#assertPresent();
    const ioReturn = this.connection.isOpen ? this.connection.selectAlternate(alternateSetting) : this.#closedStatus();
    if (ioReturn !== 0) throw callError(`select alternate setting ${alternateSetting}`, ioReturn);
    this.#info = this.connection.deviceInfo();
    this.#pipeInfo = this.connection.pipes();
  }

  async getString(index: number): Promise<string> {
    this.#assertPresent();
    const setup: ControlSetup = {
      requestType: 'standard',
      recipient: 'device',
      request: GET_DESCRIPTOR,
      value: (STRING_DESCRIPTOR << 8) | index,
      index: LANGUAGE_US_ENGLISH,
    };
    const result = await this.control('in', setup, 255, 1000);
    if (result.status !== 'ok') throw errorForStatus(result.status, `string descriptor ${index}: ${result.message ?? result.status}`);
    const length = Math.min(result.data[0] ?? 0, result.data.length);
    return Buffer.from(result.data.buffer, result.data.byteOffset + 2, Math.max(0, length - 2)).toString('utf16le');
  }

  /** The dext takes all of wLength: up to 4096 bytes by value, more as a structure descriptor. */
  readonly controlLengthMax = 0xffff;

  async control(direction: Direction, setup: ControlSetup, data: Uint8Array | number, timeout: number): Promise<ControlCompletion> {
    const empty = new Uint8Array(0);
    if (this.#gone) return { status: 'disconnected', data: empty, bytes: 0 };
    if (this.#closed) return { status: 'aborted', data: empty, bytes: 0 };
    const length = typeof data === 'number' ? data : data.byteLength;
    const bmRequestType = (direction === 'in' ? 0x80 : 0) | (requestTypeBits[setup.requestType] << 5) | recipientBits[setup.recipient];
    const payload = direction === 'in' ? length : typeof data === 'number' ? new Uint8Array(0) : data;
    let result;
    try {
      result = await this.connection.control(bmRequestType, setup.request, setup.value, setup.index, payload, timeout);
    } catch (error) {
      // The connection closed under the call; anything else (a RangeError) is a bug to surface.
      if (this.connection.isOpen) throw error;
      return { status: this.#gone ? 'disconnected' : 'aborted', data: empty, bytes: 0 };
    }
    let status = completionStatus(result.status);
    if (status === 'disconnected') this.lost();
    if (status !== 'ok' && this.#gone) status = 'disconnected';
    const received = direction === 'in' ? new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength) : empty;
    const bytes = result.bytes;
    return status === 'error' ? { status, data: received, bytes, message: ioReturnText(result.status) } : { status, data: received, bytes };
  }

  async openPipe(direction: Direction, endpointNumber: number): Promise<BackendPipe> {
    this.#assertPresent();
    const address = (direction === 'in' ? 0x80 : 0) | endpointNumber;
    const info = this.#pipeInfo.find((pipe) => pipe.address === address);
    if (!info) throw new RangeError(`the dext's interface has no endpoint 0x${address.toString(16)} in its current alternate setting`);
    if (info.type !== 2 && info.type !== 3) throw new RangeError(`endpoint 0x${address.toString(16)} is not bulk or interrupt`);
    if (info.slotCount === 0) throw new UsbError(`the dext does not drive endpoint 0x${address.toString(16)}`);
    // An equal share for every pipe the dext drives, whether or not it is open yet.
    const driven = this.#pipeInfo.filter((pipe) => pipe.slotCount > 0).length;
    const share = Math.max(1, Math.floor(this.descriptorTransfersMax / driven));
    const type = info.type === 3 ? 'interrupt' : 'bulk';
    const pipe = new DextPipe(this, address, type, info.maxPacketSize & 0x7ff, this.connection.slots(address), share);
    this.#pipes.add(pipe);
    return pipe;
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /** The device went away: a status said so. */
  lost(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#stopWatching();
    // The dext reports every transfer in flight as kIOReturnNoDevice; should one never come, it is
    // reported here after a grace period. Listeners run once all are in (the contract).
    const reaper = setTimeout(() => this.#reapRoutes(IOReturn.noDevice), REAP_GRACE_MS);
    void Promise.all([...this.#pipes].map((pipe) => pipe.drained())).then(() => {
      clearTimeout(reaper);
      for (const listener of this.#disconnectListeners) listener();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    const reaper = setTimeout(() => this.#reapRoutes(IOReturn.aborted), REAP_GRACE_MS);
    await Promise.all([...this.#pipes].map((pipe) => pipe.close()));
    clearTimeout(reaper);
    this.#pipes.clear();
    // Resolves once the dext has stopped the connection (the device can be opened again), or after
    // the addon's bound without that notice: either way nothing is left for this device to do.
    await this.connection.close();
    this.#reapRoutes(IOReturn.aborted);
    this.onClosed(this);
  }

  /** Completes, as `ioReturn`, every transfer the dext has not reported. */
  #reapRoutes(ioReturn: number): void {
    for (const route of this.#routes.takeAll()) route(ioReturn, 0);
  }

  /** Whether the dext still answers: a call on a connection whose dext stopped is kIOReturnNoDevice. */
  #present(): boolean {
    try {
      this.connection.deviceInfo();
      return true;
    } catch (error) {
      const ioReturn = (error as { ioReturn?: unknown }).ioReturn;
      return typeof ioReturn !== 'number' || completionStatus(ioReturn) !== 'disconnected';
    }
  }

  /** What a call on a connection that closed under it reports. */
  #closedStatus(): number {
    return this.#gone ? IOReturn.noDevice : IOReturn.aborted;
  }

  #assertPresent(): void {
    if (this.#gone) throw new DisconnectedError('the device is disconnected');
  }
}
