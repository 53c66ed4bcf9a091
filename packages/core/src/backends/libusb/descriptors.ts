/**
 * `usb`'s descriptor objects in WebUSB's shapes.
 *
 * @internal
 * @module
 */
import type { ConfigDescriptor, Device as UsbDevice, EndpointDescriptor as UsbEndpointDescriptor } from 'usb';
import type { AlternateDescriptor, ConfigurationDescriptor, DeviceDescriptor, EndpointDescriptor, InterfaceDescriptor } from '../../descriptors.js';
import { deviceOf, type DeviceStrings, endpointOf } from '../descriptor-fields.js';

export type { DeviceStrings };

function endpoint(descriptor: UsbEndpointDescriptor): EndpointDescriptor {
  return endpointOf(descriptor.bEndpointAddress, descriptor.bmAttributes, descriptor.wMaxPacketSize);
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

export function deviceDescriptor(device: UsbDevice, strings: DeviceStrings = {}): DeviceDescriptor {
  let configurations: ConfigurationDescriptor[] = [];
  try {
    configurations = device.allConfigDescriptors.map(configuration);
  } catch {
    // A device that went away while being listed has no descriptors left to read.
  }
  return deviceOf(device.deviceDescriptor, configurations, strings);
}

/** A name for the device that holds while it stays attached. */
export function deviceId(device: UsbDevice): string {
  return `${device.busNumber}-${device.portNumbers?.join('.') ?? ''}-${device.deviceAddress}`;
}
