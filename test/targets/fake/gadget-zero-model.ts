/**
 * A TypeScript model of Linux's gadget zero (f_sourcesink + f_loopback behind the composite layer),
 * device side only: what the device does with each packet, control request and halt. The fake
 * backend puts transfers on top of it.
 *
 * Configuration 1 is SourceSink (pattern 1), configuration 2 is Loopback, as in the QEMU fixture.
 * Both have interface 0 with bulk IN 1 and bulk OUT 1.
 */
import type { AlternateDescriptor, ControlSetup, DeviceDescriptor } from '@dextio/core';
import { fillPattern, findPatternError, GADGET_ZERO_IDS, REQUEST_READ_BUFFER, REQUEST_WRITE_BUFFER } from '../../support/gadget-zero.js';
import { CONFIGURATION_DESCRIPTOR, DescriptorBytes, DEVICE_DESCRIPTOR, STRING_DESCRIPTOR } from './descriptor-bytes.js';

export const PACKET_SIZE = 512;
export const SOURCE_SINK_CONFIGURATION = 1;
export const LOOPBACK_CONFIGURATION = 2;
/** USB_COMP_EP0_BUFSIZ: the composite layer's one buffer for every control request's data stage. */
const EP0_BUFFER_SIZE = 4096;
const GET_DESCRIPTOR = 0x06;

const bulkInterface = (name: string) => ({
  interfaceNumber: 0,
  alternates: [
    {
      alternateSetting: 0,
      interfaceClass: 0xff,
      interfaceSubclass: 0,
      interfaceProtocol: 0,
      interfaceName: name,
      endpoints: [
        { endpointNumber: 1, direction: 'in' as const, type: 'bulk' as const, packetSize: PACKET_SIZE },
        { endpointNumber: 1, direction: 'out' as const, type: 'bulk' as const, packetSize: PACKET_SIZE },
      ],
    },
  ],
});

function gadgetZeroDescriptor(serialNumber: string): DeviceDescriptor {
  return {
    usbVersionMajor: 2,
    usbVersionMinor: 0,
    deviceClass: 0xff,
    deviceSubclass: 0,
    deviceProtocol: 0,
    ...GADGET_ZERO_IDS,
    deviceVersionMajor: 1,
    deviceVersionMinor: 0,
    manufacturerName: 'dextio',
    productName: 'Gadget Zero (fake)',
    serialNumber,
    configurations: [
      { configurationValue: SOURCE_SINK_CONFIGURATION, configurationName: 'source/sink', interfaces: [bulkInterface('source/sink')] },
      { configurationValue: LOOPBACK_CONFIGURATION, configurationName: 'loopback', interfaces: [bulkInterface('loopback')] },
    ],
  };
}

export type EndpointKey = 'in' | 'out';

/** What the device answers to one control request. */
export type ControlAnswer = { status: 'ok'; data: Uint8Array } | { status: 'stall' };

/** Device-side state: configuration, halts, the loopback's packets and endpoint 0's buffer. */
export class GadgetZeroModel {
  readonly descriptor: DeviceDescriptor;
  configurationValue: number | null = SOURCE_SINK_CONFIGURATION;
  readonly halted = { in: false, out: false };
  /** Loopback packets waiting for the host's IN transfers; an empty packet is a ZLP. */
  readonly loopbackPackets: Uint8Array[] = [];
  readonly #descriptorBytes: DescriptorBytes;
  /**
   * The composite layer answers every request through this one buffer and f_sourcesink keeps
   * 0x5b's data in it, so any request that answers in between overwrites what 0x5c reads back.
   */
  readonly #ep0 = new Uint8Array(EP0_BUFFER_SIZE);

  constructor(serialNumber: string) {
    this.descriptor = gadgetZeroDescriptor(serialNumber);
    this.#descriptorBytes = new DescriptorBytes(this.descriptor);
  }

  get isLoopback(): boolean {
    return this.configurationValue === LOOPBACK_CONFIGURATION;
  }

  /** The alternate settings in use: setting 0 of each interface of the active configuration (gadget zero has no others). */
  currentAlternates(): AlternateDescriptor[] {
    const configuration = this.descriptor.configurations.find((c) => c.configurationValue === this.configurationValue);
    return configuration?.interfaces.map((iface) => iface.alternates[0]!) ?? [];
  }

  /** SourceSink IN: the data for a transfer of `length` bytes, packet by packet. */
  source(length: number): Uint8Array {
    return fillPattern(new Uint8Array(length), PACKET_SIZE);
  }

  /** SourceSink OUT: wrong data halts the endpoint, as f_sourcesink does. */
  sink(data: Uint8Array): void {
    for (let offset = 0; offset < data.length; offset += PACKET_SIZE) {
      if (findPatternError(data.subarray(offset, offset + PACKET_SIZE), PACKET_SIZE) >= 0) {
        this.halted.out = true;
        return;
      }
    }
  }

  /** Loopback OUT: the packets, with a ZLP where the host asked for one. */
  loop(data: Uint8Array, zlp: boolean): void {
    for (let offset = 0; offset < data.length; offset += PACKET_SIZE) {
      this.loopbackPackets.push(data.slice(offset, offset + PACKET_SIZE));
    }
    if (data.length === 0 || (zlp && data.length % PACKET_SIZE === 0)) this.loopbackPackets.push(new Uint8Array(0));
  }

  /** One control request: `data` is the OUT data stage, `length` the IN request's wLength. */
  control(direction: 'in' | 'out', setup: ControlSetup, data: Uint8Array, length: number): ControlAnswer {
    // composite_setup: an IN request gets at most the buffer (wLength is cut down), a longer OUT
    // data stage is refused.
    if (direction === 'out' && data.length > EP0_BUFFER_SIZE) return { status: 'stall' };
    const wLength = Math.min(length, EP0_BUFFER_SIZE);
    const { requestType, recipient } = setup;
    if (requestType === 'vendor' && recipient === 'device') return this.#vendor(direction, setup, data, wLength);
    if (requestType === 'standard' && recipient === 'device' && direction === 'in' && setup.request === GET_DESCRIPTOR) {
      const bytes = this.#descriptor(setup.value >> 8, setup.value & 0xff, setup.index);
      if (!bytes) return { status: 'stall' };
      const answer = bytes.subarray(0, wLength);
      this.#ep0.set(answer);
      return { status: 'ok', data: answer.slice() };
    }
    if (requestType === 'standard' && recipient === 'endpoint') return this.#endpointRequest(direction, setup, wLength);
    return { status: 'stall' };
  }

  /**
   * 0x5b and 0x5c as f_sourcesink answers them. The composite layer hands a device request to the
   * configuration's only function, and f_loopback has no handler: Loopback stalls them.
   */
  #vendor(direction: 'in' | 'out', setup: ControlSetup, data: Uint8Array, wLength: number): ControlAnswer {
    if (this.configurationValue !== SOURCE_SINK_CONFIGURATION || setup.value !== 0 || setup.index !== 0) return { status: 'stall' };
    if (direction === 'out' && setup.request === REQUEST_WRITE_BUFFER) {
      this.#ep0.set(data);
      return { status: 'ok', data: new Uint8Array(0) };
    }
    if (direction === 'in' && setup.request === REQUEST_READ_BUFFER) {
      return { status: 'ok', data: this.#ep0.slice(0, wLength) };
    }
    return { status: 'stall' };
  }

  #descriptor(type: number, index: number, languageId: number): Uint8Array | undefined {
    if (type === DEVICE_DESCRIPTOR) return this.#descriptorBytes.deviceDescriptor();
    if (type === CONFIGURATION_DESCRIPTOR) return this.#descriptorBytes.configuration(index);
    if (type === STRING_DESCRIPTOR) return this.#descriptorBytes.string(index, languageId);
    return undefined;
  }

  /** Halt requests, which dummy_hcd answers itself, without the gadget's buffer. */
  #endpointRequest(direction: 'in' | 'out', setup: ControlSetup, wLength: number): ControlAnswer {
    const { request, value, index } = setup;
    const endpoint = this.#endpoint(index);
    if (!endpoint) return { status: 'stall' };
    const SET_FEATURE = 0x03;
    const CLEAR_FEATURE = 0x01;
    const GET_STATUS = 0x00;
    const ENDPOINT_HALT = 0;
    if (direction === 'out' && (request === SET_FEATURE || request === CLEAR_FEATURE) && value === ENDPOINT_HALT) {
      this.halted[endpoint] = request === SET_FEATURE;
      return { status: 'ok', data: new Uint8Array(0) };
    }
    if (direction === 'in' && request === GET_STATUS) {
      return { status: 'ok', data: Uint8Array.of(this.halted[endpoint] ? 1 : 0, 0).subarray(0, wLength) };
    }
    return { status: 'stall' };
  }

  #endpoint(address: number): EndpointKey | undefined {
    if (address === 0x81) return 'in';
    if (address === 0x01) return 'out';
    return undefined;
  }
}
