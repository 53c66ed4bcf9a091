import { expect } from 'chai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Observable, type Subscriber } from 'rxjs';
import { chunks } from './chunk-reader.js';
import { AbortedError, StallError, TimeoutError } from './errors.js';
import { createReadStream, createWriteStream } from './node-streams.js';
import type { Pipe } from './pipe.js';
import type { InResult, OutResult, StreamOptions, WriteOptions } from './results.js';

/** A transfer the stub was asked for, finished by the test (or at once with `auto`). */
interface StubTransfer<T> {
  readonly subscriber: Subscriber<T>;
  readonly data: Uint8Array;
  readonly options: WriteOptions | undefined;
  finished: boolean;
  cancelled: boolean;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await turn();
};

/**
 * A stand-in for a pipe with the three methods the adapters use: `read` and `write` return
 * Observables the test finishes by hand, `chunks` is the real reader over that `read`.
 */
function stubPipe(options: { auto?: boolean } = {}) {
  const reads: StubTransfer<InResult>[] = [];
  const writes: StubTransfer<OutResult>[] = [];
  const chunkOptions: StreamOptions[] = [];
  let nextByte = 0;
  function transfer<T>(list: StubTransfer<T>[], data: Uint8Array, writeOptions: WriteOptions | undefined, finish: (t: StubTransfer<T>) => void) {
    return new Observable<T>((subscriber) => {
      const entry: StubTransfer<T> = { subscriber, data, options: writeOptions, finished: false, cancelled: false };
      list.push(entry);
      if (options.auto) setImmediate(() => !entry.cancelled && finish(entry));
      return () => {
        if (!entry.finished) entry.cancelled = true;
      };
    });
  }
  const finishRead = (entry: StubTransfer<InResult>, result: Partial<InResult> = {}) => {
    entry.finished = true;
    entry.subscriber.next({ status: 'ok', data: Uint8Array.of(nextByte++, nextByte++), path: 'mapped', ...result });
    entry.subscriber.complete();
  };
  const finishWrite = (entry: StubTransfer<OutResult>, result: Partial<OutResult> = {}) => {
    entry.finished = true;
    entry.subscriber.next({ status: 'ok', bytesWritten: entry.data.length, path: 'mapped', ...result });
    entry.subscriber.complete();
  };
  const read = (length: number) => transfer(reads, new Uint8Array(length), undefined, finishRead);
  const pipe = {
    read,
    write: (data: Uint8Array, writeOptions?: WriteOptions) => transfer(writes, data, writeOptions, finishWrite),
    chunks: (streamOptions: StreamOptions) => {
      chunkOptions.push(streamOptions);
      return chunks(read, { transferSize: streamOptions.transferSize, inFlight: streamOptions.inFlight ?? 4 });
    },
  };
  const live = <T>(list: StubTransfer<T>[]) => list.filter((t) => !t.finished && !t.cancelled);
  return {
    pipe: pipe as unknown as Pipe,
    reads,
    writes,
    chunkOptions,
    finishRead: (i: number, result?: Partial<InResult>) => finishRead(reads[i]!, result),
    finishWrite: (i: number, result?: Partial<OutResult>) => finishWrite(writes[i]!, result),
    failWrite: (i: number, error: Error) => {
      writes[i]!.finished = true;
      writes[i]!.subscriber.error(error);
    },
    liveReads: () => live(reads).length,
    liveWrites: () => live(writes).length,
  };
}

function errorOf(stream: NodeJS.EventEmitter): Promise<unknown> {
  return new Promise((resolve) => stream.once('error', resolve));
}

describe('createReadStream', function () {
  it('reads nothing until it is read, and passes the reader its options', async function () {
    const stub = stubPipe({ auto: true });
    const stream = createReadStream(stub.pipe, { transferSize: 512, inFlight: 2, timeout: 100, highWaterMark: 1024 });
    await turns(3);
    expect(stub.reads).to.have.length(0);
    expect(stub.chunkOptions).to.deep.equal([{ transferSize: 512, inFlight: 2, timeout: 100 }]);
    stream.destroy();
  });

  it('delivers the bytes in order and stops reading once highWaterMark bytes wait', async function () {
    const stub = stubPipe({ auto: true });
    const stream = createReadStream(stub.pipe, { transferSize: 2, inFlight: 2, highWaterMark: 4 });
    stream.read(0);
    await turns(10);
    // Two chunks fill the buffer; each taken chunk subscribed one more read, which now waits.
    expect(stream.readableLength).to.equal(4);
    expect(stub.reads).to.have.length(4);
    await turns(10);
    expect(stub.reads).to.have.length(4);
    const received: number[] = [];
    stream.on('data', (chunk: Buffer) => {
      received.push(...chunk);
      if (received.length >= 12) stream.destroy();
    });
    await new Promise((resolve) => stream.once('close', resolve));
    expect(received.slice(0, 12)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('cancels the outstanding reads on destroy()', async function () {
    const stub = stubPipe();
    const stream = createReadStream(stub.pipe, { transferSize: 512, inFlight: 3 });
    stream.read(0);
    await turn();
    expect(stub.liveReads()).to.equal(3);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stub.liveReads()).to.equal(0);
    expect(stub.reads.every((r) => r.cancelled)).to.equal(true);
  });

  it('is destroyed with the typed error of a failed read, after the data before it', async function () {
    const stub = stubPipe();
    const stream = createReadStream(stub.pipe, { transferSize: 2, inFlight: 2 });
    const received: number[] = [];
    stream.on('data', (chunk: Buffer) => received.push(...chunk));
    const failed = errorOf(stream);
    await turn();
    stub.finishRead(0);
    stub.finishRead(1, { status: 'stall' });
    expect(await failed).to.be.instanceOf(StallError);
    expect(received).to.deep.equal([0, 1]);
    expect(stub.liveReads()).to.equal(0);
  });

  it('throws at once for options the reader refuses', function () {
    const stub = stubPipe();
    const refusing = { ...stub.pipe, chunks: () => { throw new RangeError('inFlight must be from 1 to 64, not 0'); } };
    expect(() => createReadStream(refusing as unknown as Pipe, { transferSize: 512, inFlight: 0 })).to.throw(RangeError);
  });
});

describe('createWriteStream', function () {
  it('sends each chunk as one write, in order, at most inFlight at a time', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe, { inFlight: 2, timeout: 50, zlp: true });
    const calledBack: number[] = [];
    for (const i of [0, 1, 2]) stream.write(Uint8Array.of(i), () => calledBack.push(i));
    await turns(3);
    expect(stub.writes.map((w) => [...w.data])).to.deep.equal([[0], [1]]);
    expect(stub.writes[0]!.options).to.deep.equal({ timeout: 50, zlp: true });
    // The first chunk's callback ran at once; the second's waits for room under inFlight.
    expect(calledBack).to.deep.equal([0]);
    stub.finishWrite(0);
    await turns(3);
    // Room for one: the second chunk is let go and the third goes out, filling inFlight again.
    expect(calledBack).to.deep.equal([0, 1]);
    expect(stub.writes.map((w) => [...w.data])).to.deep.equal([[0], [1], [2]]);
    expect(stub.liveWrites()).to.equal(2);
    stub.finishWrite(1);
    await turns(3);
    expect(calledBack).to.deep.equal([0, 1, 2]);
    stream.destroy();
  });

  it('copies a chunk of at most 4096 bytes, so the caller may reuse it after the callback', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe);
    const chunk = new Uint8Array(4096).fill(7);
    await new Promise<void>((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())));
    chunk.fill(9);
    expect(stub.writes[0]!.data.every((b) => b === 7)).to.equal(true);
    stream.destroy();
  });

  it('lends a larger chunk to the pipe without a copy and calls back only when its write completes', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe, { inFlight: 4 });
    const chunk = new Uint8Array(4097);
    let calledBack = false;
    stream.write(chunk, () => (calledBack = true));
    await turns(3);
    expect(stub.writes[0]!.data.buffer).to.equal(chunk.buffer);
    expect(calledBack).to.equal(false);
    stub.finishWrite(0);
    await turns(2);
    expect(calledBack).to.equal(true);
    stream.destroy();
  });

  it('hands the large chunks Node buffered meanwhile to the pipe together', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe, { inFlight: 2, highWaterMark: 1 << 20 });
    for (let i = 0; i < 4; i++) stream.write(new Uint8Array(8192).fill(i));
    await turns(3);
    expect(stub.writes).to.have.length(1);
    stub.finishWrite(0);
    await turns(3);
    // Three chunks came in one batch: two go out, the third waits for room.
    expect(stub.writes.map((w) => w.data[0])).to.deep.equal([0, 1, 2]);
    expect(stub.liveWrites()).to.equal(2);
    stub.finishWrite(1);
    await turns(3);
    expect(stub.writes.map((w) => w.data[0])).to.deep.equal([0, 1, 2, 3]);
    stream.destroy();
  });

  it('sends an empty chunk as a zero-length write', async function () {
    const stub = stubPipe({ auto: true });
    const stream = createWriteStream(stub.pipe);
    await new Promise<void>((resolve, reject) => stream.end(new Uint8Array(0), (e?: Error | null) => (e ? reject(e) : resolve())));
    expect(stub.writes.map((w) => w.data.length)).to.deep.equal([0]);
  });

  it('finishes only when every write has completed', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe, { inFlight: 4 });
    let finished = false;
    stream.on('finish', () => (finished = true));
    stream.write(Uint8Array.of(1));
    stream.end(Uint8Array.of(2));
    await turns(3);
    expect(stub.writes).to.have.length(2);
    expect(finished).to.equal(false);
    stub.finishWrite(1);
    stub.finishWrite(0);
    await turns(2);
    expect(finished).to.equal(true);
  });

  for (const [what, fail, type] of [
    ['a stalled write', (stub: ReturnType<typeof stubPipe>) => stub.finishWrite(0, { status: 'stall' }), StallError],
    ['a write that errors', (stub: ReturnType<typeof stubPipe>) => stub.failWrite(0, new TimeoutError('slow')), TimeoutError],
  ] as const) {
    it(`is destroyed by ${what} with its typed error, cancelling the other writes`, async function () {
      const stub = stubPipe();
      const stream = createWriteStream(stub.pipe, { inFlight: 4 });
      const failed = errorOf(stream);
      stream.write(Uint8Array.of(1));
      stream.write(Uint8Array.of(2));
      await turns(3);
      fail(stub);
      expect(await failed).to.be.instanceOf(type);
      expect(stream.destroyed).to.equal(true);
      expect(stub.writes[1]!.cancelled).to.equal(true);
    });
  }

  it('cancels the outstanding writes on destroy(), and errs a write that was waiting', async function () {
    const stub = stubPipe();
    const stream = createWriteStream(stub.pipe, { inFlight: 1 });
    stream.write(Uint8Array.of(1));
    const waiting = new Promise((resolve) => stream.write(new Uint8Array(5000), resolve));
    await turns(3);
    expect(stub.liveWrites()).to.equal(1);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stub.liveWrites()).to.equal(0);
    expect(stub.writes[0]!.cancelled).to.equal(true);
    expect(await waiting).to.be.instanceOf(AbortedError);
  });

  it('checks the pipe and the options at once, sending nothing', function () {
    const stub = stubPipe();
    expect(() => createWriteStream(stub.pipe, { inflight: 2 } as never)).to.throw(TypeError, /inflight/);
    expect(() => createWriteStream(stub.pipe, { inFlight: 0 })).to.throw(RangeError);
    const refusing = { ...stub.pipe, write: () => { throw new TypeError('write needs an OUT pipe'); } };
    expect(() => createWriteStream(refusing as unknown as Pipe)).to.throw(TypeError, /OUT/);
    expect(stub.writes).to.have.length(0);
  });
});

describe('pipeline() with the adapters', function () {
  it('writes a Readable of mixed chunk sizes to the pipe', async function () {
    const stub = stubPipe({ auto: true });
    const sizes = [512, 4096, 5000, 1, 8192];
    const source = sizes.map((size, i) => new Uint8Array(size).fill(i + 1));
    await pipeline(Readable.from(source), createWriteStream(stub.pipe, { inFlight: 3 }));
    expect(stub.writes.map((w) => w.data.length)).to.deep.equal(sizes);
    stub.writes.forEach((w, i) => expect(w.data.every((b) => b === i + 1), `chunk ${i}`).to.equal(true));
  });

  it('carries an IN pipe to an OUT pipe', async function () {
    const from = stubPipe({ auto: true });
    const to = stubPipe({ auto: true });
    // A reader that ends after five chunks, so that the pipeline can finish.
    const ending = {
      ...from.pipe,
      chunks: async function* (options: StreamOptions) {
        let left = 5;
        for await (const chunk of from.pipe.chunks(options)) {
          yield chunk;
          if (--left === 0) return;
        }
      },
    };
    await pipeline(createReadStream(ending as unknown as Pipe, { transferSize: 2 }), createWriteStream(to.pipe));
    expect(to.writes.flatMap((w) => [...w.data])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(from.liveReads()).to.equal(0);
  });
});
