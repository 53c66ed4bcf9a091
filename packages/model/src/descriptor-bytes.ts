/**
 * The standard descriptors (USB 2.0 §9.6) of a device described in WebUSB's shapes: the bytes a
 * device answers GET_DESCRIPTOR with. String indices follow the order in which the descriptor
 * names its strings, from 1; equal strings share an index.
 */
import type { ConfigurationDescriptor, DeviceDescriptor, EndpointType } from '@dextio/core';

export const DEVICE_DESCRIPTOR = 0x01;
export const CONFIGURATION_DESCRIPTOR = 0x02;
export const STRING_DESCRIPTOR = 0x03;
const INTERFACE_DESCRIPTOR = 0x04;
const ENDPOINT_DESCRIPTOR = 0x05;
export const LANGUAGE_US_ENGLISH = 0x0409;
/** A high-speed device's endpoint 0 moves 64-byte packets. */
const CONTROL_PACKET_SIZE = 64;
/** Bus powered, 100 mA (in 2 mA units): what a configfs gadget reports unless told otherwise. */
const ATTRIBUTES_BUS_POWERED = 0x80;
const MAX_POWER = 50;
const endpointTypeBits: Record<EndpointType, number> = { control: 0, isochronous: 1, bulk: 2, interrupt: 3 };

export class DescriptorBytes {
  readonly #stringIndex = new Map<string, number>();

  constructor(
    private readonly device: DeviceDescriptor,
    /** bInterval of an endpoint, by address (the shapes carry none). */
    private readonly intervalOf: (address: number) => number = () => 1,
  ) {
    const { manufacturerName, productName, serialNumber, configurations } = device;
    const names = [manufacturerName, productName, serialNumber];
    for (const configuration of configurations) {
      names.push(configuration.configurationName);
      for (const iface of configuration.interfaces) names.push(...iface.alternates.map((a) => a.interfaceName));
    }
    for (const name of names) {
      if (name !== undefined && !this.#stringIndex.has(name)) this.#stringIndex.set(name, this.#stringIndex.size + 1);
    }
  }

  deviceDescriptor(): Uint8Array {
    const d = this.device;
    return Uint8Array.of(
      18,
      DEVICE_DESCRIPTOR,
      ...word(bcd(d.usbVersionMajor, d.usbVersionMinor)),
      d.deviceClass,
      d.deviceSubclass,
      d.deviceProtocol,
      CONTROL_PACKET_SIZE,
      ...word(d.vendorId),
      ...word(d.productId),
      ...word(bcd(d.deviceVersionMajor, d.deviceVersionMinor)),
      this.#index(d.manufacturerName),
      this.#index(d.productName),
      this.#index(d.serialNumber),
      d.configurations.length,
    );
  }

  /** The configuration at `index` (its position, not its value) with its interfaces and endpoints. */
  configuration(index: number): Uint8Array | undefined {
    const configuration = this.device.configurations[index];
    return configuration && this.#configuration(configuration);
  }

  /** String `index` in `languageId`; index 0 lists the languages (US English only). */
  string(index: number, languageId: number): Uint8Array | undefined {
    if (index === 0) return Uint8Array.of(4, STRING_DESCRIPTOR, ...word(LANGUAGE_US_ENGLISH));
    if (languageId !== LANGUAGE_US_ENGLISH) return undefined;
    const text = [...this.#stringIndex].find(([, i]) => i === index)?.[0];
    if (text === undefined) return undefined;
    const utf16 = Buffer.from(text, 'utf16le');
    return Uint8Array.of(2 + utf16.length, STRING_DESCRIPTOR, ...utf16);
  }

  #configuration(configuration: ConfigurationDescriptor): Uint8Array {
    const body: number[] = [];
    for (const iface of configuration.interfaces) {
      for (const alternate of iface.alternates) {
        body.push(9, INTERFACE_DESCRIPTOR, iface.interfaceNumber, alternate.alternateSetting, alternate.endpoints.length);
        body.push(alternate.interfaceClass, alternate.interfaceSubclass, alternate.interfaceProtocol, this.#index(alternate.interfaceName));
        for (const endpoint of alternate.endpoints) {
          const address = (endpoint.direction === 'in' ? 0x80 : 0) | endpoint.endpointNumber;
          const interval = endpoint.type === 'bulk' ? 0 : this.intervalOf(address);
          body.push(7, ENDPOINT_DESCRIPTOR, address, endpointTypeBits[endpoint.type], ...word(endpoint.packetSize), interval);
        }
      }
    }
    const header = [9, CONFIGURATION_DESCRIPTOR, ...word(9 + body.length), configuration.interfaces.length];
    header.push(configuration.configurationValue, this.#index(configuration.configurationName), ATTRIBUTES_BUS_POWERED, MAX_POWER);
    return Uint8Array.from([...header, ...body]);
  }

  #index(text: string | undefined): number {
    return text === undefined ? 0 : this.#stringIndex.get(text)!;
  }
}

/** A version as USB writes it: 2.0 is 0x0200. */
function bcd(major: number, minor: number): number {
  return (major << 8) | (minor << 4);
}

function word(value: number): [number, number] {
  return [value & 0xff, value >> 8];
}
