import { expect } from 'chai';
import type { ConfigurationDescriptor, DeviceDescriptor, EndpointDescriptor } from '../descriptors.js';
import { gadgetZeroLayout } from './workloads.js';

const bulk = (endpointNumber: number): EndpointDescriptor[] => [
  { endpointNumber, direction: 'in', type: 'bulk', packetSize: 512 },
  { endpointNumber, direction: 'out', type: 'bulk', packetSize: 512 },
];

function configuration(configurationValue: number, endpoints: EndpointDescriptor[]): ConfigurationDescriptor {
  return {
    configurationValue,
    interfaces: [{ interfaceNumber: 0, alternates: [{ alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, endpoints }] }],
  } as unknown as ConfigurationDescriptor;
}

function device(...configurations: ConfigurationDescriptor[]): DeviceDescriptor {
  return { vendorId: 0x0525, productId: 0xa4a0, configurations } as unknown as DeviceDescriptor;
}

describe('cli gadgetZeroLayout', function () {
  it('finds both functions in the one interface of the embedded gadget', function () {
    expect(gadgetZeroLayout(device(configuration(1, [...bulk(1), ...bulk(2)])))).to.deep.equal({
      sourceSink: { configurationValue: 1, interfaceNumber: 0, endpointNumber: 1 },
      loopback: { configurationValue: 1, interfaceNumber: 0, endpointNumber: 2 },
    });
  });

  it('finds a configuration per function on configfs (1, 2) and on g_zero (3, 2)', function () {
    expect(gadgetZeroLayout(device(configuration(1, bulk(1)), configuration(2, bulk(1))))).to.deep.equal({
      sourceSink: { configurationValue: 1, interfaceNumber: 0 },
      loopback: { configurationValue: 2, interfaceNumber: 0 },
    });
    expect(gadgetZeroLayout(device(configuration(3, bulk(1)), configuration(2, bulk(1))))).to.deep.equal({
      sourceSink: { configurationValue: 3, interfaceNumber: 0 },
      loopback: { configurationValue: 2, interfaceNumber: 0 },
    });
  });

  it('says null for a device that looks like neither', function () {
    expect(gadgetZeroLayout(device(configuration(1, bulk(1))))).to.equal(null);
    expect(gadgetZeroLayout(device(configuration(1, [bulk(1)[0]!, ...bulk(2).slice(1)])))).to.equal(null);
    expect(gadgetZeroLayout(device())).to.equal(null);
  });
});
