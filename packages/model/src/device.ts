/**
 * An open handle on a model device: configuration, interfaces, control transfers and pipes, with
 * the dext's limits.
 *
 * @internal
 * @module
 */
import {
  DisconnectedError,
  errorForStatus,
  type BackendDevice,
  type BackendPipe,
  type ControlCompletion,
  type ControlSetup,
  type DeviceDescriptor,
  type Direction,
  type EndpointDescriptor,
} from '@dextio/core';
import type { AttachedDevice } from './attached.js';
import { LANGUAGE_US_ENGLISH, STRING_DESCRIPTOR } from './descriptor-bytes.js';
import { ModelPipe } from './pipe.js';
import type { Violations } from './violations.js';

/** Descriptor-path transfers in flight per connection, over all pipes (kDextioMaxDescriptorTransfers). */
export const DESCRIPTOR_TRANSFERS = 128;
const WLENGTH_MAX = 0xffff;
const GET_DESCRIPTOR = 0x06;

export class ModelDevice implements BackendDevice {
  /** Like the dext, all of wLength. */
  readonly controlLengthMax = 0xffff;
  readonly #pipes = new Map<number, ModelPipe>();
  readonly #claimed = new Set<number>();
  readonly #disconnectListeners = new Set<() => void>();
  #closed = false;

  constructor(
    readonly gadget: AttachedDevice,
    private readonly violations: Violations,
    private readonly onClosed: () => void,
  ) {
    gadget.holder = this;
  }

  get descriptor(): DeviceDescriptor {
    return this.gadget.state.descriptor;
  }

  get configurationValue(): number | null {
    return this.gadget.state.configurationValue;
  }

  /** The open pipe of endpoint `address`, if any. */
  pipeAt(address: number): ModelPipe | undefined {
    return this.#pipes.get(address);
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    await this.#settle();
    this.gadget.state.selectConfiguration(configurationValue);
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    await this.#settle();
    this.#claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    await this.#settle();
    this.#claimed.delete(interfaceNumber);
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    await this.#settle();
    this.gadget.state.selectAlternate(interfaceNumber, alternateSetting);
  }

  /** GET_DESCRIPTOR(STRING) through the model, as a real backend asks the device. */
  async getString(index: number): Promise<string> {
    await this.#settle();
    const setup: ControlSetup = {
      requestType: 'standard',
      recipient: 'device',
      request: GET_DESCRIPTOR,
      value: (STRING_DESCRIPTOR << 8) | index,
      index: LANGUAGE_US_ENGLISH,
    };
    const answer = this.gadget.state.control('in', setup, new Uint8Array(0), 255);
    if (answer.status === 'stall') throw errorForStatus('stall', `string descriptor ${index}: the device stalled`);
    return Buffer.from(answer.data.subarray(2, answer.data[0])).toString('utf16le');
  }

  control(direction: Direction, setup: ControlSetup, data: Uint8Array | number, timeout: number): Promise<ControlCompletion> {
    const wLength = typeof data === 'number' ? data : data.byteLength;
    const inRange = Number.isInteger(wLength) && wLength >= 0 && wLength <= WLENGTH_MAX;
    const refusal = inRange ? null : `control transfer with wLength ${wLength}: wLength is 0 to ${WLENGTH_MAX}`;
    if (refusal !== null) this.violations.record(`${this.gadget.id}: ${refusal}`);
    return new Promise((resolve) => {
      this.gadget.defer(() => {
        const empty = new Uint8Array(0);
        if (refusal !== null) return resolve({ status: 'error', data: empty, bytes: 0, message: refusal });
        if (!this.gadget.connected) return resolve({ status: 'disconnected', data: empty, bytes: 0 });
        if (this.#closed) return resolve({ status: 'aborted', data: empty, bytes: 0 });
        const payload = typeof data === 'number' ? empty : data;
        const answer = this.gadget.state.control(direction, setup, payload, wLength);
        if (answer.status === 'stall') return resolve({ status: 'stall', data: empty, bytes: 0 });
        const bytes = direction === 'in' ? answer.data.length : payload.length;
        resolve({ status: 'ok', data: answer.data, bytes });
      });
      void timeout; // the model answers every request at once
    });
  }

  async openPipe(direction: Direction, endpointNumber: number): Promise<BackendPipe> {
    await this.#settle();
    const isThis = (e: EndpointDescriptor) => e.direction === direction && e.endpointNumber === endpointNumber;
    const alternate = this.#currentAlternates().find((a) => a.endpoints.some(isThis));
    const endpoint = alternate?.endpoints.find(isThis);
    if (!alternate || !endpoint) {
      throw new RangeError(`the model device has no ${direction.toUpperCase()} endpoint ${endpointNumber} in its current settings`);
    }
    // The dext's share for each pipe of the alternate setting, so that no pipe can take another's.
    const pipeCount = alternate.endpoints.filter((e) => e.type === 'bulk' || e.type === 'interrupt').length;
    const descriptorTransfersMax = Math.max(1, Math.floor(DESCRIPTOR_TRANSFERS / pipeCount));
    const pipe = new ModelPipe(this.gadget, this.violations, endpoint, descriptorTransfersMax, (closed) => {
      if (this.#pipes.get(closed.address) === closed) this.#pipes.delete(closed.address);
    });
    this.#pipes.set(pipe.address, pipe);
    return pipe;
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /**
   * The gadget went away. Outstanding transfers complete first, then the listeners run in the
   * same batch: with no pipe and nothing in flight, they run all the same.
   */
  unplugged(): void {
    for (const pipe of this.#pipes.values()) pipe.finishAll('disconnected');
    this.gadget.defer(() => {
      for (const listener of this.#disconnectListeners) listener();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#pipes.values()].map((pipe) => pipe.close()));
    if (this.gadget.holder === this) this.gadget.holder = null;
    this.onClosed();
  }

  /** The alternate settings in use, in WebUSB's shapes. */
  #currentAlternates() {
    const state = this.gadget.state;
    const configuration = state.descriptor.configurations.find((c) => c.configurationValue === state.configurationValue);
    return (configuration?.interfaces ?? []).flatMap((i) => i.alternates.filter((a) => a.alternateSetting === state.alternate(i.interfaceNumber)));
  }

  async #settle(): Promise<void> {
    await new Promise<void>((resolve) => this.gadget.defer(resolve));
    if (!this.gadget.connected) throw new DisconnectedError('the device is disconnected');
  }
}
