/**
 * A TypeScript model of Linux's gadget zero (f_sourcesink + f_loopback), device side only: what
 * the device does with each packet, control request and halt. The fake backend puts transfers on
 * top of it.
 *
 * Configuration 1 is SourceSink (pattern 1), configuration 2 is Loopback, as in the QEMU fixture.
 * Both have interface 0 with bulk IN 1 and bulk OUT 1.
 */
import type { ControlSetup, DeviceDescriptor } from '@dextio/core';
import { fillPattern, findPatternError, GADGET_ZERO_IDS, REQUEST_READ_BUFFER, REQUEST_WRITE_BUFFER } from '../../support/gadget-zero.js';

export const PACKET_SIZE = 512;
export const SOURCE_SINK_CONFIGURATION = 1;
export const LOOPBACK_CONFIGURATION = 2;
const CONTROL_BUFFER_MAX = 4096;

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

export function gadgetZeroDescriptor(serialNumber: string): DeviceDescriptor {
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

/** Device-side state: configuration, halts, the loopback's packets and the control buffer. */
export class GadgetZeroModel {
  configurationValue: number | null = SOURCE_SINK_CONFIGURATION;
  readonly halted = { in: false, out: false };
  /** Loopback packets waiting for the host's IN transfers; an empty packet is a ZLP. */
  readonly loopbackPackets: Uint8Array[] = [];
  #controlBuffer: Uint8Array = new Uint8Array(0);

  get isLoopback(): boolean {
    return this.configurationValue === LOOPBACK_CONFIGURATION;
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

  control(direction: 'in' | 'out', setup: ControlSetup, data: Uint8Array, length: number): ControlAnswer {
    const { requestType, recipient, request, value, index } = setup;
    if (requestType === 'vendor' && recipient === 'device') {
      if (direction === 'out' && request === REQUEST_WRITE_BUFFER && data.length <= CONTROL_BUFFER_MAX) {
        this.#controlBuffer = data.slice();
        return { status: 'ok', data: new Uint8Array(0) };
      }
      if (direction === 'in' && request === REQUEST_READ_BUFFER) {
        return { status: 'ok', data: this.#controlBuffer.slice(0, length) };
      }
      return { status: 'stall' };
    }
    if (requestType === 'standard' && recipient === 'endpoint') {
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
        return { status: 'ok', data: Uint8Array.of(this.halted[endpoint] ? 1 : 0, 0).subarray(0, length) };
      }
    }
    return { status: 'stall' };
  }

  #endpoint(address: number): EndpointKey | undefined {
    if (address === 0x81) return 'in';
    if (address === 0x01) return 'out';
    return undefined;
  }
}
