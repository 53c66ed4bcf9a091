/**
 * Honest device state: held devices are busy, unplugged devices say so without a hotplug
 * subscriber, bad options and filters get messages, Promise helpers reject, and control transfers
 * take the whole wLength range.
 */
import { AccessError, DisconnectedError, type StreamOptions } from '@dextio/core';
import { expect } from 'chai';
import { expectRejection } from '../../support/assertions.js';
import { GADGET_ZERO_IDS, REQUEST_WRITE_BUFFER } from '../../support/gadget-zero.js';
import { until } from '../../support/until.js';
import type { SuiteContext } from '../suite.js';

const GET_DESCRIPTOR = 0x06;
const CONFIGURATION_DESCRIPTOR = 0x02;

export function deviceStateCases(s: SuiteContext): void {
  describe('device state', function () {
    it('lists a held device as busy to another client, which gets AccessError saying so', async function () {
      await s.openDevice();
      const other = await s.otherClient();
      const listed = await other.list(GADGET_ZERO_IDS);
      expect(listed.length, 'the held device is listed').to.be.greaterThan(0);
      expect(listed.every((device) => device.busy)).to.equal(true);
      const error = await other.open(GADGET_ZERO_IDS).then(
        async (device) => {
          await device.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(AccessError);
      expect((error as Error).message).to.match(/held/);
    });

    it('lists a device nobody holds as not busy', async function () {
      const fixture = await s.openDevice();
      await fixture.device.close();
      const listed = await fixture.usb.list(GADGET_ZERO_IDS);
      expect(listed.length).to.be.greaterThan(0);
      expect(listed.some((device) => !device.busy)).to.equal(true);
    });

    it('reports an idle device that is unplugged as closed, without a hotplug subscriber', async function () {
      s.requires(this, 'disconnect');
      const fn = await s.open('sourceSink');
      const interfaceNumber = fn.device.configuration!.interfaces[0]!.interfaceNumber;
      await s.target().disconnect!();
      try {
        await until('the device reports the unplug', () => !fn.device.opened, 5000);
        await expectRejection(fn.device.claimInterface(interfaceNumber), DisconnectedError);
        await expectRejection(fn.device.openPipe('in', fn.in.endpointNumber), DisconnectedError);
        const setup = { requestType: 'standard', recipient: 'device', request: GET_DESCRIPTOR, value: 0x0100, index: 0 } as const;
        await expectRejection(fn.device.controlTransferIn(setup, 18), DisconnectedError);
        await expectRejection(fn.in.transferIn(512), DisconnectedError);
        await fn.device.close();
      } finally {
        await s.target().reconnect!();
      }
    });
  });

  describe('arguments, as WebUSB callers expect them', function () {
    it('validates option and filter objects with messages', async function () {
      const fn = await s.open('sourceSink');
      expect(() => fn.in.stream(undefined as unknown as StreamOptions)).to.throw(TypeError, /transferSize/);
      expect(() => fn.in.stream(null as unknown as StreamOptions)).to.throw(TypeError, /options/);
      expect(() => fn.in.read(8, { timeOut: 5 } as never)).to.throw(TypeError, /timeOut/);
      expect(() => fn.in.stream({ transferSize: 512, inflight: 2 } as never)).to.throw(TypeError, /inflight/);
      expect(() => fn.in.read(8, 'fast' as never)).to.throw(TypeError, /options/);
      const client = await s.otherClient();
      await expectRejection(client.open(null as never), TypeError);
      await expectRejection(client.open({ vendorID: 0x0525 } as never), TypeError);
      await expectRejection(client.list('0525' as never), TypeError);
    });

    it('rejects, rather than throws, from the Promise helpers', async function () {
      const fn = await s.open('sourceSink');
      const setup = { requestType: 'vendor', recipient: 'device', request: 0x5c, value: 0, index: 0 } as const;
      const calls: [string, () => Promise<unknown>, new (...args: never[]) => Error][] = [
        ['transferIn(-1)', () => fn.in.transferIn(-1), RangeError],
        ['transferIn on OUT', () => fn.out.transferIn(8), TypeError],
        ['transferOut("text")', () => fn.out.transferOut('text' as never), TypeError],
        ['controlTransferIn(null)', () => fn.device.controlTransferIn(null as never, 8), TypeError],
        ['controlTransferIn(65536)', () => fn.device.controlTransferIn(setup, 0x10000), RangeError],
        ['controlTransferOut(bad data)', () => fn.device.controlTransferOut(setup, 42 as never), TypeError],
      ];
      for (const [what, call, type] of calls) {
        let promise: Promise<unknown>;
        expect(() => (promise = call()), what).not.to.throw();
        await expectRejection(promise!, type);
      }
    });
  });

  describe('control transfers across 4 KiB', function () {
    const GET_CONFIGURATION = {
      requestType: 'standard',
      recipient: 'device',
      request: GET_DESCRIPTOR,
      value: (CONFIGURATION_DESCRIPTOR << 8) | 0,
      index: 0,
    } as const;

    it('reads a descriptor with the longest wLength the backend carries (past 4096: by descriptor)', async function () {
      const { device } = await s.openDevice();
      expect(device.controlLengthMax).to.be.oneOf([4096, 0xffff]);
      const result = await device.controlTransferIn(GET_CONFIGURATION, device.controlLengthMax);
      expect(result.status).to.equal('ok');
      expect(result.data[1]).to.equal(CONFIGURATION_DESCRIPTOR);
      const totalLength = result.data[2]! | (result.data[3]! << 8);
      expect(result.data.length).to.equal(totalLength);
    });

    it('refuses a data stage above the backend\'s limit at call time, naming it', async function () {
      const { device } = await s.openDevice();
      if (device.controlLengthMax === 0xffff) {
        console.log(`      skipped on ${s.name}: the backend carries all of wLength; nothing to refuse`);
        this.skip();
      }
      const setup = { requestType: 'vendor', recipient: 'device', request: REQUEST_WRITE_BUFFER, value: 0, index: 0 } as const;
      expect(() => device.controlIn(GET_CONFIGURATION, device.controlLengthMax + 1)).to.throw(RangeError, /controlLengthMax/);
      expect(() => device.controlOut(setup, new Uint8Array(device.controlLengthMax + 1))).to.throw(RangeError, /controlLengthMax/);
    });

    it('sends control data stages of 4096, 4097 and 65535 bytes to the device where the backend carries them', async function () {
      s.requires(this, 'vendorControl');
      const { device } = await s.openDevice();
      const setup = { requestType: 'vendor', recipient: 'device', request: REQUEST_WRITE_BUFFER, value: 0, index: 0 } as const;
      for (const length of [4096, 4097, 0xffff].filter((n) => n <= device.controlLengthMax)) {
        // The device may refuse a stage longer than its buffer: a stall, never an error of ours.
        const result = await device.controlTransferOut(setup, new Uint8Array(length));
        expect(['ok', 'stall'], `${length} bytes`).to.include(result.status);
        if (result.status === 'ok') expect(result.bytesWritten).to.equal(length);
      }
    });
  });
}
