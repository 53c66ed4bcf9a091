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
  /** `'in'` (device to host) or `'out'`. */
  readonly direction: Direction;
  /** The transfer type from bmAttributes. */
  readonly type: EndpointType;
  /** wMaxPacketSize: the largest packet the endpoint moves. */
  readonly packetSize: number;
}

/** One alternate setting of an interface (WebUSB `USBAlternateInterface`). */
export interface AlternateDescriptor {
  /** bAlternateSetting; 0 is the setting an interface starts in. */
  readonly alternateSetting: number;
  /** bInterfaceClass (0xff: vendor specific). */
  readonly interfaceClass: number;
  /** bInterfaceSubClass. */
  readonly interfaceSubclass: number;
  /** bInterfaceProtocol. */
  readonly interfaceProtocol: number;
  /** The iInterface string, where the device has one and it could be read. */
  readonly interfaceName?: string;
  /** The endpoints of this setting, endpoint 0 excluded. */
  readonly endpoints: readonly EndpointDescriptor[];
}

/** One interface of a configuration (WebUSB `USBInterface`, without its live state). */
export interface InterfaceDescriptor {
  /** bInterfaceNumber: what {@link Device.claimInterface} takes. */
  readonly interfaceNumber: number;
  /** Every alternate setting of the interface, setting 0 included. */
  readonly alternates: readonly AlternateDescriptor[];
}

/** One configuration (WebUSB `USBConfiguration`). */
export interface ConfigurationDescriptor {
  /** bConfigurationValue: what {@link Device.selectConfiguration} takes. */
  readonly configurationValue: number;
  /** The iConfiguration string, where the device has one and it could be read. */
  readonly configurationName?: string;
  /** The interfaces of this configuration. */
  readonly interfaces: readonly InterfaceDescriptor[];
}

/** What is known of a device, before or after it is opened (WebUSB `USBDevice`'s fields). */
export interface DeviceDescriptor {
  /** The major part of bcdUSB (2 for USB 2.0). */
  readonly usbVersionMajor: number;
  /** The minor part of bcdUSB. */
  readonly usbVersionMinor: number;
  /** bDeviceClass (0: each interface says its own class). */
  readonly deviceClass: number;
  /** bDeviceSubClass. */
  readonly deviceSubclass: number;
  /** bDeviceProtocol. */
  readonly deviceProtocol: number;
  /** idVendor. */
  readonly vendorId: number;
  /** idProduct. */
  readonly productId: number;
  /** The major part of bcdDevice, the device's release number. */
  readonly deviceVersionMajor: number;
  /** The minor part of bcdDevice. */
  readonly deviceVersionMinor: number;
  /** The iManufacturer string, where the device has one and it could be read. */
  readonly manufacturerName?: string;
  /** The iProduct string, where the device has one and it could be read. */
  readonly productName?: string;
  /** The iSerialNumber string, where the device has one and it could be read. */
  readonly serialNumber?: string;
  /** Every configuration of the device. */
  readonly configurations: readonly ConfigurationDescriptor[];
}

/** Control setup in WebUSB's shape (`USBControlTransferParameters`). */
export interface ControlSetup {
  /** The type bits of bmRequestType; the direction bit comes from the call (`controlIn` / `controlOut`). */
  readonly requestType: 'standard' | 'class' | 'vendor';
  /** The recipient bits of bmRequestType. */
  readonly recipient: 'device' | 'interface' | 'endpoint' | 'other';
  /** bRequest, 0 to 255. */
  readonly request: number;
  /** wValue, 0 to 65535. */
  readonly value: number;
  /** wIndex, 0 to 65535. */
  readonly index: number;
}
