/**
 * The device's own descriptors, as the dext reads them (`CopyDeviceDescriptor`,
 * `CopyConfigurationDescriptor`), parsed into WebUSB's shapes.
 *
 * The bytes come from a device and are not trusted, and nothing here throws on them: a descriptor
 * whose bLength is below 2 or that runs past wTotalLength (or the bytes read) ends the walk, a
 * too-short interface or endpoint descriptor is passed over, and so are descriptors other than
 * interfaces and endpoints (class-specific ones, interface associations, SuperSpeed companions).
 * A device or configuration descriptor that is not one at all parses as `undefined`: the caller
 * turns that into a `UsbError`.
 *
 * @internal
 * @module
 */
import type { DeviceInfo, ServiceInfo } from '@dextio/native';
import type { AlternateDescriptor, ConfigurationDescriptor, DeviceDescriptor, EndpointDescriptor, InterfaceDescriptor } from '../../descriptors.js';
import { deviceOf, type DeviceStrings, endpointOf } from '../descriptor-fields.js';

export type { DeviceStrings };

const DEVICE = 1;
const CONFIGURATION = 2;
const INTERFACE = 4;
const ENDPOINT = 5;


/** One descriptor in a configuration: its type and its bytes (bLength of them). */
interface Entry {
  readonly type: number;
  readonly bytes: Uint8Array;
}

/**
 * The descriptors of a configuration after its own header, each whole, in order. A bLength below 2
 * cannot be stepped over, and one that runs past the end leaves nothing after it: either ends the
 * walk.
 */
function* entries(configuration: Uint8Array, total: number): Generator<Entry> {
  let offset = configuration[0]!;
  while (offset + 2 <= total) {
    const length = configuration[offset]!;
    if (length < 2 || offset + length > total) return;
    yield { type: configuration[offset + 1]!, bytes: configuration.subarray(offset, offset + length) };
    offset += length;
  }
}

function endpoint(bytes: Uint8Array): EndpointDescriptor | undefined {
  if (bytes.length < 7) return undefined;
  if ((bytes[2]! & 0x0f) === 0) return undefined;
  return endpointOf(bytes[2]!, bytes[3]!, bytes[4]! | (bytes[5]! << 8));
}

/** An alternate setting while its endpoints are being read. */
interface Alternate extends AlternateDescriptor {
  readonly endpoints: EndpointDescriptor[];
}

/**
 * Configuration descriptor bytes (whole, as `wTotalLength` says) in WebUSB's shape: interfaces
 * grouped by bInterfaceNumber, each with every alternate setting, in order of number. `undefined`
 * when the bytes do not start with a configuration descriptor.
 */
export function parseConfiguration(bytes: Uint8Array): ConfigurationDescriptor | undefined {
  if (bytes.length < 9 || bytes[0]! < 9 || bytes[1] !== CONFIGURATION) return undefined;
  const total = Math.min(bytes.length, bytes[2]! | (bytes[3]! << 8));
  const interfaces = new Map<number, Alternate[]>();
  let current: Alternate | undefined;
  for (const { type, bytes: entry } of entries(bytes, total)) {
    if (type === INTERFACE) {
      // A too-short interface descriptor is passed over, and so are the endpoints that follow it:
      // they are not the previous interface's.
      current = undefined;
      if (entry.length < 9) continue;
      current = { alternateSetting: entry[3]!, interfaceClass: entry[5]!, interfaceSubclass: entry[6]!, interfaceProtocol: entry[7]!, endpoints: [] };
      const alternates = interfaces.get(entry[2]!) ?? [];
      alternates.push(current);
      interfaces.set(entry[2]!, alternates);
    } else if (type === ENDPOINT && current) {
      const parsed = endpoint(entry);
      if (parsed) current.endpoints.push(parsed);
    }
  }
  const list: InterfaceDescriptor[] = [...interfaces].map(([interfaceNumber, alternates]) => ({
    interfaceNumber,
    alternates: alternates.sort((a, b) => a.alternateSetting - b.alternateSetting),
  }));
  return { configurationValue: bytes[5]!, interfaces: list.sort((a, b) => a.interfaceNumber - b.interfaceNumber) };
}

/**
 * Device descriptor bytes and the device's configurations in WebUSB's shape. `undefined` when the
 * bytes are not a device descriptor (fewer than 18, or another type).
 */
export function parseDevice(
  bytes: Uint8Array,
  configurations: readonly ConfigurationDescriptor[],
  strings: DeviceStrings = {},
): DeviceDescriptor | undefined {
  if (bytes.length < 18 || bytes[0]! < 18 || bytes[1] !== DEVICE) return undefined;
  const word = (offset: number) => bytes[offset]! | (bytes[offset + 1]! << 8);
  const fields = {
    bcdUSB: word(2),
    bDeviceClass: bytes[4]!,
    bDeviceSubClass: bytes[5]!,
    bDeviceProtocol: bytes[6]!,
    idVendor: word(8),
    idProduct: word(10),
    bcdDevice: word(12),
  };
  return deviceOf(fields, configurations, strings);
}

/** The strings that are there, without a field for each one that is not (`undefined`). */
export function deviceStrings(strings: { readonly [K in keyof DeviceStrings]-?: string | undefined }): DeviceStrings {
  return Object.fromEntries(Object.entries(strings).filter(([, text]) => text !== undefined)) as DeviceStrings;
}

/** The strings the IORegistry shows for a service, in the descriptor's fields. */
export function registryStrings(service: ServiceInfo | undefined): DeviceStrings {
  return deviceStrings({
    manufacturerName: service?.manufacturerName,
    productName: service?.productName,
    serialNumber: service?.serialNumber,
  });
}

/** What the registry shows of a device nobody opened: ids and strings, no configurations. */
export function registryDescriptor(service: ServiceInfo): DeviceDescriptor {
  const fields = {
    bcdUSB: 0,
    bDeviceClass: 0,
    bDeviceSubClass: 0,
    bDeviceProtocol: 0,
    idVendor: service.vendorId,
    idProduct: service.productId,
    bcdDevice: service.deviceRelease,
  };
  return deviceOf(fields, [], registryStrings(service));
}

/** The backend's name for the device the dext drives. */
export function deviceId(info: Pick<DeviceInfo, 'vendorId' | 'productId' | 'interfaceNumber'>): string {
  const hex = (n: number) => n.toString(16).padStart(4, '0');
  return `dext:${hex(info.vendorId)}:${hex(info.productId)}:${info.interfaceNumber}`;
}
