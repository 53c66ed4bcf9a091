/**
 * The device contract, as one mocha suite run unchanged against every target. Cases that need a
 * feature the target lacks are skipped with the target's reason printed.
 */
import {
  AbortedError,
  ClosedError,
  DisconnectedError,
  MAPPED_TRANSFER_MAX,
  StallError,
  TimeoutError,
  TRANSFER_LENGTH_MAX,
  type HotplugEvent,
  type Usb,
} from '@dextio/core';
import { expect } from 'chai';
import { filter, firstValueFrom, lastValueFrom, reduce, take, takeWhile, tap, toArray } from 'rxjs';
import { expectRejection } from '../support/assertions.js';
import { testBytes } from '../support/bytes.js';
import { fillPattern, findPatternError, REQUEST_READ_BUFFER, REQUEST_WRITE_BUFFER } from '../support/gadget-zero.js';
import { missingReason, openFunction, type Feature, type GadgetZeroFixture, type OpenFunction, type Target } from './target.js';

import { dataPathCases } from './cases/data-path.js';
import { deviceStateCases } from './cases/device-state.js';
import { streamAdapterCases } from './cases/stream-adapters.js';

/** What a group of cases in `cases/` gets from the suite. */
export interface SuiteContext {
  /** The target's name, as `DEXTIO_TARGET` gives it. */
  readonly name: string;
  /** The target; valid inside cases and hooks. */
  target(): Target;
  /** Opens the device afresh; the suite closes it after the case and checks for leaks. */
  openDevice(): Promise<GadgetZeroFixture>;
  /** Another client of the same system, as another process would be. */
  otherClient(): Promise<Usb>;
  /** Opens the device, selects the function's configuration, claims it and opens its bulk pipes. */
  open(which: 'sourceSink' | 'loopback'): Promise<OpenFunction>;
  /** Skips the case, printing the target's reason, unless the target has every feature. */
  requires(context: Mocha.Context, ...features: Feature[]): void;
}

const ROUND_TRIP_SIZES = [1, 512, 4095, 4096, 4097, 65536, 1024 * 1024];
const STREAM_BYTES = 4 * 1024 * 1024;

const SET_FEATURE = 0x03;
const ENDPOINT_HALT = 0;

function expectedPath(length: number): 'mapped' | 'descriptor' {
  return length <= MAPPED_TRANSFER_MAX ? 'mapped' : 'descriptor';
}

export function describeConformance(name: string, makeTarget: () => Promise<Target>): void {
  describe(`conformance on the ${name} target`, function () {
    let target: Target;
    let fixture: GadgetZeroFixture | null = null;

    before(async function () {
      target = await makeTarget();
    });

    after(async function () {
      await target?.dispose?.();
    });

    afterEach(async function () {
      await fixture?.device.close();
      fixture = null;
      expect(await (target.leaks?.() ?? Promise.resolve([]))).to.deep.equal([]);
    });

    function requires(context: Mocha.Context, ...features: Feature[]): void {
      for (const feature of features) {
        const reason = missingReason(target, feature);
        if (reason !== null) {
          console.log(`      skipped on ${name}: ${reason}`);
          context.skip();
        }
      }
    }

    async function openDevice(): Promise<GadgetZeroFixture> {
      fixture = await target.open();
      return fixture;
    }

    async function open(which: 'sourceSink' | 'loopback'): Promise<OpenFunction> {
      return openFunction(await openDevice(), which);
    }

    /** Sends `data` through Loopback and reads it back, IN and OUT in flight together. */
    async function roundTrip(fn: OpenFunction, data: Uint8Array) {
      const [received, sent] = await Promise.all([fn.in.transferIn(data.length), fn.out.transferOut(data)]);
      return { received, sent };
    }

    describe('descriptors', function () {
      it('describes gadget zero in WebUSB shapes', async function () {
        const fn = await open('sourceSink');
        const { descriptor } = fn.device;
        expect(descriptor.vendorId).to.equal(0x0525);
        expect(descriptor.productId).to.equal(0xa4a0);
        expect(descriptor.configurations.length).to.be.greaterThan(0);
        for (const endpoint of fn.device.alternate(fixture!.sourceSink.interfaceNumber).endpoints) {
          expect(endpoint.endpointNumber).to.be.within(1, 15);
          expect(['in', 'out']).to.include(endpoint.direction);
          expect(endpoint.packetSize).to.be.greaterThan(0);
        }
        expect(fn.in.packetSize).to.be.oneOf([64, 512, 1024]);
      });

      it('reads string descriptors', async function () {
        const fn = await open('sourceSink');
        const strings = await Promise.all([1, 2, 3].map((index) => fn.device.getString(index)));
        expect(strings).to.include(fn.device.descriptor.productName);
      });

      it('lists the open device among the attached ones', async function () {
        fixture = await target.open();
        const list = await fixture.usb.list({ vendorId: 0x0525, productId: 0xa4a0 });
        expect(list.length).to.be.greaterThan(0);
        const current = await firstValueFrom(fixture.usb.devices());
        expect(current.map((d) => d.descriptor.productId)).to.include(0xa4a0);
      });
    });

    describe('loopback round trips', function () {
      beforeEach(function () {
        requires(this, 'loopback');
      });

      for (const size of ROUND_TRIP_SIZES) {
        it(`echoes ${size} bytes on the ${expectedPath(size)} path`, async function () {
          const fn = await open('loopback');
          const data = testBytes(size, size);
          const { received, sent } = await roundTrip(fn, data);
          expect(sent.status).to.equal('ok');
          expect(sent.bytesWritten).to.equal(size);
          expect(sent.path).to.equal(expectedPath(size));
          expect(received.status).to.equal('ok');
          expect(received.path).to.equal(expectedPath(size));
          expect(received.data.length).to.equal(size);
          expect(Buffer.compare(received.data, data), 'echoed bytes').to.equal(0);
        });
      }

      it('forces a path for an experiment and reports it', async function () {
        const fn = await open('loopback');
        const data = testBytes(4097, 7);
        const sent = fn.out.transferOut(data, { path: 'descriptor' });
        const received = await fn.in.transferIn(4097, { path: 'descriptor' });
        expect((await sent).path).to.equal('descriptor');
        expect(Buffer.compare(received.data, data)).to.equal(0);
        expect(() => fn.out.write(testBytes(4097, 1), { path: 'mapped' })).to.throw(RangeError);
      });

      it('hands out a zero-copy lease of a mapped slot', async function () {
        const fn = await open('loopback');
        const data = testBytes(300, 3);
        const [leased] = await Promise.all([firstValueFrom(fn.in.readLeased(512)), fn.out.transferOut(data)]);
        expect(leased.path).to.equal('mapped');
        expect(Buffer.compare(Uint8Array.from(leased.data), data)).to.equal(0);
        leased.release();
        leased.release();
        expect(() => fn.in.readLeased(MAPPED_TRANSFER_MAX + 1)).to.throw(RangeError);
      });

      it('ends a write with a zero-length packet on request', async function () {
        requires(this, 'zlp');
        const fn = await open('loopback');
        const data = testBytes(fn.out.packetSize, 11);
        const [received] = await Promise.all([fn.in.transferIn(2 * fn.out.packetSize), fn.out.transferOut(data, { zlp: true })]);
        expect(received.data.length).to.equal(data.length);
        expect(Buffer.compare(received.data, data)).to.equal(0);
      });

      it('writes from an AsyncIterable with inFlight writes and a bounded pull', async function () {
        const fn = await open('loopback');
        const chunk = 4096;
        const chunks = 32;
        let pulled = 0;
        let maxAhead = 0;
        let written = 0;
        async function* source() {
          for (let i = 0; i < chunks; i++) {
            pulled++;
            maxAhead = Math.max(maxAhead, pulled - written);
            yield testBytes(chunk, i + 1);
          }
        }
        const reading = lastValueFrom(
          fn.in.stream({ transferSize: chunk, inFlight: 4 }).pipe(take(chunks), toArray()),
        );
        const results = await lastValueFrom(
          fn.out.writeFrom(source(), { inFlight: 4 }).pipe(tap(() => written++), toArray()),
        );
        const echoed = await reading;
        expect(results.map((r) => r.bytesWritten)).to.deep.equal(Array(chunks).fill(chunk));
        expect(maxAhead, 'chunks pulled ahead of the pipe').to.be.at.most(5);
        echoed.forEach((data, i) => {
          // Which chunk came back instead tells a reordering from a buffer reused too early.
          const instead = echoed.findIndex((_, j) => Buffer.compare(data, testBytes(chunk, j + 1)) === 0);
          expect(Buffer.compare(data, testBytes(chunk, i + 1)), `chunk ${i} (holds chunk ${instead})`).to.equal(0);
        });
      });
    });

    describe('source/sink streaming', function () {
      it(`streams ${STREAM_BYTES / 1024 / 1024} MiB in 64 KiB transfers with the pattern intact`, async function () {
        const fn = await open('sourceSink');
        const total = await lastValueFrom(
          fn.in.stream({ transferSize: 65536, inFlight: 8 }).pipe(
            tap((chunk) => {
              expect(chunk.length).to.equal(65536);
              expect(findPatternError(chunk, fn.in.packetSize)).to.equal(-1);
            }),
            take(STREAM_BYTES / 65536),
            reduce((sum, chunk) => sum + chunk.length, 0),
          ),
        );
        expect(total).to.equal(STREAM_BYTES);
        await fn.in.drained();
        expect(fn.in.outstanding).to.equal(0);
      });

      it('streams in 4 KiB transfers through the mapped slots', async function () {
        const fn = await open('sourceSink');
        const chunks = await lastValueFrom(fn.in.stream({ transferSize: 4096, inFlight: 8 }).pipe(take(256), toArray()));
        expect(chunks).to.have.length(256);
        for (const chunk of chunks) expect(findPatternError(chunk, fn.in.packetSize)).to.equal(-1);
      });

      it('reads the pattern with a single transfer on each path', async function () {
        const fn = await open('sourceSink');
        for (const size of [512, 4096, 8192]) {
          const result = await fn.in.transferIn(size);
          expect(result.path).to.equal(expectedPath(size));
          expect(result.data.length).to.equal(size);
          expect(findPatternError(result.data, fn.in.packetSize)).to.equal(-1);
        }
      });

      it('sinks pattern data, and halts OUT on a pattern error until clearHalt', async function () {
        requires(this, 'sink');
        const fn = await open('sourceSink');
        const good = fillPattern(new Uint8Array(4096), fn.out.packetSize);
        expect((await fn.out.transferOut(good)).status).to.equal('ok');
        const bad = good.slice();
        bad[5] = bad[5]! ^ 0xff;
        await fn.out.transferOut(bad).catch(() => undefined);
        const stalled = await fn.out.transferOut(good);
        expect(stalled.status).to.equal('stall');
        await fn.out.clearHalt();
        expect((await fn.out.transferOut(good)).status).to.equal('ok');
      });
    });

    describe('control transfers', function () {
      it('writes a buffer with 0x5b and reads it back with 0x5c', async function () {
        requires(this, 'vendorControl');
        fixture = await target.open();
        const { device } = fixture;
        const data = testBytes(64, 0x5b);
        const setup = { requestType: 'vendor', recipient: 'device', value: 0, index: 0 } as const;
        const written = await device.controlTransferOut({ ...setup, request: REQUEST_WRITE_BUFFER }, data);
        expect(written).to.deep.equal({ status: 'ok', bytesWritten: 64 });
        const read = await device.controlTransferIn({ ...setup, request: REQUEST_READ_BUFFER }, 64);
        expect(read.status).to.equal('ok');
        expect(Buffer.compare(read.data, data)).to.equal(0);
      });

      it('reports a request the device refuses as a stall', async function () {
        fixture = await target.open();
        const result = await fixture.device.controlTransferIn(
          { requestType: 'vendor', recipient: 'device', request: 0x7e, value: 0, index: 0 },
          8,
        );
        expect(result.status).to.equal('stall');
      });
    });

    describe('cancellation', function () {
      it('aborts everything outstanding when a stream is unsubscribed', async function () {
        const fn = await open('sourceSink');
        const chunks = await lastValueFrom(fn.in.stream({ transferSize: 4096, inFlight: 8 }).pipe(take(5), toArray()));
        expect(chunks).to.have.length(5);
        await fn.in.drained();
        expect(fn.in.outstanding).to.equal(0);
        const after = await fn.in.transferIn(512);
        expect(findPatternError(after.data, fn.in.packetSize)).to.equal(-1);
      });

      it('cancels a read that is waiting for data', async function () {
        requires(this, 'loopback');
        const fn = await open('loopback');
        const subscription = fn.in.read(512).subscribe({ error: () => undefined });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(fn.in.outstanding).to.equal(1);
        subscription.unsubscribe();
        await fn.in.drained();
        expect(fn.in.outstanding).to.equal(0);
        const data = testBytes(100, 5);
        const { received } = await roundTrip(fn, data);
        expect(Buffer.compare(received.data, data)).to.equal(0);
      });

      it('errors a pending read with AbortedError when the device closes', async function () {
        requires(this, 'loopback');
        const fn = await open('loopback');
        const pending = fn.in.transferIn(512).catch((e: unknown) => e);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await fn.device.close();
        const error = await pending;
        expect(error).to.be.instanceOf(AbortedError);
        expect(() => fn.in.read(1)).to.throw(ClosedError);
      });
    });

    describe('timeouts', function () {
      it('fails a read that gets no data with TimeoutError', async function () {
        requires(this, 'loopback');
        const fn = await open('loopback');
        const started = Date.now();
        const error = await fn.in.transferIn(512, { timeout: 200 }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TimeoutError);
        expect(Date.now() - started).to.be.at.least(150);
        await fn.in.drained();
      });
    });

    describe('halt and clearHalt', function () {
      it('reports a halted IN endpoint as a stall, errors a stream with StallError, and recovers', async function () {
        requires(this, 'halt');
        const fn = await open('sourceSink');
        const address = 0x80 | fn.in.endpointNumber;
        const halt = await fn.device.controlTransferOut({
          requestType: 'standard',
          recipient: 'endpoint',
          request: SET_FEATURE,
          value: ENDPOINT_HALT,
          index: address,
        });
        expect(halt.status).to.equal('ok');
        expect((await fn.in.transferIn(512)).status).to.equal('stall');
        const streamError = await lastValueFrom(fn.in.stream({ transferSize: 512 })).catch((e: unknown) => e);
        expect(streamError).to.be.instanceOf(StallError);
        await fn.in.drained();
        await fn.in.clearHalt();
        const result = await fn.in.transferIn(512);
        expect(result.status).to.equal('ok');
        expect(findPatternError(result.data, fn.in.packetSize)).to.equal(-1);
      });
    });

    describe('disconnect', function () {
      it('errors every open Observable with DisconnectedError when the device goes away mid-transfer', async function () {
        requires(this, 'disconnect');
        const fn = await open('sourceSink');
        let chunks = 0;
        const streaming = lastValueFrom(fn.in.stream({ transferSize: 4096, inFlight: 4 }).pipe(tap(() => chunks++))).catch(
          (e: unknown) => e,
        );
        // A single read, not a second stream ended by take(1): its cancel would abort the whole
        // pipe on the dext backend, ending the stream above with AbortedError before the unplug.
        await fn.in.transferIn(512);
        while (chunks < 4) await new Promise((resolve) => setTimeout(resolve, 5));
        await target.disconnect!();
        try {
          expect(await streaming).to.be.instanceOf(DisconnectedError);
          const next = await fn.in.transferIn(512).catch((e: unknown) => e);
          expect(next).to.be.instanceOf(DisconnectedError);
          await fn.in.drained();
          await fn.device.close();
        } finally {
          await target.reconnect!();
        }
        const again = await open('sourceSink');
        const result = await again.in.transferIn(512);
        expect(findPatternError(result.data, again.in.packetSize)).to.equal(-1);
      });

      it('reports the removal and the return as hotplug events', async function () {
        requires(this, 'disconnect', 'hotplug');
        fixture = await target.open();
        const events: HotplugEvent[] = [];
        const seen = firstValueFrom(
          fixture.usb.hotplug().pipe(
            filter((event) => event.device.descriptor.productId === 0xa4a0),
            tap((event) => events.push(event)),
            takeWhile((event) => event.type !== 'attach', true),
            toArray(),
          ),
        );
        await target.disconnect!();
        await fixture.device.close();
        fixture = null;
        await target.reconnect!();
        await seen;
        expect(events.map((e) => e.type)).to.deep.equal(['detach', 'attach']);
      });
    });

    describe('bad arguments', function () {
      it('rejects bad lengths, paths and directions before anything reaches the backend', async function () {
        const fn = await open('sourceSink');
        expect(() => fn.in.read(-1)).to.throw(RangeError);
        expect(() => fn.in.read(1.5)).to.throw(TypeError);
        expect(() => fn.in.read('8' as unknown as number)).to.throw(TypeError);
        expect(() => fn.in.read(TRANSFER_LENGTH_MAX + 1)).to.throw(RangeError);
        expect(() => fn.in.read(8, { timeout: -1 })).to.throw(RangeError);
        expect(() => fn.in.read(8, { path: 'sideways' as 'mapped' })).to.throw(TypeError);
        expect(() => fn.in.read(MAPPED_TRANSFER_MAX + 1, { path: 'mapped' })).to.throw(RangeError);
        expect(() => fn.out.read(8)).to.throw(TypeError);
        expect(() => fn.in.write(new Uint8Array(8))).to.throw(TypeError);
        expect(() => fn.out.write('text' as unknown as Uint8Array)).to.throw(TypeError);
        expect(() => fn.in.stream({ transferSize: 512, inFlight: 0 })).to.throw(RangeError);
        expect(() => fn.in.stream({ transferSize: 0 })).to.throw(RangeError);
        expect(() => fn.out.writeFrom(42 as unknown as AsyncIterable<Uint8Array>)).to.throw(TypeError);
        expect(fn.in.outstanding).to.equal(0);
      });

      it('rejects bad control setups, endpoints and interfaces', async function () {
        const fn = await open('sourceSink');
        const setup = { requestType: 'vendor', recipient: 'device', request: 0x5c, value: 0, index: 0 } as const;
        expect(() => fn.device.controlIn({ ...setup, requestType: 'weird' as 'vendor' }, 8)).to.throw(TypeError);
        expect(() => fn.device.controlIn({ ...setup, value: 0x10000 }, 8)).to.throw(RangeError);
        expect(() => fn.device.controlIn(setup, 0x10000)).to.throw(RangeError);
        expect(() => fn.device.controlIn(null as unknown as typeof setup, 8)).to.throw(TypeError);
        await expectRejection(fn.device.openPipe('in', 14), RangeError);
        await expectRejection(fn.device.openPipe('in', 0), RangeError);
        await expectRejection(fn.device.openPipe('sideways' as 'in', 1), TypeError);
        await expectRejection(fn.device.claimInterface(42), RangeError);
        await expectRejection(fn.device.selectConfiguration(99), RangeError);
      });

      it('throws ClosedError, a TypeError, on use after close', async function () {
        const fn = await open('sourceSink');
        await fn.device.close();
        expect(() => fn.in.read(8)).to.throw(ClosedError);
        expect(() => fn.in.read(8)).to.throw(TypeError);
        expect(() => fn.device.controlIn({ requestType: 'vendor', recipient: 'device', request: 0x5c, value: 0, index: 0 }, 8)).to.throw(ClosedError);
        await expectRejection(fn.device.openPipe('in', 1), ClosedError);
        await fn.device.close();
      });
    });

    const context: SuiteContext = { name, target: () => target, openDevice, otherClient: () => target.otherClient(), open, requires };
    dataPathCases(context);
    deviceStateCases(context);
    streamAdapterCases(context);
  });
}
