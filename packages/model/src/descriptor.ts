/**
 * A declaration in WebUSB's shapes, as `@dextio/core` describes a device.
 *
 * @internal
 * @module
 */
import type { DeviceDescriptor } from '@dextio/core';
import type { DeviceDeclaration } from './declaration.js';

export function toDeviceDescriptor(d: DeviceDeclaration<unknown>, serialNumber = d.serialNumber): DeviceDescriptor {
  const version = d.deviceVersion ?? 0x0100;
  const names = {
    ...(d.manufacturer === undefined ? {} : { manufacturerName: d.manufacturer }),
    ...(d.product === undefined ? {} : { productName: d.product }),
    ...(serialNumber === undefined ? {} : { serialNumber }),
  };
  return {
    usbVersionMajor: 2,
    usbVersionMinor: 0,
    deviceClass: d.class ?? 0,
    deviceSubclass: d.subclass ?? 0,
    deviceProtocol: d.protocol ?? 0,
    vendorId: d.vendorId,
    productId: d.productId,
    deviceVersionMajor: version >> 8,
    deviceVersionMinor: (version >> 4) & 0x0f,
    ...names,
    configurations: d.configurations.map((c) => ({
      configurationValue: c.value,
      ...(c.name === undefined ? {} : { configurationName: c.name }),
      interfaces: c.interfaces.map((i) => ({
        interfaceNumber: i.number,
        alternates: i.alternates.map((a) => ({
          alternateSetting: a.setting,
          interfaceClass: a.class ?? 0xff,
          interfaceSubclass: a.subclass ?? 0,
          interfaceProtocol: a.protocol ?? 0,
          ...(a.name === undefined ? {} : { interfaceName: a.name }),
          endpoints: a.endpoints.map((e) => ({
            endpointNumber: e.address & 0x0f,
            direction: e.address & 0x80 ? ('in' as const) : ('out' as const),
            type: e.type,
            packetSize: e.packetSize,
          })),
        })),
      })),
    })),
  };
}
