/**
 * The parser of the descriptors the dext reads from the device: gadget zero's real bytes, and the
 * malformed bytes a device may send.
 */
import { expect } from 'chai';
import { UsbError } from '../../errors.js';
import { parseConfiguration, parseDevice, registryDescriptor } from './descriptors.js';

/** Gadget zero's device descriptor: bcdUSB 2.00, vendor-specific class, 0525:a4a0, release 1.00. */
const DEVICE = Uint8Array.from([18, 1, 0x00, 0x02, 0xff, 0, 0, 64, 0x25, 0x05, 0xa0, 0xa4, 0x00, 0x01, 1, 2, 3, 1]);

function endpointBytes(address: number, type = 2, packetSize = 512): number[] {
  return [7, 5, address, type, packetSize & 0xff, packetSize >> 8, 0];
}

/** A configuration descriptor around `body`, with wTotalLength filled in. */
function configurationBytes(body: number[], value = 1, interfaces = 1): Uint8Array {
  const bytes = [9, 2, 0, 0, interfaces, value, 0, 0xc0, 1, ...body];
  bytes[2] = bytes.length & 0xff;
  bytes[3] = bytes.length >> 8;
  return Uint8Array.from(bytes);
}

/** Gadget zero's configuration: interface 0, alternate 0 with 4 bulk endpoints, alternate 1 with 2. */
const GADGET_ZERO = configurationBytes([
  ...[9, 4, 0, 0, 4, 0xff, 0, 0, 0],
  ...endpointBytes(0x81),
  ...endpointBytes(0x01),
  ...endpointBytes(0x82),
  ...endpointBytes(0x02),
  ...[9, 4, 0, 1, 2, 0xff, 0, 0, 0],
  ...endpointBytes(0x81),
  ...endpointBytes(0x01),
]);

describe('the dext backend parses the device\'s descriptors', function () {
  it('reads gadget zero\'s device descriptor as the device sent it', function () {
    const configuration = parseConfiguration(GADGET_ZERO);
    const device = parseDevice(DEVICE, [configuration], { productName: 'Gadget Zero' });
    expect(device).to.deep.include({
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
    });
    expect(device.configurations).to.deep.equal([configuration]);
  });

  it('reads every interface and alternate setting of a configuration, with their endpoints', function () {
    const configuration = parseConfiguration(GADGET_ZERO);
    expect(configuration.configurationValue).to.equal(1);
    expect(configuration.interfaces).to.have.length(1);
    const [iface] = configuration.interfaces;
    expect(iface!.interfaceNumber).to.equal(0);
    expect(iface!.alternates.map((a) => a.alternateSetting)).to.deep.equal([0, 1]);
    expect(iface!.alternates[0]).to.deep.include({ interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0 });
    expect(iface!.alternates[0]!.endpoints).to.deep.equal([
      { endpointNumber: 1, direction: 'in', type: 'bulk', packetSize: 512 },
      { endpointNumber: 1, direction: 'out', type: 'bulk', packetSize: 512 },
      { endpointNumber: 2, direction: 'in', type: 'bulk', packetSize: 512 },
      { endpointNumber: 2, direction: 'out', type: 'bulk', packetSize: 512 },
    ]);
    expect(iface!.alternates[1]!.endpoints).to.have.length(2);
  });

  it('passes over association and class-specific descriptors, and groups interfaces by number', function () {
    const bytes = configurationBytes(
      [
        ...[8, 11, 0, 2, 0xff, 0, 0, 0], // interface association
        ...[9, 4, 1, 0, 1, 0x03, 0, 0, 0],
        ...[9, 0x21, 0x11, 0x01, 0, 1, 0x22, 50, 0], // a HID class descriptor
        ...endpointBytes(0x83, 3, 0x1840), // interrupt, high-bandwidth bits masked off
        ...[9, 4, 0, 0, 0, 0xff, 0, 0, 0],
      ],
      2,
      2,
    );
    const configuration = parseConfiguration(bytes);
    expect(configuration.configurationValue).to.equal(2);
    expect(configuration.interfaces.map((i) => i.interfaceNumber)).to.deep.equal([0, 1]);
    expect(configuration.interfaces[1]!.alternates[0]!.endpoints).to.deep.equal([
      { endpointNumber: 3, direction: 'in', type: 'interrupt', packetSize: 64 },
    ]);
    expect(configuration.interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([]);
  });

  it('never throws on a malformed body: it stops where the bytes stop making sense', function () {
    const zeroLength = configurationBytes([...[9, 4, 0, 0, 1, 0xff, 0, 0, 0], 0, 5, 0x81, 2, 0, 2, 0]);
    expect(parseConfiguration(zeroLength).interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([]);
    // wTotalLength beyond the bytes: parsed up to what is there.
    const truncated = GADGET_ZERO.subarray(0, 9 + 9 + 7 + 3);
    expect(parseConfiguration(truncated).interfaces[0]!.alternates[0]!.endpoints).to.have.length(1);
    // A descriptor running past wTotalLength, a too-short interface, endpoint 0 listed.
    const overrun = configurationBytes([...[9, 4, 0, 0, 1, 0xff, 0, 0, 0], ...endpointBytes(0x00), 30, 5, 0x81]);
    expect(parseConfiguration(overrun).interfaces[0]!.alternates[0]!.endpoints).to.deep.equal([]);
    const shortInterface = configurationBytes([...[5, 4, 0, 0, 1], ...endpointBytes(0x81)]);
    expect(parseConfiguration(shortInterface).interfaces).to.deep.equal([]);
  });

  it('refuses a device or configuration descriptor that is not one, with a UsbError', function () {
    expect(() => parseDevice(DEVICE.subarray(0, 17), [])).to.throw(UsbError, /device descriptor/);
    expect(() => parseDevice(Uint8Array.from([...DEVICE.subarray(0, 1), 2, ...DEVICE.subarray(2)]), [])).to.throw(UsbError);
    expect(() => parseConfiguration(new Uint8Array(8))).to.throw(UsbError, /configuration descriptor/);
    expect(() => parseConfiguration(DEVICE)).to.throw(UsbError);
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
});
