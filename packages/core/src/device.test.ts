/**
 * Device's own rules, over a stub backend: which interfaces it lets you claim, and the timeout it
 * gives a control transfer.
 */
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { BackendDevice, ControlCompletion } from './backend.js';
import type { ControlSetup, DeviceDescriptor, Direction } from './descriptors.js';
import { CONTROL_TIMEOUT_DEFAULT, CONTROL_TIMEOUT_MAX, Device } from './device.js';

const alternate = { alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, endpoints: [] };
const DESCRIPTOR: DeviceDescriptor = {
  usbVersionMajor: 2,
  usbVersionMinor: 0,
  deviceClass: 0,
  deviceSubclass: 0,
  deviceProtocol: 0,
  vendorId: 0x1234,
  productId: 0x5678,
  deviceVersionMajor: 1,
  deviceVersionMinor: 0,
  configurations: [
    {
      configurationValue: 1,
      interfaces: [0, 1, 2].map((interfaceNumber) => ({ interfaceNumber, alternates: [alternate] })),
    },
  ],
};

/** A backend device that records claims and control timeouts, and moves nothing. */
function stub(claimableInterfaces?: readonly number[]) {
  const claimed: number[] = [];
  const timeouts: number[] = [];
  const backend: BackendDevice = {
    descriptor: DESCRIPTOR,
    configurationValue: 1,
    ...(claimableInterfaces === undefined ? {} : { claimableInterfaces }),
    controlLengthMax: 0xffff,
    selectConfiguration: async () => undefined,
    claimInterface: async (n: number) => void claimed.push(n),
    releaseInterface: async () => undefined,
    selectAlternateInterface: async () => undefined,
    getString: async () => '',
    control: async (_d: Direction, _s: ControlSetup, _data: Uint8Array | number, timeout: number): Promise<ControlCompletion> => {
      timeouts.push(timeout);
      return { status: 'ok', data: new Uint8Array(0), bytes: 0 };
    },
    openPipe: () => Promise.reject(new Error('no pipes here')),
    onDisconnect: () => () => undefined,
    close: async () => undefined,
  };
  return { device: new Device(backend), claimed, timeouts };
}

const setup: ControlSetup = { requestType: 'vendor', recipient: 'device', request: 1, value: 0, index: 0 };

describe('Device', function () {
  describe('claimable interfaces', function () {
    it('are every interface of the active configuration when the backend says nothing', async function () {
      const { device, claimed } = stub();
      expect(device.claimableInterfaces).to.deep.equal([0, 1, 2]);
      await device.claimInterface(2);
      expect(claimed).to.deep.equal([2]);
    });

    it('are the backend\'s own, and claiming another is a RangeError naming them, before the backend sees it', async function () {
      const { device, claimed } = stub([1]);
      expect(device.claimableInterfaces).to.deep.equal([1]);
      const refused = await device.claimInterface(0).catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(RangeError).with.property('message').that.matches(/interface 0 .*claimable: 1/);
      expect(claimed).to.deep.equal([]);
      await device.claimInterface(1);
      expect(device.isClaimed(1)).to.equal(true);
      // An interface the configuration does not have is refused as such.
      await device.claimInterface(7).then(
        () => expect.fail('claimed interface 7'),
        (e: unknown) => expect(e).to.be.instanceOf(RangeError).with.property('message').that.matches(/configuration 1 has no interface 7/),
      );
    });
  });

  describe('control timeouts', function () {
    it('give the backend the default when none is given, and any from 1 to the maximum as given', async function () {
      const { device, timeouts } = stub();
      await firstValueFrom(device.controlIn(setup, 8));
      await firstValueFrom(device.controlOut(setup, new Uint8Array(1), { timeout: 1 }));
      await firstValueFrom(device.controlIn(setup, 8, { timeout: CONTROL_TIMEOUT_MAX }));
      expect(timeouts).to.deep.equal([CONTROL_TIMEOUT_DEFAULT, 1, CONTROL_TIMEOUT_MAX]);
    });

    it('refuse 0 (a control request always ends) and anything above the maximum, at the call', function () {
      const { device, timeouts } = stub();
      expect(() => device.controlIn(setup, 8, { timeout: 0 })).to.throw(RangeError, /timeout must be from 1 to 30000/);
      expect(() => device.controlOut(setup, undefined, { timeout: CONTROL_TIMEOUT_MAX + 1 })).to.throw(RangeError, /timeout/);
      expect(() => device.controlIn(setup, 8, { timeout: 1.5 })).to.throw(TypeError, /timeout/);
      expect(timeouts).to.deep.equal([]);
    });
  });
});
