/**
 * The data path's rules: one order per pipe whatever the path, backend limits as queues, teardown
 * and bad chunks during `writeFrom`, and leases that cannot hurt.
 */
import { AbortedError, DisconnectedError, type OutResult, type Pipe } from '@dextio/core';
import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { testBytes } from '../../support/bytes.js';
import { until } from '../../support/until.js';
import type { SuiteContext } from '../suite.js';

/** Sizes around both packet and path boundaries. */
const MIXED_SIZES = [512, 5000, 1, 4096, 4097, 511, 65536, 4095, 513, 1024, 8192, 3000];

/** Fires every write and a read of the same length for each, none awaited, in the given order. */
function fireLoopback(input: Pipe, output: Pipe, sizes: readonly number[], readsFirst: boolean) {
  const sent = sizes.map((size, i) => testBytes(size, i + 1));
  const reads: Promise<Uint8Array>[] = [];
  const writes: Promise<OutResult>[] = [];
  const read = (i: number) => reads.push(input.transferIn(sizes[i]!, { timeout: 10_000 }).then((r) => r.data));
  const write = (i: number) => writes.push(output.transferOut(sent[i]!, { timeout: 10_000 }));
  for (let i = 0; i < sizes.length; i++) {
    if (readsFirst) read(i);
    write(i);
    if (!readsFirst) read(i);
  }
  return { sent, reads: Promise.all(reads), writes: Promise.all(writes) };
}

function expectEchoed(received: readonly Uint8Array[], sent: readonly Uint8Array[]): void {
  received.forEach((data, i) => {
    // Which transfer's bytes came back instead tells a reordering from a corrupted buffer.
    const instead = sent.findIndex((bytes) => Buffer.compare(data, bytes) === 0);
    expect(Buffer.compare(data, sent[i]!), `read ${i} (${sent[i]!.length} bytes) holds transfer ${instead}`).to.equal(0);
  });
}

export function dataPathCases(s: SuiteContext): void {
  describe('one order per pipe', function () {
    beforeEach(function () {
      s.requires(this, 'loopback');
    });

    it('sends mapped writes and a descriptor write in the order they were called', async function () {
      const fn = await s.open('loopback');
      // More small writes than the pipe has slots, then one large one: the large one must wait.
      const sizes = [...Array<number>(fn.out.limits.mapped + 1).fill(512), 5000, 512];
      const { sent, reads, writes } = fireLoopback(fn.in, fn.out, sizes, true);
      expect((await writes).map((w) => w.bytesWritten)).to.deep.equal(sizes);
      expectEchoed(await reads, sent);
    });

    it('keeps the order of 64 mixed reads and writes across both paths', async function () {
      const fn = await s.open('loopback');
      const sizes = Array.from({ length: 64 }, (_, i) => MIXED_SIZES[(i * 7) % MIXED_SIZES.length]!);
      const { sent, reads, writes } = fireLoopback(fn.in, fn.out, sizes, false);
      const results = await writes;
      expect(results.map((w) => w.path)).to.deep.equal(sizes.map((n) => (n <= 4096 ? 'mapped' : 'descriptor')));
      expectEchoed(await reads, sent);
    });

    it('orders writeFrom chunks of both paths behind earlier single writes', async function () {
      const fn = await s.open('loopback');
      const sizes = [512, 512, 5000, 4096, 4097, 100, 65536, 512];
      const sent = sizes.map((size, i) => testBytes(size, 100 + i));
      const reads = Promise.all(sizes.map((size) => fn.in.transferIn(size, { timeout: 10_000 })));
      const first = fn.out.transferOut(sent[0]!);
      const rest = lastValueFrom(fn.out.writeFrom((async function* () { yield* sent.slice(1); })(), { inFlight: 4 }).pipe(toArray()));
      await first;
      expect((await rest).map((r) => r.bytesWritten)).to.deep.equal(sizes.slice(1));
      expectEchoed((await reads).map((r) => r.data), sent);
    });
  });

  describe('backend limits are queues', function () {
    it('refuses a stream inFlight above what the pipe can hold, naming the limit', async function () {
      const fn = await s.open('sourceSink');
      const { mapped, descriptor } = fn.in.limits;
      expect(mapped).to.be.greaterThan(0);
      expect(descriptor).to.be.greaterThan(0);
      expect(() => fn.in.stream({ transferSize: 512, inFlight: mapped + 1 })).to.throw(RangeError, /inFlight/);
      expect(() => fn.in.stream({ transferSize: 8192, inFlight: descriptor + 1 })).to.throw(RangeError, /inFlight/);
      expect(() => fn.in.chunks({ transferSize: 512, inFlight: mapped + 1 })).to.throw(RangeError, /inFlight/);
      // At the limit itself, a stream runs.
      const chunks = await lastValueFrom(fn.in.stream({ transferSize: 8192, inFlight: descriptor }).pipe(take(2 * descriptor), toArray()));
      expect(chunks).to.have.length(2 * descriptor);
      await fn.in.drained();
    }).timeout(20_000);

    it('queues more transfers than any limit, and waiting reads on one pipe never starve the other', async function () {
      s.requires(this, 'loopback');
      const fn = await s.open('loopback');
      const count = 2 * (fn.in.limits.descriptor + fn.in.limits.mapped);
      // Reads first: on a shared budget they would take everything the writes need.
      const sizes = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? 512 : 5000));
      const { sent, reads, writes } = fireLoopback(fn.in, fn.out, sizes, true);
      expect(fn.in.outstanding).to.equal(count);
      expect((await writes).every((w) => w.status === 'ok')).to.equal(true);
      expectEchoed(await reads, sent);
    }).timeout(30_000);
  });

  describe('writeFrom teardown and bad chunks', function () {
    beforeEach(function () {
      s.requires(this, 'loopback');
    });

    /** An AsyncIterable that yields `first` and then waits for `more` before its next chunk. */
    function pausedSource(first: Uint8Array) {
      let resume!: (chunk: Uint8Array) => void;
      const more = new Promise<Uint8Array>((resolve) => (resume = resolve));
      const state = { returned: false, waiting: false };
      async function* source() {
        try {
          yield first;
          state.waiting = true;
          yield await more;
          yield await more;
        } finally {
          state.returned = true;
        }
      }
      return { source: source(), resume, state };
    }

    it('ends with AbortedError and returns an AsyncIterable source when the device closes between chunks', async function () {
      const fn = await s.open('loopback');
      const reading = fn.in.transferIn(512, { timeout: 5000 });
      const { source, resume, state } = pausedSource(testBytes(512, 1));
      const result = lastValueFrom(fn.out.writeFrom(source)).catch((e: unknown) => e);
      await until('the source waits', () => state.waiting, 5000);
      await reading;
      await fn.device.close();
      resume(testBytes(512, 2));
      expect(await result).to.be.instanceOf(AbortedError);
      await until('the source is returned', () => state.returned, 2000);
    });

    it('ends with AbortedError and unsubscribes an Observable source when the device closes', async function () {
      const fn = await s.open('loopback');
      const subject = new Subject<Uint8Array>();
      const result = lastValueFrom(fn.out.writeFrom(subject)).catch((e: unknown) => e);
      subject.next(testBytes(512, 1));
      await fn.in.transferIn(512, { timeout: 5000 });
      await fn.device.close();
      subject.next(testBytes(512, 2)); // must not touch the closed pipe's memory
      expect(await result).to.be.instanceOf(AbortedError);
      expect(subject.observed, 'source still subscribed').to.equal(false);
    });

    it('ends an idle writeFrom with AbortedError when its pipe closes', async function () {
      const fn = await s.open('loopback');
      const subject = new Subject<Uint8Array>();
      const result = lastValueFrom(fn.out.writeFrom(subject)).catch((e: unknown) => e);
      await fn.out.close();
      expect(await result).to.be.instanceOf(AbortedError);
      expect(subject.observed).to.equal(false);
    });

    it('ends an idle writeFrom with DisconnectedError on unplug', async function () {
      s.requires(this, 'disconnect');
      const fn = await s.open('loopback');
      const { source, resume, state } = pausedSource(testBytes(512, 1));
      const result = lastValueFrom(fn.out.writeFrom(source)).catch((e: unknown) => e);
      await until('the source waits', () => state.waiting, 5000);
      await s.target().disconnect!();
      try {
        expect(await result).to.be.instanceOf(DisconnectedError);
        // An async generator runs its finally once its pending await settles.
        resume(testBytes(512, 2));
        await until('the source is returned', () => state.returned, 2000);
      } finally {
        await fn.device.close();
        await s.target().reconnect!();
      }
    });

    it('ends with TypeError, never completes, and stops the source for a chunk on a detached ArrayBuffer', async function () {
      const fn = await s.open('loopback');
      const detached = testBytes(512, 3);
      structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
      const subject = new Subject<Uint8Array>();
      let completed = false;
      const result = new Promise<unknown>((resolve) => {
        fn.out.writeFrom(subject).subscribe({ error: resolve, complete: () => ((completed = true), resolve(null)) });
      });
      subject.next(detached);
      subject.complete();
      expect(await result).to.be.instanceOf(TypeError);
      expect(completed).to.equal(false);
      expect(subject.observed).to.equal(false);
      const { state, source } = pausedSource('not bytes' as unknown as Uint8Array);
      expect(await lastValueFrom(fn.out.writeFrom(source)).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
      await until('the source is returned', () => state.returned, 2000);
    });
  });

  describe('leases', function () {
    beforeEach(function () {
      s.requires(this, 'loopback');
    });

    it('survives a stray write into leased data, and reads as empty once released', async function () {
      const fn = await s.open('loopback');
      const first = testBytes(512, 21);
      const [lease] = await Promise.all([firstValueFrom(fn.in.readLeased(512)), fn.out.transferOut(first)]);
      expect(Buffer.compare(Uint8Array.from(lease.data), first)).to.equal(0);
      // The type forbids it; a cast is what a careless caller would write. It must not crash.
      (lease.data as unknown as Uint8Array)[0] = 0xaa;
      lease.release();
      expect(lease.data.length, 'released lease').to.equal(0);
      // Every slot in turn: none of the later transfers may show through the old lease.
      const later = testBytes(512, 22);
      for (let i = 0; i < fn.in.limits.mapped + 1; i++) {
        const [again] = await Promise.all([firstValueFrom(fn.in.readLeased(512)), fn.out.transferOut(later)]);
        expect(Buffer.compare(Uint8Array.from(again.data), later)).to.equal(0);
        again.release();
      }
      expect(lease.data.length).to.equal(0);
    });

    it('types lease data as read-only', function () {
      // Checked by the compiler (npm run typecheck); never called.
      const check = (data: import('@dextio/core').LeasedInResult['data']) => {
        // @ts-expect-error leased memory is read-only
        data[0] = 1;
        // @ts-expect-error no mutating methods
        data.fill(0);
      };
      expect(check).to.be.a('function');
    });
  });
}
