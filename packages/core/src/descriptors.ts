/**
 * Device descriptors in WebUSB's shapes, as plain read-only data.
 *
 * WebUSB's live `USBInterface.claimed` and `USBInterface.alternate` are state of an open device;
 * here they are on {@link Device} instead, so these objects can be shared and compared freely.
 *
 * @module
 */

/** Transfer direction, seen from the host. */
export type Direction = 'in' | 'out';

/** The four USB transfer types; dextio's pipes carry `'bulk'` and `'interrupt'`. */
export type EndpointType = 'bulk' | 'interrupt' | 'isochronous' | 'control';

/** One endpoint of an alternate setting (WebUSB `USBEndpoint`). */
export interface EndpointDescriptor {
  /** The endpoint number, 1 to 15 (the address without its direction bit). */
  readonly endpointNumber: number;
  readonly direction: Direction;
  readonly type: EndpointType;
  /** wMaxPacketSize: the largest packet the endpoint moves. */
  readonly packetSize: number;
}

/** One alternate setting of an interface (WebUSB `USBAlternateInterface`). */
export interface AlternateDescriptor {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string;
  readonly endpoints: readonly EndpointDescriptor[];
}

/** One interface of a configuration (WebUSB `USBInterface`, without its live state). */
export interface InterfaceDescriptor {
  readonly interfaceNumber: number;
  readonly alternates: readonly AlternateDescriptor[];
}

/** One configuration (WebUSB `USBConfiguration`). */
export interface ConfigurationDescriptor {
  readonly configurationValue: number;
  readonly configurationName?: string;
  readonly interfaces: readonly InterfaceDescriptor[];
}

/** What is known of a device, before or after it is opened (WebUSB `USBDevice`'s fields). */
export interface DeviceDescriptor {
  readonly usbVersionMajor: number;
  readonly usbVersionMinor: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly manufacturerName?: string;
  readonly productName?: string;
  readonly serialNumber?: string;
  readonly configurations: readonly ConfigurationDescriptor[];
}

/** Control setup in WebUSB's shape (`USBControlTransferParameters`). */
export interface ControlSetup {
  readonly requestType: 'standard' | 'class' | 'vendor';
  readonly recipient: 'device' | 'interface' | 'endpoint' | 'other';
  /** bRequest, 0 to 255. */
  readonly request: number;
  /** wValue, 0 to 65535. */
  readonly value: number;
  /** wIndex, 0 to 65535. */
  readonly index: number;
}
