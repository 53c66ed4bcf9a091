/**
 * The fields of the standard USB descriptors (USB 2.0 §9.6) in WebUSB's shapes: one mapping for
 * every backend, whether its fields come from `usb`'s objects or from the bytes the dext reads.
 *
 * @internal
 * @module
 */
import type { ConfigurationDescriptor, DeviceDescriptor, EndpointDescriptor, EndpointType } from '../descriptors.js';

/** The strings a device descriptor names, read separately. */
export type DeviceStrings = Pick<DeviceDescriptor, 'manufacturerName' | 'productName' | 'serialNumber'>;

/** A device descriptor's fields, by their USB names. */
export interface DeviceFields {
  readonly bcdUSB: number;
  readonly bDeviceClass: number;
  readonly bDeviceSubClass: number;
  readonly bDeviceProtocol: number;
  readonly idVendor: number;
  readonly idProduct: number;
  readonly bcdDevice: number;
}

const endpointTypes: readonly EndpointType[] = ['control', 'isochronous', 'bulk', 'interrupt'];

/** A device in WebUSB's shape. BCD versions split as WebUSB does: the high byte, then the high nibble of the low one. */
export function deviceOf(
  fields: DeviceFields,
  configurations: readonly ConfigurationDescriptor[],
  strings: DeviceStrings = {},
): DeviceDescriptor {
  return {
    usbVersionMajor: fields.bcdUSB >> 8,
    usbVersionMinor: (fields.bcdUSB >> 4) & 0x0f,
    deviceClass: fields.bDeviceClass,
    deviceSubclass: fields.bDeviceSubClass,
    deviceProtocol: fields.bDeviceProtocol,
    vendorId: fields.idVendor,
    productId: fields.idProduct,
    deviceVersionMajor: fields.bcdDevice >> 8,
    deviceVersionMinor: (fields.bcdDevice >> 4) & 0x0f,
    ...strings,
    configurations,
  };
}

/** An endpoint in WebUSB's shape; wMaxPacketSize without its high-bandwidth bits. */
export function endpointOf(bEndpointAddress: number, bmAttributes: number, wMaxPacketSize: number): EndpointDescriptor {
  return {
    endpointNumber: bEndpointAddress & 0x0f,
    direction: bEndpointAddress & 0x80 ? 'in' : 'out',
    type: endpointTypes[bmAttributes & 0x03]!,
    packetSize: wMaxPacketSize & 0x7ff,
  };
}
