/**
 * The parser of the descriptors the dext reads from the device: gadget zero's real bytes, and the
 * malformed bytes a device may send (none of which may make it throw).
 */
import type { Connection } from '@dextio/native';
import { expect } from 'chai';
import { UsbError } from '../../errors.js';
import { deviceStrings, parseConfiguration, parseDevice, registryDescriptor } from './descriptors.js';
import { readDescriptors } from './device.js';

/** Gadget zero's device descriptor (packages/dext/host/src/gadget.cpp): bcdUSB 2.00, class 0xff, 0525:a4a0, bcdDevice 1.00. */
const DEVICE = Uint8Array.from([18, 1, 0x00, 0x02, 0xff, 0, 0, 64, 0x25, 0x05, 0xa0, 0xa4, 0x00, 0x01, 1, 2, 3, 1]);

/**
 * Gadget zero's configuration descriptor, as it sends it: configuration 1, interface 0 with
 * alternate setting 0 (bulk 0x81 0x01 0x82 0x02, 512 bytes) and 1 (0x81 0x01); wTotalLength 69.
 */
const GADGET_ZERO = Uint8Array.from([
  ...[9, 2, 69, 0, 1, 1, 0, 0xc0, 1],
  ...[9, 4, 0, 0, 4, 0xff, 0, 0, 0],
  ...[7, 5, 0x81, 2, 0x00, 0x02, 0],
  ...[7, 5, 0x01, 2, 0x00, 0x02, 0],
  ...[7, 5, 0x82, 2, 0x00, 0x02, 0],
  ...[7, 5, 0x02, 2, 0x00, 0x02, 0],
  ...[9, 4, 0, 1, 2, 0xff, 0, 0, 0],
  ...[7, 5, 0x81, 2, 0x00, 0x02, 0],
  ...[7, 5, 0x01, 2, 0x00, 0x02, 0],
]);

function endpointBytes(address: number, type = 2, packetSize = 512): number[] {
  return [7, 5, address, type, packetSize & 0xff, packetSize >> 8, 0];
}

function interfaceBytes(number: number, alternate: number, endpoints: number, interfaceClass = 0xff): number[] {
  return [9, 4, number, alternate, endpoints, interfaceClass, 0, 0, 0];
}

/** A configuration descriptor around `body`, with wTotalLength filled in (or `total` when given). */
function configurationBytes(body: number[], value = 1, interfaces = 1, total?: number): Uint8Array {
  const bytes = [9, 2, 0, 0, interfaces, value, 0, 0xc0, 1, ...body];
  const length = total ?? bytes.length;
  bytes[2] = length & 0xff;
  bytes[3] = length >> 8;
  return Uint8Array.from(bytes);
}

/** What the dext's connection answers for the two descriptor reads, and nothing else. */
function connection(device: Uint8Array, configurations: Uint8Array[]): Connection {
  return {
    deviceDescriptor: () => device,
    configurationDescriptor: (index: number) => configurations[index] ?? new Uint8Array(0),
  } as unknown as Connection;
}

const bulk = (endpointNumber: number, direction: 'in' | 'out') => ({ endpointNumber, direction, type: 'bulk', packetSize: 512 });

describe('the dext backend parses the device\'s descriptors', function () {
  it('reads gadget zero\'s device descriptor as the device sent it', function () {
    const configuration = parseConfiguration(GADGET_ZERO)!;
    const device = parseDevice(DEVICE, [configuration], { productName: 'Gadget Zero' });
    expect(device).to.deep.equal({
      usbVersionMajor: 2,
      usbVersionMinor: 0,
      deviceClass: 0xff,
      deviceSubclass: 0,
      deviceProtocol: 0,
      vendorId: 0x0525,
      productId: 0xa4a0,
      deviceVersionMajor: 1,
      deviceVersionMinor: 0,
      productName: 'Gadget Zero',
      configurations: [configuration],
    });
  });

  it('reads bcdUSB and bcdDevice as BCD: major, then the high nibble of the minor byte', function () {
    const bytes = Uint8Array.from(DEVICE);
    bytes.set([0x10, 0x02], 2); // USB 2.1
    bytes.set([0x34, 0x12], 12); // release 12.34
    expect(parseDevice(bytes, [])).to.deep.include({ usbVersionMajor: 2, usbVersionMinor: 1, deviceVersionMajor: 0x12, deviceVersionMinor: 3 });
  });

  it('reads every interface and alternate setting of gadget zero\'s configuration, with their endpoints', function () {
    expect(parseConfiguration(GADGET_ZERO)).to.deep.equal({
      configurationValue: 1,
      interfaces: [
        {
          interfaceNumber: 0,
          alternates: [
            {
              alternateSetting: 0,
              interfaceClass: 0xff,
              interfaceSubclass: 0,
              interfaceProtocol: 0,
              endpoints: [bulk(1, 'in'), bulk(1, 'out'), bulk(2, 'in'), bulk(2, 'out')],
            },
            { alternateSetting: 1, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, endpoints: [bulk(1, 'in'), bulk(1, 'out')] },
          ],
        },
      ],
    });
  });

  it('passes over association and class-specific descriptors, and groups interfaces by number', function () {
    const bytes = configurationBytes(
      [
        ...[8, 11, 0, 2, 0xff, 0, 0, 0], // interface association
        ...interfaceBytes(1, 0, 1, 0x03),
        ...[9, 0x21, 0x11, 0x01, 0, 1, 0x22, 50, 0], // a HID class descriptor, between interface and endpoint
        ...endpointBytes(0x83, 3, 0x1840), // interrupt, high-bandwidth bits masked off
        ...[6, 0x30, 0, 0, 0, 0], // a SuperSpeed endpoint companion
        ...interfaceBytes(0, 0, 0),
        ...interfaceBytes(1, 1, 1, 0x03),
        ...[5, 0x24, 1, 2, 3], // class-specific interface descriptor
        ...endpointBytes(0x03, 3, 8),
      ],
      2,
      2,
    );
    const configuration = parseConfiguration(bytes)!;
    expect(configuration.configurationValue).to.equal(2);
    expect(configuration.interfaces.map((i) => i.interfaceNumber)).to.deep.equal([0, 1]);
    expect(configuration.interfaces[0]!.alternates.map((a) => a.endpoints)).to.deep.equal([[]]);
    const [first, second] = configuration.interfaces[1]!.alternates;
    expect([first!.alternateSetting, second!.alternateSetting]).to.deep.equal([0, 1]);
    expect(first!.endpoints).to.deep.equal([{ endpointNumber: 3, direction: 'in', type: 'interrupt', packetSize: 64 }]);
    expect(second!.endpoints).to.deep.equal([{ endpointNumber: 3, direction: 'out', type: 'interrupt', packetSize: 8 }]);
  });

  describe('malformed bytes', function () {
    it('stops at a descriptor of bLength 0 (or 1), keeping what came before', function () {
      for (const length of [0, 1]) {
        const bytes = configurationBytes([...interfaceBytes(0, 0, 2), ...endpointBytes(0x81), length, 5, ...endpointBytes(0x01)]);
        expect(parseConfiguration(bytes)!.interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([bulk(1, 'in')]);
      }
    });

    it('reads no further than the bytes when wTotalLength is beyond them', function () {
      const truncated = GADGET_ZERO.subarray(0, 9 + 9 + 7 + 3); // wTotalLength still says 69
      expect(parseConfiguration(truncated)!.interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([bulk(1, 'in')]);
    });

    it('reads no further than wTotalLength when the bytes go on, and skips a descriptor running past it', function () {
      const body = [...interfaceBytes(0, 0, 2), ...endpointBytes(0x81), ...endpointBytes(0x01)];
      const short = configurationBytes(body, 1, 1, 9 + 9 + 7 + 3);
      expect(parseConfiguration(short)!.interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([bulk(1, 'in')]);
      const overrun = configurationBytes([...interfaceBytes(0, 0, 1), 30, 5, 0x81, 2, 0, 2, 0]);
      expect(parseConfiguration(overrun)!.interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([]);
    });

    it('passes over a too-short interface or endpoint descriptor and endpoint 0, without giving its endpoints to another interface', function () {
      const bytes = configurationBytes([
        ...interfaceBytes(0, 0, 1),
        ...[5, 5, 0x82, 2, 0], // too short for an endpoint
        ...endpointBytes(0x00), // endpoint 0 is never listed
        ...endpointBytes(0x81),
        ...[5, 4, 1, 0, 1], // too short for an interface
        ...endpointBytes(0x02),
      ]);
      expect(parseConfiguration(bytes)!.interfaces).to.deep.equal([
        {
          interfaceNumber: 0,
          alternates: [{ alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, endpoints: [bulk(1, 'in')] }],
        },
      ]);
    });

    it('never throws, whatever the bytes: every truncation and every byte set to 0, 1 or 0xff', function () {
      for (let length = 0; length <= GADGET_ZERO.length; length++) {
        expect(() => parseConfiguration(GADGET_ZERO.subarray(0, length))).not.to.throw();
        expect(() => parseDevice(DEVICE.subarray(0, Math.min(length, 18)), [])).not.to.throw();
      }
      for (let offset = 0; offset < GADGET_ZERO.length; offset++) {
        for (const value of [0, 1, 0xff]) {
          const bytes = Uint8Array.from(GADGET_ZERO);
          bytes[offset] = value;
          expect(() => parseConfiguration(bytes), `byte ${offset} = ${value}`).not.to.throw();
        }
      }
    });

    it('parses as undefined what is not a device or configuration descriptor at all', function () {
      expect(parseDevice(DEVICE.subarray(0, 17), [])).to.equal(undefined);
      expect(parseDevice(Uint8Array.from([18, 2, ...DEVICE.subarray(2)]), [])).to.equal(undefined);
      expect(parseDevice(new Uint8Array(0), [])).to.equal(undefined);
      expect(parseConfiguration(new Uint8Array(8))).to.equal(undefined);
      expect(parseConfiguration(DEVICE)).to.equal(undefined);
      expect(parseConfiguration(Uint8Array.from([8, 2, 69, 0, 1, 1, 0, 0xc0, 1]))).to.equal(undefined);
    });
  });

  describe('reading them through the connection', function () {
    it('reads the device descriptor and every configuration it counts', function () {
      const second = configurationBytes(interfaceBytes(0, 0, 0), 2);
      const device = Uint8Array.from(DEVICE);
      device[17] = 2;
      const { bytes, descriptor } = readDescriptors(connection(device, [GADGET_ZERO, second]));
      expect(bytes).to.equal(device);
      expect(descriptor.configurations.map((c) => c.configurationValue)).to.deep.equal([1, 2]);
      expect(descriptor.deviceClass).to.equal(0xff);
    });

    it('refuses a device whose device or configuration descriptor is not one, with a UsbError', function () {
      expect(() => readDescriptors(connection(DEVICE.subarray(0, 17), []))).to.throw(UsbError, /device descriptor is malformed \(17 bytes\)/);
      expect(() => readDescriptors(connection(DEVICE, [new Uint8Array(4)]))).to.throw(UsbError, /configuration descriptor 0 is malformed/);
      expect(() => readDescriptors(connection(DEVICE, []))).to.throw(UsbError, /configuration descriptor 0/);
    });
  });

  it('shows a device nobody opened with the ids and strings of the registry and no configurations', function () {
    const descriptor = registryDescriptor({
      vendorId: 0x0525,
      productId: 0xa4a0,
      deviceRelease: 0x0123,
      interfaceNumber: 0,
      serialNumber: 'X1',
    });
    expect(descriptor).to.deep.include({ vendorId: 0x0525, deviceVersionMajor: 1, deviceVersionMinor: 2, serialNumber: 'X1', configurations: [] });
    expect(descriptor).not.to.have.property('productName');
  });

  it('keeps only the strings that are there', function () {
    expect(deviceStrings({ manufacturerName: 'dextio', productName: undefined, serialNumber: '' })).to.deep.equal({
      manufacturerName: 'dextio',
      serialNumber: '',
    });
  });
});
