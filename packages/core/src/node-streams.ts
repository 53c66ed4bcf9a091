/**
 * Node.js streams over pipes, for code written against `serialport` or `node:stream`:
 * {@link createReadStream} and {@link createWriteStream} work with `pipe()`, `pipeline()` and
 * `for await`, with Node's `highWaterMark` as the backpressure.
 *
 * @module
 */
import { Readable, Writable } from 'node:stream';
import type { Subscription } from 'rxjs';
import { AbortedError, errorForStatus } from './errors.js';
import type { Pipe } from './pipe.js';
import { MAPPED_TRANSFER_MAX } from './planner.js';
import { IN_FLIGHT_MAX, type StreamOptions, type WriteOptions } from './results.js';
import { checkInteger, checkOptions } from './validate.js';

/** Options of {@link createReadStream}: those of {@link Pipe.chunks}, and the Readable's buffer. */
export interface ReadStreamOptions extends StreamOptions {
  /**
   * Bytes the Readable holds before it stops asking the pipe for more (Node's `highWaterMark`).
   * Default: Node's default for byte streams.
   */
  readonly highWaterMark?: number;
}

/** Options of {@link createWriteStream}. */
export interface WriteStreamOptions {
  /** Writes kept queued on the pipe, 1 to 64. Default 4. */
  readonly inFlight?: number;
  /** Per-write timeout in milliseconds; 0 (the default) waits forever. */
  readonly timeout?: number;
  /** As for {@link WriteOptions.zlp}, applied to every chunk. */
  readonly zlp?: boolean;
  /**
   * Bytes the Writable buffers before `write()` returns `false` (Node's `highWaterMark`); chunks
   * larger than 4096 bytes count until their write completes. Default: Node's default for byte
   * streams.
   */
  readonly highWaterMark?: number;
}

const WRITE_STREAM_OPTIONS = ['inFlight', 'timeout', 'zlp', 'highWaterMark'] as const;
const EMPTY = new Uint8Array(0);

/**
 * A Readable of the bytes an IN pipe receives. It reads through {@link Pipe.chunks}, and only
 * when Node asks for more, so a paused or slow consumer stops the reads once `highWaterMark`
 * bytes wait: the device is held off with NAKs and nothing is lost or buffered without bound.
 *
 * The stream never ends by itself. `destroy()` cancels the outstanding transfers (the pipe is idle
 * once `pipe.drained()` resolves); a failed transfer destroys it with the typed error
 * (`TimeoutError`, `StallError`, `DisconnectedError`, ...). A byte stream has no packets, so a
 * zero-length packet adds nothing to it.
 *
 * @param pipe - an IN pipe.
 * @param options - as for {@link Pipe.chunks}, plus the Readable's `highWaterMark`.
 * @throws TypeError / RangeError for bad options or an OUT pipe; `ClosedError` after close.
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createWriteStream as fileStream } from 'node:fs';
 * // Until Ctrl-C: the file's pace sets the pipe's.
 * await pipeline(createReadStream(pipe, { transferSize: 65536, inFlight: 4 }), fileStream('capture.bin'));
 * ```
 */
export function createReadStream(pipe: Pipe, options: ReadStreamOptions): Readable {
  const { highWaterMark, ...streamOptions } = options;
  return new PipeReadStream(pipe.chunks(streamOptions), highWaterMark);
}

/**
 * A Writable that sends each chunk as one OUT transfer, its path picked by its size, with up to
 * `inFlight` writes queued on the pipe. `end()` finishes once every write has completed;
 * `destroy()` cancels what is outstanding; a failed write destroys it with the typed error
 * (`StallError`, `TimeoutError`, `DisconnectedError`, ...), and a chunk above 8 MiB, which no
 * single transfer carries, with a `RangeError`. An empty chunk is sent as a zero-length packet.
 *
 * Node may reuse a chunk's memory once its write callback has run. A chunk of at most 4096 bytes
 * is copied, and its callback runs at once while fewer than `inFlight` writes are outstanding. A
 * larger chunk is read by the device straight from your buffer, so its callback runs when its
 * write completes; meanwhile Node buffers the chunks written after it, up to `highWaterMark`
 * bytes, and then hands them over together. So for such chunks a `highWaterMark` of `inFlight`
 * times the chunk size lets `inFlight` writes go out at once. (Copying them instead would cost
 * what the descriptor path exists to save.)
 *
 * @param pipe - an OUT pipe.
 * @param options - writes in flight, per-write timeout, ZLPs and the Writable's `highWaterMark`.
 * @throws TypeError / RangeError for bad options or an IN pipe; `ClosedError` after close.
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createReadStream as fileStream } from 'node:fs';
 * await pipeline(
 *   fileStream('firmware.bin'),
 *   createWriteStream(pipe, { inFlight: 4, highWaterMark: 4 * 65536 }),
 * );
 * ```
 */
export function createWriteStream(pipe: Pipe, options?: WriteStreamOptions): Writable {
  const checked = checkOptions<WriteStreamOptions>('options', options, WRITE_STREAM_OPTIONS);
  const inFlight = checkInteger('inFlight', checked.inFlight ?? 4, 1, IN_FLIGHT_MAX);
  const writeOptions: WriteOptions = {
    ...(checked.timeout !== undefined && { timeout: checked.timeout }),
    ...(checked.zlp !== undefined && { zlp: checked.zlp }),
  };
  // A write is cold: building one checks the pipe and the options now, rather than at the first
  // chunk, and sends nothing.
  pipe.write(EMPTY, writeOptions);
  return new PipeWriteStream(pipe, writeOptions, inFlight, checked.highWaterMark);
}

class PipeReadStream extends Readable {
  readonly #source: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterator<Uint8Array>, highWaterMark: number | undefined) {
    super({ highWaterMark });
    this.#source = source;
  }

  // Node calls this again only after a push, so one chunk is asked for at a time; the reader
  // keeps its `inFlight` transfers queued meanwhile.
  override _read(): void {
    this.#source.next().then(
      (result) => {
        if (!this.destroyed) this.push(result.done ? null : result.value);
      },
      (error: unknown) => this.destroy(error as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const done = () => callback(error);
    if (this.#source.return) this.#source.return().then(done, done);
    else done();
  }
}

/** One chunk handed to the pipe. */
interface Write {
  readonly data: Uint8Array;
  /** The device reads the caller's own buffer: the chunk's callback waits for the write. */
  readonly borrowed: boolean;
  subscription: Subscription | null;
}

class PipeWriteStream extends Writable {
  /** Writes subscribed and not yet completed. */
  readonly #outstanding = new Set<Write>();
  /** Chunks of the current `_write` / `_writev` call that wait for room under `inFlight`. */
  readonly #waiting: Write[] = [];
  /** The callback of the `_write` / `_writev` call in progress, until its chunks may be let go. */
  #callback: ((error?: Error | null) => void) | null = null;
  /** Borrowed chunks of that call whose writes have not completed. */
  #borrowed = 0;
  #final: ((error?: Error | null) => void) | null = null;
  #stopped = false;
  readonly #pipe: Pipe;
  readonly #writeOptions: WriteOptions;
  readonly #inFlight: number;

  constructor(pipe: Pipe, writeOptions: WriteOptions, inFlight: number, highWaterMark: number | undefined) {
    super({ highWaterMark });
    this.#pipe = pipe;
    this.#writeOptions = writeOptions;
    this.#inFlight = inFlight;
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#accept([chunk], callback);
  }

  override _writev(chunks: { chunk: Uint8Array }[], callback: (error?: Error | null) => void): void {
    this.#accept(chunks.map((c) => c.chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#final = callback;
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stop();
    const pending = this.#callback;
    this.#callback = null;
    this.#final = null;
    callback(error);
    // The write in progress will never complete: Node errs the writes buffered behind it (and
    // their callbacks) only once its callback has run.
    if (pending) process.nextTick(pending, error ?? new AbortedError('the stream was destroyed before the write completed'));
  }

  #accept(chunks: Uint8Array[], callback: (error?: Error | null) => void): void {
    for (const chunk of chunks) {
      // A chunk that fits a mapped slot waits in the pipe's queue until a slot is free, after its
      // callback: a copy of at most 4096 bytes costs less than the transfer around it. A larger
      // chunk goes to the device as it is, as the descriptor path promises: no copy.
      const borrowed = chunk.byteLength > MAPPED_TRANSFER_MAX;
      this.#waiting.push({ data: borrowed ? chunk : new Uint8Array(chunk), borrowed, subscription: null });
      if (borrowed) this.#borrowed++;
    }
    this.#callback = callback;
    this.#pump();
  }

  /** Starts waiting writes while there is room, then lets go of what may be let go. */
  #pump(): void {
    while (!this.#stopped && this.#waiting.length > 0 && this.#outstanding.size < this.#inFlight) {
      this.#start(this.#waiting.shift()!);
    }
    if (this.#stopped) return;
    const callback = this.#callback;
    if (callback && this.#waiting.length === 0 && this.#borrowed === 0 && this.#outstanding.size < this.#inFlight) {
      this.#callback = null;
      callback();
    }
    const final = this.#final;
    if (final && this.#outstanding.size === 0 && this.#waiting.length === 0) {
      this.#final = null;
      final();
    }
  }

  #start(write: Write): void {
    this.#outstanding.add(write);
    try {
      const subscription = this.#pipe.write(write.data, this.#writeOptions).subscribe({
        next: (result) => {
          if (result.status !== 'ok') this.#fail(errorForStatus(result.status));
        },
        error: (error: unknown) => this.#fail(error),
        complete: () => this.#completed(write),
      });
      if (this.#stopped) subscription.unsubscribe();
      else write.subscription = subscription;
    } catch (error) {
      this.#fail(error);
    }
  }

  #completed(write: Write): void {
    if (this.#stopped) return;
    this.#outstanding.delete(write);
    if (write.borrowed) this.#borrowed--;
    this.#pump();
  }

  /** Ends the stream with `error`: through the pending callback when Node waits on one. */
  #fail(error: unknown): void {
    if (this.#stopped) return;
    this.#stop();
    const callback = this.#callback ?? this.#final;
    this.#callback = null;
    this.#final = null;
    if (callback) callback(error as Error);
    else this.destroy(error as Error);
  }

  /** Cancels every outstanding write and drops the waiting ones. */
  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#waiting.length = 0;
    for (const write of this.#outstanding) write.subscription?.unsubscribe();
    this.#outstanding.clear();
  }
}
