/**
 * Backpressure on IN and the Node.js stream adapters: `pipe.chunks()` reads only as fast as it is
 * read, and `createReadStream` / `createWriteStream` carry bytes through `pipeline()` unchanged.
 */
import { createReadStream, createWriteStream, TimeoutError } from '@dextio/core';
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { testBytes } from '../../support/bytes.js';
import { fillPattern, findPatternError } from '../../support/gadget-zero.js';
import { until } from '../../support/until.js';
import type { SuiteContext } from '../suite.js';

/**
 * Chunks on both paths, the last one ending in a short packet: a device that gathers packets into
 * transfers (f_loopback, the fake) sends what it holds only at a short packet or a full transfer.
 */
const ECHO_SIZES = Array.from({ length: 24 }, (_, i) => [512, 4096, 5000][i % 3]!);

/**
 * Reads in transfers of this size, a multiple of the packet size: a packet never overruns one.
 * It is at least the largest chunk, because the embedded gadget echoes a whole OUT transfer into
 * one IN transfer.
 */
const ECHO_READ_SIZE = 8192;

/** Collects `source` until `total` bytes have come, then leaves it (which cancels its reads). */
async function readBack(source: AsyncIterable<Uint8Array>, total: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    received += chunk.length;
    if (received >= total) break;
  }
  return Buffer.concat(parts);
}

/** The first offset where `a` and `b` differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

export function streamAdapterCases(s: SuiteContext): void {
  describe('stream adapters', function () {
    describe('through Loopback', function () {
      beforeEach(function () {
        s.requires(this, 'loopback');
      });

      for (const reader of ['createReadStream', 'pipe.chunks'] as const) {
        it(`echoes a pipeline() into createWriteStream of 512/4096/5000-byte chunks, read back with ${reader}`, async function () {
          const fn = await s.open('loopback');
          const sent = ECHO_SIZES.map((size, i) => testBytes(size, i + 1));
          const expected = Buffer.concat(sent);
          const options = { transferSize: ECHO_READ_SIZE, timeout: 10_000 };
          const source = reader === 'createReadStream' ? createReadStream(fn.in, options) : fn.in.chunks(options);
          // IN and OUT in flight together: a real Loopback holds only so much before OUT waits.
          const [received] = await Promise.all([
            readBack(source, expected.length),
            pipeline(Readable.from(sent), createWriteStream(fn.out, { inFlight: 4, timeout: 10_000 })),
          ]);
          expect(received.length).to.equal(expected.length);
          expect(firstDifference(received, expected), 'first byte that differs').to.equal(-1);
          await fn.in.drained();
          await fn.out.drained();
          expect(fn.in.outstanding).to.equal(0);
          expect(fn.out.outstanding).to.equal(0);
        });
      }

      it('destroys a read stream with TimeoutError when no data comes, and leaves the pipe idle', async function () {
        const fn = await s.open('loopback');
        const stream = createReadStream(fn.in, { transferSize: 512, timeout: 200 });
        const error = await new Promise((resolve) => {
          stream.once('error', resolve);
          stream.resume();
        });
        expect(error).to.be.instanceOf(TimeoutError);
        expect(stream.destroyed).to.equal(true);
        await fn.in.drained();
        expect(fn.in.outstanding).to.equal(0);
      });
    });

    describe('through SourceSink', function () {
      it('reads pipe.chunks() no faster than a slow consumer takes them, and break leaves the pipe drained', async function () {
        const fn = await s.open('sourceSink');
        const inFlight = 4;
        let taken = 0;
        let most = 0;
        for await (const chunk of fn.in.chunks({ transferSize: 512, inFlight })) {
          expect(chunk.length).to.equal(512);
          expect(findPatternError(chunk, fn.in.packetSize)).to.equal(-1);
          // SourceSink always has data: a reader that pushed would keep inFlight reads outstanding.
          // This one submits a read only per chunk taken, so while the consumer dawdles every
          // queued read completes and nothing takes its place.
          await until(
            'every queued read has completed',
            () => {
              most = Math.max(most, fn.in.outstanding);
              return fn.in.outstanding === 0;
            },
            5000,
          );
          if (++taken === 12) break;
        }
        expect(most, 'transfers outstanding at once').to.be.at.most(inFlight);
        await fn.in.drained();
        expect(fn.in.outstanding).to.equal(0);
        const after = await fn.in.transferIn(512);
        expect(findPatternError(after.data, fn.in.packetSize)).to.equal(-1);
      });

      it('carries IN to OUT with pipeline(createReadStream, createWriteStream)', async function () {
        const fn = await s.open('sourceSink');
        const total = 256 * 1024;
        let carried = 0;
        await pipeline(
          createReadStream(fn.in, { transferSize: 4096, inFlight: 4 }),
          // A Readable may join chunks; every one is whole 4096-byte transfers, so each still
          // starts at a packet boundary, where the pattern starts.
          async function* (source: AsyncIterable<Uint8Array>) {
            for await (const chunk of source) {
              expect(findPatternError(chunk, fn.in.packetSize)).to.equal(-1);
              yield chunk;
              carried += chunk.length;
              if (carried >= total) return;
            }
          },
          createWriteStream(fn.out, { inFlight: 4 }),
        );
        expect(carried).to.be.at.least(total);
        await fn.in.drained();
        await fn.out.drained();
        expect(fn.in.outstanding).to.equal(0);
        // Where the target checks the sink's data, a bad packet would have halted OUT.
        const next = await fn.out.transferOut(fillPattern(new Uint8Array(512), fn.out.packetSize));
        expect(next.status).to.equal('ok');
      });
    });
  });
}
