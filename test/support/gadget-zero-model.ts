/**
 * Linux's gadget zero (f_sourcesink and f_loopback behind the composite layer) declared with
 * @dextio/model: what the device does with each packet and control request. It is the device of
 * the conformance suite's `fake` target, and an example of a model.
 *
 * Configuration 1 is SourceSink (pattern 1), configuration 2 is Loopback, as in the QEMU fixture.
 * Both have interface 0 with bulk IN 0x81 and bulk OUT 0x01.
 */
import { defineDevice, type DeviceContext, type EndpointDeclaration } from '@dextio/model';
import { fillPattern, findPatternError, GADGET_ZERO_IDS, REQUEST_READ_BUFFER, REQUEST_WRITE_BUFFER } from './gadget-zero.js';

export const PACKET_SIZE = 512;
export const SOURCE_SINK_CONFIGURATION = 1;
export const LOOPBACK_CONFIGURATION = 2;
/** USB_COMP_EP0_BUFSIZ: the composite layer's one buffer for every control request's data stage. */
const EP0_BUFFER_SIZE = 4096;

/** The device's own state: endpoint 0's buffer, where f_sourcesink keeps 0x5b's data for 0x5c. */
interface GadgetZeroData {
  readonly ep0: Uint8Array;
}

type Endpoint = EndpointDeclaration<GadgetZeroData>;

function bulkPair(inbound: Partial<Endpoint>, outbound: Partial<Endpoint>): Endpoint[] {
  return [
    { address: 0x81, type: 'bulk', packetSize: PACKET_SIZE, ...inbound },
    { address: 0x01, type: 'bulk', packetSize: PACKET_SIZE, ...outbound },
  ];
}

/** SourceSink OUT: wrong data halts the endpoint, as f_sourcesink does. */
function sink(data: Uint8Array): void | 'stall' {
  for (let offset = 0; offset < data.length; offset += PACKET_SIZE) {
    if (findPatternError(data.subarray(offset, offset + PACKET_SIZE), PACKET_SIZE) >= 0) return 'stall';
  }
}

/** Loopback OUT: the data goes back out on IN 0x81, packet by packet (an empty one is a ZLP). */
function loop(data: Uint8Array, device: DeviceContext<GadgetZeroData>): void {
  device.send(0x81, data);
}

export const gadgetZero = defineDevice<GadgetZeroData>({
  ...GADGET_ZERO_IDS,
  data: () => ({ ep0: new Uint8Array(EP0_BUFFER_SIZE) }),
  class: 0xff,
  manufacturer: 'dextio',
  product: 'Gadget Zero (model)',
  configurations: [
    {
      value: SOURCE_SINK_CONFIGURATION,
      name: 'source/sink',
      interfaces: [
        {
          number: 0,
          alternates: [
            {
              setting: 0,
              class: 0xff,
              name: 'source/sink',
              endpoints: bulkPair({ in: (length) => fillPattern(new Uint8Array(length), PACKET_SIZE) }, { out: sink }),
            },
          ],
        },
      ],
    },
    {
      value: LOOPBACK_CONFIGURATION,
      name: 'loopback',
      interfaces: [{ number: 0, alternates: [{ setting: 0, class: 0xff, name: 'loopback', endpoints: bulkPair({}, { out: loop }) }] }],
    },
  ],
  // The composite layer answers every request through endpoint 0's one buffer; 0x5b and 0x5c as
  // f_sourcesink answers them. It hands a device request to the configuration's only function,
  // and f_loopback has no handler: Loopback stalls them. An IN request gets at most the buffer
  // (wLength is cut down); a longer OUT data stage is refused.
  control(request, device) {
    const { ep0 } = device.data;
    const { direction, requestType, recipient, value, index } = request;
    if (direction === 'out' && request.data.length > EP0_BUFFER_SIZE) return 'stall';
    const length = Math.min(request.length, EP0_BUFFER_SIZE);
    if (requestType === 'standard') {
      const answer = device.standard({ ...request, length });
      if (answer instanceof Uint8Array && recipient === 'device') ep0.set(answer);
      return answer;
    }
    if (requestType !== 'vendor' || recipient !== 'device') return 'stall';
    if (device.configuration !== SOURCE_SINK_CONFIGURATION || value !== 0 || index !== 0) return 'stall';
    if (direction === 'out' && request.request === REQUEST_WRITE_BUFFER) {
      ep0.set(request.data);
      return 'ok';
    }
    if (direction === 'in' && request.request === REQUEST_READ_BUFFER) return ep0.slice(0, length);
    return 'stall';
  },
});
