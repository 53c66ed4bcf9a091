/**
 * `usb`'s descriptor objects in WebUSB's shapes.
 *
 * @internal
 * @module
 */
import type { ConfigDescriptor, Device as UsbDevice, EndpointDescriptor as UsbEndpointDescriptor } from 'usb';
import type {
  AlternateDescriptor,
  ConfigurationDescriptor,
  DeviceDescriptor,
  EndpointDescriptor,
  EndpointType,
  InterfaceDescriptor,
} from '../../descriptors.js';

const endpointTypes: readonly EndpointType[] = ['control', 'isochronous', 'bulk', 'interrupt'];

function endpoint(descriptor: UsbEndpointDescriptor): EndpointDescriptor {
  return {
    endpointNumber: descriptor.bEndpointAddress & 0x0f,
    direction: descriptor.bEndpointAddress & 0x80 ? 'in' : 'out',
    type: endpointTypes[descriptor.bmAttributes & 0x03]!,
    packetSize: descriptor.wMaxPacketSize & 0x7ff,
  };
}

function configuration(config: ConfigDescriptor): ConfigurationDescriptor {
  const interfaces: InterfaceDescriptor[] = config.interfaces.map((alternates) => ({
    interfaceNumber: alternates[0]!.bInterfaceNumber,
    alternates: alternates.map(
      (alt): AlternateDescriptor => ({
        alternateSetting: alt.bAlternateSetting,
        interfaceClass: alt.bInterfaceClass,
        interfaceSubclass: alt.bInterfaceSubClass,
        interfaceProtocol: alt.bInterfaceProtocol,
        endpoints: alt.endpoints.map(endpoint),
      }),
    ),
  }));
  return { configurationValue: config.bConfigurationValue, interfaces };
}

export interface DeviceStrings {
  readonly manufacturerName?: string;
  readonly productName?: string;
  readonly serialNumber?: string;
}

export function deviceDescriptor(device: UsbDevice, strings: DeviceStrings = {}): DeviceDescriptor {
  const d = device.deviceDescriptor;
  let configurations: ConfigurationDescriptor[] = [];
  try {
    configurations = device.allConfigDescriptors.map(configuration);
  } catch {
    // A device that went away while being listed has no descriptors left to read.
  }
  return {
    usbVersionMajor: d.bcdUSB >> 8,
    usbVersionMinor: (d.bcdUSB >> 4) & 0x0f,
    deviceClass: d.bDeviceClass,
    deviceSubclass: d.bDeviceSubClass,
    deviceProtocol: d.bDeviceProtocol,
    vendorId: d.idVendor,
    productId: d.idProduct,
    deviceVersionMajor: d.bcdDevice >> 8,
    deviceVersionMinor: (d.bcdDevice >> 4) & 0x0f,
    ...strings,
    configurations,
  };
}

/** A name for the device that holds while it stays attached. */
export function deviceId(device: UsbDevice): string {
  return `${device.busNumber}-${device.portNumbers?.join('.') ?? ''}-${device.deviceAddress}`;
}
