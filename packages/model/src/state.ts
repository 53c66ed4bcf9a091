/**
 * The device side of a running model: the configuration and alternate settings the host chose,
 * halts, the packets each IN endpoint has to send, faults waiting to happen, and the standard
 * requests a device answers itself (descriptors, endpoint halts). Everything else goes to the
 * declaration's handlers.
 *
 * @internal
 * @module
 */
import type { ControlSetup, DeviceDescriptor } from '@dextio/core';
import type { ControlReply, ControlRequest, DeviceContext, DeviceDeclaration, EndpointDeclaration } from './declaration.js';
import { CONFIGURATION_DESCRIPTOR, DescriptorBytes, DEVICE_DESCRIPTOR, STRING_DESCRIPTOR } from './descriptor-bytes.js';
import { toDeviceDescriptor } from './descriptor.js';

/** A fault the next transfer on an endpoint meets. */
export type Fault = 'stall' | 'babble' | 'timeout' | 'short';

/** What the device answers to one control request. */
export type ControlAnswer = { status: 'ok'; data: Uint8Array } | { status: 'stall' };

const GET_STATUS = 0x00;
const CLEAR_FEATURE = 0x01;
const SET_FEATURE = 0x03;
const GET_DESCRIPTOR = 0x06;
const ENDPOINT_HALT = 0;

export class DeviceState implements DeviceContext<unknown> {
  readonly descriptor: DeviceDescriptor;
  readonly #bytes: DescriptorBytes;
  configurationValue: number | null;
  readonly #alternates = new Map<number, number>();
  readonly #halted = new Set<number>();
  /** Packets waiting on each IN endpoint; an empty one is a zero-length packet. */
  readonly #packets = new Map<number, Uint8Array[]>();
  readonly #faults = new Map<number, Fault[]>();
  /** Told when an IN endpoint has something new to send. */
  onSend: (address: number) => void = () => undefined;

  readonly data: unknown;

  constructor(
    readonly declaration: DeviceDeclaration<unknown>,
    serialNumber: string | undefined,
  ) {
    this.data = declaration.data?.();
    this.descriptor = toDeviceDescriptor(declaration, serialNumber);
    this.#bytes = new DescriptorBytes(this.descriptor, (address) => this.endpoint(address, true)?.interval ?? 1);
    // As an operating system does on enumeration: the first configuration is selected.
    this.configurationValue = declaration.configurations[0]!.value;
  }

  get configuration(): number | null {
    return this.configurationValue;
  }

  alternate(interfaceNumber: number): number {
    return this.#alternates.get(interfaceNumber) ?? 0;
  }

  selectConfiguration(value: number): void {
    this.configurationValue = value;
    this.#alternates.clear();
    this.#reset();
  }

  selectAlternate(interfaceNumber: number, setting: number): void {
    this.#alternates.set(interfaceNumber, setting);
    this.#reset();
  }

  /** The endpoints of the alternate settings in use. */
  endpoints(): EndpointDeclaration<unknown>[] {
    const configuration = this.declaration.configurations.find((c) => c.value === this.configurationValue);
    return (configuration?.interfaces ?? []).flatMap(
      (i) => i.alternates.find((a) => a.setting === this.alternate(i.number))?.endpoints ?? [],
    );
  }

  /** Endpoint `address` as the current settings have it, or (with `anywhere`) as any setting does. */
  endpoint(address: number, anywhere = false): EndpointDeclaration<unknown> | undefined {
    const all = anywhere
      ? this.declaration.configurations.flatMap((c) => c.interfaces.flatMap((i) => i.alternates.flatMap((a) => a.endpoints)))
      : this.endpoints();
    return all.find((e) => e.address === address);
  }

  send(address: number, data: Uint8Array): void {
    this.#enqueue(address, data);
    this.onSend(address);
  }

  stall(address: number): void {
    this.#halted.add(address);
  }

  halted(address: number): boolean {
    return this.#halted.has(address);
  }

  clearHalt(address: number): void {
    this.#halted.delete(address);
  }

  inject(address: number, fault: Fault): void {
    const faults = this.#faults.get(address) ?? [];
    faults.push(fault);
    this.#faults.set(address, faults);
  }

  takeFault(address: number): Fault | undefined {
    return this.#faults.get(address)?.shift();
  }

  /** The packets an IN endpoint has to send, asking its producer when there are none. */
  packets(address: number, length: number): Uint8Array[] {
    const packets = this.#packetsOf(address);
    if (packets.length === 0) {
      const produced = this.endpoint(address)?.in?.(length, this);
      // Queued without onSend: the caller is about to take them.
      if (produced !== undefined) this.#enqueue(address, produced);
    }
    return packets;
  }

  /** An OUT transfer's data, for the endpoint's handler; false when the handler stalled. */
  receive(address: number, data: Uint8Array): boolean {
    const handled = this.endpoint(address)?.out?.(data, this);
    if (handled === 'stall') this.stall(address);
    return handled !== 'stall';
  }

  /** One control request: `data` is the OUT data stage, `length` wLength. */
  control(direction: 'in' | 'out', setup: ControlSetup, data: Uint8Array, length: number): ControlAnswer {
    const request: ControlRequest = { direction, ...setup, length, data };
    const reply = this.declaration.control?.(request, this) ?? this.standard(request);
    if (reply === 'stall') return { status: 'stall' };
    if (reply === 'ok') return { status: 'ok', data: new Uint8Array(0) };
    return { status: 'ok', data: direction === 'in' ? reply.slice(0, length) : new Uint8Array(0) };
  }

  standard(request: ControlRequest): ControlReply {
    const { direction, requestType, recipient, value, index, length } = request;
    if (requestType !== 'standard') return 'stall';
    if (recipient === 'device' && direction === 'in' && request.request === GET_DESCRIPTOR) {
      return this.#descriptor(value >> 8, value & 0xff, index)?.slice(0, length) ?? 'stall';
    }
    if (recipient === 'endpoint') {
      const answer = this.#endpointRequest(direction, request, length);
      return answer.status === 'stall' ? 'stall' : direction === 'in' ? answer.data : 'ok';
    }
    return 'stall';
  }

  #endpointRequest(direction: 'in' | 'out', setup: ControlSetup, length: number): ControlAnswer {
    const { request, value, index } = setup;
    if (!this.endpoint(index)) return { status: 'stall' };
    if (direction === 'out' && (request === SET_FEATURE || request === CLEAR_FEATURE) && value === ENDPOINT_HALT) {
      if (request === SET_FEATURE) this.stall(index);
      else this.clearHalt(index);
      return { status: 'ok', data: new Uint8Array(0) };
    }
    if (direction === 'in' && request === GET_STATUS) {
      return { status: 'ok', data: Uint8Array.of(this.halted(index) ? 1 : 0, 0).subarray(0, length) };
    }
    return { status: 'stall' };
  }

  #descriptor(type: number, index: number, languageId: number): Uint8Array | undefined {
    if (type === DEVICE_DESCRIPTOR) return this.#bytes.deviceDescriptor();
    if (type === CONFIGURATION_DESCRIPTOR) return this.#bytes.configuration(index);
    if (type === STRING_DESCRIPTOR) return this.#bytes.string(index, languageId);
    return undefined;
  }

  /** Splits `data` into the endpoint's packets, queued to send; an empty one is a zero-length packet. */
  #enqueue(address: number, data: Uint8Array): void {
    const endpoint = this.endpoint(address);
    if (!endpoint || !(address & 0x80)) throw new RangeError(`send: 0x${address.toString(16)} is not an IN endpoint of the current settings`);
    const packets = this.#packetsOf(address);
    if (data.length === 0) packets.push(new Uint8Array(0));
    for (let offset = 0; offset < data.length; offset += endpoint.packetSize) {
      packets.push(data.slice(offset, offset + endpoint.packetSize));
    }
  }

  #packetsOf(address: number): Uint8Array[] {
    let packets = this.#packets.get(address);
    if (!packets) this.#packets.set(address, (packets = []));
    return packets;
  }

  /** A new configuration or setting: halts and queued data go. */
  #reset(): void {
    this.#halted.clear();
    this.#packets.clear();
  }
}
