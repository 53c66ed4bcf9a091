/**
 * An opened device: configuration, interfaces, control transfers and pipes.
 *
 * @module
 */
import { defer, firstValueFrom, Observable } from 'rxjs';
import type { BackendDevice, ControlCompletion } from './backend.js';
import type {
  AlternateDescriptor,
  ConfigurationDescriptor,
  ControlSetup,
  DeviceDescriptor,
  Direction,
  EndpointDescriptor,
  InterfaceDescriptor,
} from './descriptors.js';
import { ClosedError, DisconnectedError, errorForStatus } from './errors.js';
import { Pipe } from './pipe.js';
import type { ControlInResult, ControlOutResult, TransferStatus } from './results.js';
import { checkBytes, checkInteger, checkOptions, checkSetup, checkTimeout } from './validate.js';

/** Options of a control transfer. */
export interface ControlOptions {
  /** Milliseconds, 1 to {@link CONTROL_TIMEOUT_MAX}; default {@link CONTROL_TIMEOUT_DEFAULT}. */
  readonly timeout?: number;
}

/** The default timeout of control transfers: a device that never answers on endpoint 0 is broken. */
export const CONTROL_TIMEOUT_DEFAULT = 5000;

/**
 * The longest timeout a control transfer may have, in ms: a control request always ends, so that
 * a silent device cannot hold endpoint 0 (and the dext's control buffer) forever.
 */
export const CONTROL_TIMEOUT_MAX = 30000;

/**
 * An opened USB device, from {@link Usb.open}.
 *
 * When the device goes away, every Observable running on it errors with `DisconnectedError`, and
 * later calls fail with it too. {@link close} aborts what is running (`AbortedError`) and releases
 * everything; after it every method throws {@link ClosedError}.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/device.ts#setup}
 */
export class Device {
  readonly #backend: BackendDevice;
  readonly #claimed = new Map<number, number>();
  readonly #pipes = new Map<string, Pipe>();
  #state: 'open' | 'disconnected' | 'closed' = 'open';
  readonly #stopWatching: () => void;

  /** @internal Devices are made by {@link Usb.open}. */
  constructor(backend: BackendDevice) {
    this.#backend = backend;
    this.#stopWatching = backend.onDisconnect(() => this.#disconnected());
  }

  /**
   * Descriptors and strings, in WebUSB's shapes.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get descriptor(): DeviceDescriptor {
    return this.#backend.descriptor;
  }

  /**
   * idVendor, from {@link Device.descriptor}.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get vendorId(): number {
    return this.descriptor.vendorId;
  }

  /**
   * idProduct, from {@link Device.descriptor}.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get productId(): number {
    return this.descriptor.productId;
  }

  /**
   * The serial number string, or `undefined` when the device has none.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get serialNumber(): string | undefined {
    return this.descriptor.serialNumber;
  }

  /**
   * `false` once the device has gone away or been closed.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get opened(): boolean {
    return this.#state === 'open';
  }

  /**
   * The active configuration, or `undefined` when the device is unconfigured.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#configuration}
   */
  get configuration(): ConfigurationDescriptor | undefined {
    const value = this.#backend.configurationValue;
    return this.descriptor.configurations.find((c) => c.configurationValue === value);
  }

  /**
   * The longest control data stage this backend can carry: 65535 (all of wLength) except where
   * the layer below refuses more (libusb on Linux and Windows: 4096). Longer requests throw a
   * `RangeError` that names the limit.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#identity}
   */
  get controlLengthMax(): number {
    return this.#backend.controlLengthMax;
  }

  /**
   * The interfaces of the active configuration that this device can claim: all of them, except
   * where the backend drives only some (the dext: the one interface it was matched on).
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#configuration}
   */
  get claimableInterfaces(): readonly number[] {
    const all = this.configuration?.interfaces.map((i) => i.interfaceNumber) ?? [];
    const claimable = this.#backend.claimableInterfaces;
    return claimable === undefined ? all : all.filter((n) => claimable.includes(n));
  }

  /**
   * Whether this device holds a claim on interface `interfaceNumber`.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#claimInterface}
   */
  isClaimed(interfaceNumber: number): boolean {
    return this.#claimed.has(interfaceNumber);
  }

  /**
   * The current alternate setting of a claimed interface.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#alternate}
   */
  alternate(interfaceNumber: number): AlternateDescriptor {
    const { alternate } = this.#claimedInterface(interfaceNumber);
    return alternate;
  }

  /**
   * Makes `configurationValue` the active configuration. Pipes are closed and claims dropped.
   *
   * @throws RangeError when the device has no such configuration.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#configuration}
   */
  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#assertUsable('selectConfiguration');
    checkInteger('configurationValue', configurationValue, 0, 255);
    if (!this.descriptor.configurations.some((c) => c.configurationValue === configurationValue)) {
      throw new RangeError(`the device has no configuration ${configurationValue}`);
    }
    await this.#closePipes(() => true);
    for (const interfaceNumber of [...this.#claimed.keys()]) await this.releaseInterface(interfaceNumber);
    await this.#backend.selectConfiguration(configurationValue);
  }

  /**
   * Claims an interface of the active configuration for this process.
   *
   * @throws RangeError when the configuration has no such interface, or this backend cannot claim
   *   it ({@link claimableInterfaces}); rejects with `AccessError` when another driver holds it.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#claimInterface}
   */
  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#assertUsable('claimInterface');
    this.#interface(interfaceNumber);
    if (!this.claimableInterfaces.includes(interfaceNumber)) {
      throw new RangeError(
        `interface ${interfaceNumber} cannot be claimed through this backend; claimable: ${this.claimableInterfaces.join(', ') || 'none'}`,
      );
    }
    if (this.#claimed.has(interfaceNumber)) return;
    await this.#backend.claimInterface(interfaceNumber);
    this.#claimed.set(interfaceNumber, 0);
  }

  /**
   * Closes the interface's pipes and gives the interface back.
   *
   * @throws RangeError when the interface is not claimed; {@link ClosedError} after close.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#releaseInterface}
   */
  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#assertUsable('releaseInterface');
    this.#claimedInterface(interfaceNumber);
    await this.#closePipes((pipe) => this.#interfaceOf(pipe) === interfaceNumber);
    this.#claimed.delete(interfaceNumber);
    await this.#backend.releaseInterface(interfaceNumber);
  }

  /**
   * Selects an alternate setting of a claimed interface; its pipes are closed first.
   *
   * @throws RangeError when the interface is not claimed or has no such alternate setting.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#alternate}
   */
  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.#assertUsable('selectAlternateInterface');
    const { iface } = this.#claimedInterface(interfaceNumber);
    checkInteger('alternateSetting', alternateSetting, 0, 255);
    if (!iface.alternates.some((a) => a.alternateSetting === alternateSetting)) {
      throw new RangeError(`interface ${interfaceNumber} has no alternate setting ${alternateSetting}`);
    }
    await this.#closePipes((pipe) => this.#interfaceOf(pipe) === interfaceNumber);
    await this.#backend.selectAlternateInterface(interfaceNumber, alternateSetting);
    this.#claimed.set(interfaceNumber, alternateSetting);
  }

  /**
   * Reads string descriptor `index` (1 to 255) as text.
   *
   * @throws TypeError / RangeError for a bad index; {@link ClosedError} after close;
   *   `DisconnectedError` once the device is gone.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#getString}
   */
  async getString(index: number): Promise<string> {
    this.#assertUsable('getString');
    checkInteger('index', index, 1, 255);
    return this.#backend.getString(index);
  }

  /**
   * A control IN transfer on endpoint 0 of up to `length` bytes (0 to 65535, at most {@link Device.controlLengthMax}).
   *
   * @returns a cold Observable of one {@link ControlInResult}; a stall is `status: 'stall'`.
   *   It errors with `TimeoutError` (after {@link CONTROL_TIMEOUT_DEFAULT} ms unless
   *   `options.timeout` says otherwise), `DisconnectedError` or `AbortedError`.
   * @throws TypeError / RangeError for a bad setup, length or `options.timeout` (1 to
   *   {@link CONTROL_TIMEOUT_MAX}); {@link ClosedError} after close.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#controlIn}
   */
  controlIn(setup: ControlSetup, length: number, options?: ControlOptions): Observable<ControlInResult> {
    checkSetup(setup);
    this.#checkControlLength('length', checkInteger('length', length, 0, 0xffff));
    return this.#control('in', setup, length, options, (c) => ({ status: c.status as TransferStatus, data: c.data }));
  }

  /**
   * A control OUT transfer on endpoint 0 with an optional payload of up to 65535 bytes (at most {@link Device.controlLengthMax}).
   *
   * @returns a cold Observable of one {@link ControlOutResult}; it errors as {@link Device.controlIn} does.
   * @throws TypeError / RangeError for a bad setup, data or `options.timeout`; {@link ClosedError} after close.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#controlOut}
   */
  controlOut(
    setup: ControlSetup,
    data?: Uint8Array | ArrayBufferView | ArrayBuffer,
    options?: ControlOptions,
  ): Observable<ControlOutResult> {
    checkSetup(setup);
    const bytes = data === undefined ? new Uint8Array(0) : checkBytes('data', data);
    this.#checkControlLength('data.byteLength', checkInteger('data.byteLength', bytes.byteLength, 0, 0xffff));
    return this.#control('out', setup, bytes, options, (c) => ({ status: c.status as TransferStatus, bytesWritten: c.bytes }));
  }

  /**
   * `controlIn` as a Promise (WebUSB's name). A bad argument rejects, as in WebUSB, rather than throws.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#controlTransferIn}
   */
  controlTransferIn(setup: ControlSetup, length: number, options?: ControlOptions): Promise<ControlInResult> {
    return firstValueFrom(defer(() => this.controlIn(setup, length, options)));
  }

  /**
   * `controlOut` as a Promise (WebUSB's name). A bad argument rejects, as in WebUSB, rather than throws.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#controlTransferOut}
   */
  controlTransferOut(
    setup: ControlSetup,
    data?: Uint8Array | ArrayBufferView | ArrayBuffer,
    options?: ControlOptions,
  ): Promise<ControlOutResult> {
    return firstValueFrom(defer(() => this.controlOut(setup, data, options)));
  }

  /**
   * Opens the pipe of a bulk or interrupt endpoint of a claimed interface's current alternate
   * setting. Opening the same endpoint again returns the same pipe while it is open.
   *
   * @throws TypeError for a bad direction; RangeError when no claimed interface has the endpoint
   *   or it is not bulk or interrupt.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#openPipe}
   */
  async openPipe(direction: Direction, endpointNumber: number): Promise<Pipe> {
    this.#assertUsable('openPipe');
    if (direction !== 'in' && direction !== 'out') {
      throw new TypeError(`direction must be 'in' or 'out', not ${String(direction)}`);
    }
    checkInteger('endpointNumber', endpointNumber, 1, 15);
    const key = `${direction}${endpointNumber}`;
    const open = this.#pipes.get(key);
    if (open && !open.closing) return open;
    // A pipe still reaping its transfers is finished first: one pipe per endpoint at a time.
    if (open) await open.close();
    const endpoint = this.#claimedEndpoint(direction, endpointNumber);
    if (endpoint.type !== 'bulk' && endpoint.type !== 'interrupt') {
      throw new RangeError(`endpoint ${endpointNumber} ${direction.toUpperCase()} is ${endpoint.type}; pipes carry bulk and interrupt`);
    }
    const pipe = new Pipe(await this.#backend.openPipe(direction, endpointNumber), (closed) => {
      if (this.#pipes.get(key) === closed) this.#pipes.delete(key);
    });
    this.#pipes.set(key, pipe);
    return pipe;
  }

  /**
   * Aborts every transfer (`AbortedError`), closes pipes, releases interfaces and closes the
   * device. Resolves once everything is reaped. Idempotent; safe after a disconnect.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/device.ts#close}
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#stopWatching();
    await this.#closePipes(() => true);
    if (wasOpen) {
      for (const interfaceNumber of this.#claimed.keys()) {
        // A device that vanished meanwhile has nothing left to release.
        await this.#backend.releaseInterface(interfaceNumber).catch(() => undefined);
      }
    }
    this.#claimed.clear();
    await this.#backend.close();
  }

  #disconnected(): void {
    if (this.#state !== 'open') return;
    this.#state = 'disconnected';
    const error = new DisconnectedError('the device is disconnected');
    for (const pipe of this.#pipes.values()) pipe.disconnected(error);
  }

  #control<T>(
    direction: Direction,
    setup: ControlSetup,
    data: Uint8Array | number,
    options: ControlOptions | undefined,
    toResult: (completion: ControlCompletion) => T,
  ): Observable<T> {
    this.#assertOpen(direction === 'in' ? 'controlIn' : 'controlOut');
    const given = checkOptions<ControlOptions>('options', options, ['timeout']).timeout;
    const timeout = checkTimeout(given, CONTROL_TIMEOUT_DEFAULT, 1, CONTROL_TIMEOUT_MAX);
    return new Observable<T>((subscriber) => {
      if (this.#state === 'disconnected') {
        subscriber.error(new DisconnectedError('the device is disconnected'));
        return;
      }
      if (this.#state === 'closed') {
        subscriber.error(new ClosedError('the device is closed'));
        return;
      }
      this.#backend.control(direction, setup, data, timeout).then(
        (completion) => {
          if (subscriber.closed) return;
          const { status } = completion;
          if (status === 'ok' || status === 'stall' || status === 'babble') {
            subscriber.next(toResult(completion));
            subscriber.complete();
          } else {
            subscriber.error(errorForStatus(status, completion.message));
          }
        },
        (error: unknown) => subscriber.error(error),
      );
    });
  }

  #checkControlLength(name: string, length: number): void {
    const max = this.#backend.controlLengthMax;
    if (length > max) {
      throw new RangeError(`${name} ${length} is more than the ${max} bytes of control data this backend can carry (device.controlLengthMax)`);
    }
  }

  async #closePipes(which: (pipe: Pipe) => boolean): Promise<void> {
    await Promise.all([...this.#pipes.values()].filter(which).map((pipe) => pipe.close()));
  }

  #interfaceOf(pipe: Pipe): number | undefined {
    for (const [interfaceNumber, alternateSetting] of this.#claimed) {
      const alternate = this.#interface(interfaceNumber).alternates.find((a) => a.alternateSetting === alternateSetting);
      if (alternate?.endpoints.some((e) => e.endpointNumber === pipe.endpointNumber && e.direction === pipe.direction)) {
        return interfaceNumber;
      }
    }
    return undefined;
  }

  #interface(interfaceNumber: number): InterfaceDescriptor {
    checkInteger('interfaceNumber', interfaceNumber, 0, 255);
    const configuration = this.configuration;
    const iface = configuration?.interfaces.find((i) => i.interfaceNumber === interfaceNumber);
    if (!iface) {
      throw new RangeError(
        configuration
          ? `configuration ${configuration.configurationValue} has no interface ${interfaceNumber}`
          : 'the device is not configured; call selectConfiguration first',
      );
    }
    return iface;
  }

  #claimedInterface(interfaceNumber: number): { iface: InterfaceDescriptor; alternate: AlternateDescriptor } {
    const iface = this.#interface(interfaceNumber);
    const alternateSetting = this.#claimed.get(interfaceNumber);
    if (alternateSetting === undefined) throw new RangeError(`interface ${interfaceNumber} is not claimed`);
    const alternate = iface.alternates.find((a) => a.alternateSetting === alternateSetting)!;
    return { iface, alternate };
  }

  #claimedEndpoint(direction: Direction, endpointNumber: number): EndpointDescriptor {
    for (const interfaceNumber of this.#claimed.keys()) {
      const { alternate } = this.#claimedInterface(interfaceNumber);
      const endpoint = alternate.endpoints.find((e) => e.endpointNumber === endpointNumber && e.direction === direction);
      if (endpoint) return endpoint;
    }
    throw new RangeError(`no claimed interface has endpoint ${endpointNumber} ${direction.toUpperCase()}`);
  }

  /** Programming errors throw; a disconnect is reported through the returned Promise or Observable. */
  #assertOpen(method: string): void {
    if (this.#state === 'closed') throw new ClosedError(`${method}: the device is closed`);
  }

  #assertUsable(method: string): void {
    this.#assertOpen(method);
    if (this.#state === 'disconnected') throw new DisconnectedError(`${method}: the device is disconnected`);
  }
}
