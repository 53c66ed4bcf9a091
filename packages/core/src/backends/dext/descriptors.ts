/**
 * The dext's device and pipe information in WebUSB's shapes.
 *
 * The ABI reports what the dext knows of its one interface (GetDeviceInfo, GetPipes), not the
 * device's full descriptors: so the descriptor has one configuration (value 1, the one the dext's
 * personality matches), one interface, and the alternate settings seen so far with their bulk and
 * interrupt endpoints. Fields the ABI does not carry are fixed: bcdUSB from the speed (2.0 for
 * low/full/high, 3.0 above), class codes 0 for the device and 0xff (vendor) for the interface.
 *
 * @internal
 * @module
 */
import type { DeviceInfo, PipeInfo } from '@dextio/native';
import type { AlternateDescriptor, DeviceDescriptor, EndpointDescriptor, EndpointType } from '../../descriptors.js';

/** The configuration the dext's personality matches (Info.plist: bConfigurationValue 1). */
export const DEXT_CONFIGURATION = 1;

const endpointTypes: readonly EndpointType[] = ['control', 'isochronous', 'bulk', 'interrupt'];

export function endpoints(pipes: readonly PipeInfo[]): EndpointDescriptor[] {
  return pipes.map((pipe) => ({
    endpointNumber: pipe.address & 0x0f,
    direction: pipe.address & 0x80 ? 'in' : 'out',
    type: endpointTypes[pipe.type & 3]!,
    packetSize: pipe.maxPacketSize & 0x7ff,
  }));
}

export function alternate(alternateSetting: number, pipes: readonly PipeInfo[]): AlternateDescriptor {
  return { alternateSetting, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, endpoints: endpoints(pipes) };
}

export function deviceDescriptor(info: DeviceInfo, alternates: readonly AlternateDescriptor[]): DeviceDescriptor {
  const superSpeed = info.speed >= 3 && info.speed !== 0xff;
  return {
    usbVersionMajor: superSpeed ? 3 : 2,
    usbVersionMinor: 0,
    deviceClass: 0,
    deviceSubclass: 0,
    deviceProtocol: 0,
    vendorId: info.vendorId,
    productId: info.productId,
    deviceVersionMajor: info.deviceRelease >> 8,
    deviceVersionMinor: (info.deviceRelease >> 4) & 0x0f,
    configurations: [
      {
        configurationValue: DEXT_CONFIGURATION,
        interfaces: [{ interfaceNumber: info.interfaceNumber, alternates: [...alternates].sort((a, b) => a.alternateSetting - b.alternateSetting) }],
      },
    ],
  };
}

/** The backend's name for the device the dext drives. */
export function deviceId(info: DeviceInfo): string {
  const hex = (n: number) => n.toString(16).padStart(4, '0');
  return `dext:${hex(info.vendorId)}:${hex(info.productId)}:${info.interfaceNumber}`;
}
