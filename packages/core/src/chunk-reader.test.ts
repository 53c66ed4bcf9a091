import { expect } from 'chai';
import { Observable, type Subscriber } from 'rxjs';
import { chunks } from './chunk-reader.js';
import { AbortedError, OverflowError, StallError, TimeoutError } from './errors.js';
import type { InResult } from './results.js';

/** One read the fake pipe was asked for, finished by the test. */
interface FakeRead {
  readonly length: number;
  readonly subscriber: Subscriber<InResult>;
  finished: boolean;
  cancelled: boolean;
}

/** A `read` whose Observables the test completes by hand, recording subscriptions and cancels. */
function fakeReads() {
  const reads: FakeRead[] = [];
  const read = (length: number) =>
    new Observable<InResult>((subscriber) => {
      const entry: FakeRead = { length, subscriber, finished: false, cancelled: false };
      reads.push(entry);
      return () => {
        if (!entry.finished) entry.cancelled = true;
      };
    });
  const finish = (i: number, result: Partial<InResult>) => {
    const entry = reads[i]!;
    entry.finished = true;
    entry.subscriber.next({ status: 'ok', data: Uint8Array.of(i), path: 'mapped', ...result });
    entry.subscriber.complete();
  };
  return {
    reads,
    read,
    ok: (i: number) => finish(i, {}),
    result: finish,
    fail: (i: number, error: Error) => {
      reads[i]!.finished = true;
      reads[i]!.subscriber.error(error);
    },
    outstanding: () => reads.filter((r) => !r.finished && !r.cancelled).length,
    cancelled: () => reads.filter((r) => r.cancelled).length,
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function valueOf(result: IteratorResult<Uint8Array>): number {
  expect(result.done).to.equal(false);
  return (result.value as Uint8Array)[0]!;
}

describe('chunks', function () {
  it('subscribes nothing until the first next(), then inFlight reads of transferSize', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 512, inFlight: 3 });
    await turn();
    expect(pipe.reads).to.have.length(0);
    const first = reader.next();
    expect(pipe.reads.map((r) => r.length)).to.deep.equal([512, 512, 512]);
    pipe.ok(0);
    expect(valueOf(await first)).to.equal(0);
    await reader.return!();
  });

  it('yields chunks in subscription order', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 3 });
    const first = reader.next();
    pipe.ok(2);
    pipe.ok(1);
    await turn();
    pipe.ok(0);
    expect(valueOf(await first)).to.equal(0);
    expect(valueOf(await reader.next())).to.equal(1);
    expect(valueOf(await reader.next())).to.equal(2);
    await reader.return!();
  });

  it('answers next() calls made together, in order', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 2 });
    const pending = [reader.next(), reader.next(), reader.next()];
    pipe.ok(1);
    pipe.ok(0);
    pipe.ok(2);
    expect((await Promise.all(pending)).map(valueOf)).to.deep.equal([0, 1, 2]);
    await reader.return!();
  });

  it('submits the next read only when the consumer takes a chunk, never more than inFlight', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 3 });
    const first = reader.next();
    pipe.ok(0);
    pipe.ok(1);
    pipe.ok(2);
    expect(valueOf(await first)).to.equal(0);
    // One chunk taken: one more read, and none while the consumer sits on the others.
    expect(pipe.reads).to.have.length(4);
    await turn();
    expect(pipe.reads).to.have.length(4);
    expect(pipe.outstanding()).to.equal(1);
    expect(valueOf(await reader.next())).to.equal(1);
    expect(pipe.reads).to.have.length(5);
    expect(pipe.outstanding()).to.equal(2);
    expect(valueOf(await reader.next())).to.equal(2);
    expect(pipe.reads).to.have.length(6);
    expect(pipe.outstanding()).to.equal(3);
    await reader.return!();
  });

  it('yields a zero-length packet as an empty chunk', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 512, inFlight: 1 });
    const first = reader.next();
    pipe.result(0, { data: new Uint8Array(0) });
    const result = await first;
    expect(result.done).to.equal(false);
    expect(result.value).to.be.instanceOf(Uint8Array).with.length(0);
    await reader.return!();
  });

  it("rejects with a read's error after the chunks before it, cancels the reads behind it, then is done", async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 3 });
    const first = reader.next();
    pipe.ok(0);
    // Taking chunk 0 subscribed read 3; the failure of read 1 cancels reads 2 and 3.
    pipe.fail(1, new TimeoutError('no data'));
    expect(pipe.reads.map((r) => r.cancelled)).to.deep.equal([false, false, true, true]);
    expect(valueOf(await first)).to.equal(0);
    const error = await reader.next().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TimeoutError);
    expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
    expect(pipe.reads).to.have.length(4);
  });

  for (const [status, type] of [
    ['stall', StallError],
    ['babble', OverflowError],
  ] as const) {
    it(`ends with ${type.name} on a '${status}' result`, async function () {
      const pipe = fakeReads();
      const reader = chunks(pipe.read, { transferSize: 8, inFlight: 2 });
      const first = reader.next();
      pipe.ok(0);
      pipe.result(1, { status });
      expect(valueOf(await first)).to.equal(0);
      const error = await reader.next().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(type);
      expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
    });
  }

  it('rejects with the error of a read that throws or errors while it is subscribed', async function () {
    const closed = new AbortedError('closed');
    const throwing = chunks(
      () => {
        throw closed;
      },
      { transferSize: 8, inFlight: 4 },
    );
    expect(await throwing.next().catch((e: unknown) => e)).to.equal(closed);
    expect((await throwing.next()).done).to.equal(true);

    let subscribed = 0;
    const erroring = chunks(
      () =>
        new Observable<InResult>((subscriber) => {
          subscribed++;
          subscriber.error(closed);
        }),
      { transferSize: 8, inFlight: 4 },
    );
    expect(await erroring.next().catch((e: unknown) => e)).to.equal(closed);
    expect(subscribed, 'reads after the failed one').to.equal(1);
  });

  it('cancels every outstanding read on break, and is done after', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 4 });
    setImmediate(() => pipe.ok(0));
    const seen: number[] = [];
    for await (const chunk of reader) {
      seen.push(chunk[0]!);
      break;
    }
    expect(seen).to.deep.equal([0]);
    expect(pipe.reads).to.have.length(5);
    expect(pipe.cancelled()).to.equal(4);
    expect(pipe.outstanding()).to.equal(0);
    expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
    expect(pipe.reads).to.have.length(5);
  });

  it('cancels on throw(), rejects with the error given, and ends a waiting next()', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 2 });
    const waiting = reader.next();
    const reason = new Error('consumer gave up');
    expect(await reader.throw!(reason).catch((e: unknown) => e)).to.equal(reason);
    expect(await waiting).to.deep.equal({ done: true, value: undefined });
    expect(pipe.cancelled()).to.equal(2);
    expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
  });

  it('subscribes nothing when returned before the first next()', async function () {
    const pipe = fakeReads();
    const reader = chunks(pipe.read, { transferSize: 8, inFlight: 2 });
    expect(await reader.return!()).to.deep.equal({ done: true, value: undefined });
    expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
    expect(pipe.reads).to.have.length(0);
  });

  it('keeps an error nobody asked for yet without an unhandled rejection', async function () {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pipe = fakeReads();
      const reader = chunks(pipe.read, { transferSize: 8, inFlight: 2 });
      const first = reader.next();
      pipe.ok(0);
      pipe.fail(1, new TimeoutError('late'));
      await first;
      await turn();
      await turn();
      expect(await reader.next().catch((e: unknown) => e)).to.be.instanceOf(TimeoutError);
      // A reader abandoned with an error nobody will ask for rejects nothing either.
      const other = fakeReads();
      const abandoned = chunks(other.read, { transferSize: 8, inFlight: 2 });
      const taken = abandoned.next();
      other.ok(0);
      await taken;
      other.fail(1, new TimeoutError('nobody listens'));
      await turn();
      await turn();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
  });
});
