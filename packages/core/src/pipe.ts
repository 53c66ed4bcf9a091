/**
 * A pipe: one bulk or interrupt endpoint of a claimed interface, with single transfers, streams
 * and halt recovery.
 *
 * @module
 */
import { firstValueFrom, Observable } from 'rxjs';
import type { BackendPipe, Completion } from './backend.js';
import type { Direction, EndpointType } from './descriptors.js';
import { ClosedError, type DisconnectedError, errorForStatus } from './errors.js';
import { inStream } from './in-stream.js';
import { outStream, type ChunkSource } from './out-stream.js';
import { copyOut, NO_SLOT, PipeCore, type TransferSpec } from './pipe-core.js';
import { MAPPED_TRANSFER_MAX, planPath, type TransferPath } from './planner.js';
import {
  IN_FLIGHT_MAX,
  type InResult,
  type LeasedInResult,
  type OutResult,
  type StreamOptions,
  type TransferOptions,
  type WriteFromOptions,
  type WriteOptions,
} from './results.js';
import { checkBytes, checkInteger, checkLength, checkTimeout } from './validate.js';

/**
 * One bulk or interrupt endpoint, opened with {@link Device.openPipe}.
 *
 * Every transfer method returns a cold Observable: nothing moves until you subscribe, and
 * unsubscribing before the result cancels the transfer. The planner sends transfers of at most
 * {@link MAPPED_TRANSFER_MAX} bytes through a mapped slot and larger ones straight from or into
 * your buffer; each result says which `path` it took.
 *
 * @example
 * ```ts
 * const pipe = await device.openPipe('in', 1);
 * const { data, path } = await pipe.transferIn(512);
 * pipe.stream({ transferSize: 65536, inFlight: 8 }).subscribe((chunk) => sink.write(chunk));
 * ```
 */
export class Pipe {
  readonly #core: PipeCore;
  readonly #onClose: (pipe: Pipe) => void;

  /** @internal Pipes are made by {@link Device.openPipe}. */
  constructor(backend: BackendPipe, onClose: (pipe: Pipe) => void) {
    this.#core = new PipeCore(backend);
    this.#onClose = onClose;
  }

  /** `'in'` (device to host) or `'out'`. */
  get direction(): Direction {
    return this.#core.backend.direction;
  }

  /** The endpoint number, 1 to 15 (the address without its direction bit). */
  get endpointNumber(): number {
    return this.#core.backend.endpointNumber;
  }

  /** `'bulk'` or `'interrupt'`. */
  get type(): EndpointType {
    return this.#core.backend.type;
  }

  /** The endpoint's wMaxPacketSize. */
  get packetSize(): number {
    return this.#core.backend.packetSize;
  }

  /** Transfers submitted and not yet completed (cancelled ones count until they are reaped). */
  get outstanding(): number {
    return this.#core.outstanding;
  }

  /**
   * Reads up to `length` bytes.
   *
   * @throws TypeError / RangeError for a bad length or option, or an OUT pipe;
   *   {@link ClosedError} after close.
   * @returns a cold Observable of one {@link InResult}; it errors with `TimeoutError`,
   *   `DisconnectedError` or `AbortedError`.
   */
  read(length: number, options: TransferOptions = {}): Observable<InResult> {
    const spec = this.#inSpec('read', length, options);
    return this.#transfer(spec, (completion, slot) => ({
      status: completion.status as InResult['status'],
      data:
        slot === NO_SLOT
          ? spec.buffer!.subarray(0, completion.bytes)
          : copyOut(this.#core.backend.slots[slot]!, completion.bytes),
      path: spec.path,
    }));
  }

  /**
   * Reads up to `length` (at most {@link MAPPED_TRANSFER_MAX}) bytes into a mapped slot and hands
   * out the slot itself instead of a copy. Call `release()` on the result when done with `data`.
   *
   * @throws RangeError when `length` exceeds a slot; TypeError for an OUT pipe;
   *   {@link ClosedError} after close.
   * @example
   * ```ts
   * const lease = await firstValueFrom(pipe.readLeased(512));
   * try {
   *   handle(lease.data); // a view of the slot: no copy
   * } finally {
   *   lease.release();
   * }
   * ```
   */
  readLeased(length: number, options: Omit<TransferOptions, 'path'> = {}): Observable<LeasedInResult> {
    const spec = this.#inSpec('readLeased', length, { ...options, path: 'mapped' });
    return this.#transfer(
      spec,
      (completion, slot) => {
        let held = true;
        return {
          status: completion.status as InResult['status'],
          data: this.#core.backend.slots[slot]!.subarray(0, completion.bytes),
          path: 'mapped' as const,
          release: () => {
            if (held) this.#core.pool.release(slot);
            held = false;
          },
        };
      },
      true,
    );
  }

  /**
   * Writes `data`. On the descriptor path the device reads your buffer itself: leave it unchanged
   * until the result arrives.
   *
   * @throws TypeError / RangeError for bad data or options, or an IN pipe; {@link ClosedError} after close.
   * @returns a cold Observable of one {@link OutResult}.
   */
  write(data: Uint8Array | ArrayBufferView | ArrayBuffer, options: WriteOptions = {}): Observable<OutResult> {
    this.#require('out', 'write');
    const bytes = checkBytes('data', data);
    checkLength('data.byteLength', bytes.byteLength);
    const spec: TransferSpec = {
      path: this.#plan(bytes.byteLength, options.path),
      length: bytes.byteLength,
      timeout: checkTimeout(options.timeout, 0),
      zlp: options.zlp === true,
      data: bytes,
      buffer: null,
    };
    return this.#transfer(spec, (completion) => ({
      status: completion.status as OutResult['status'],
      bytesWritten: completion.bytes,
      path: spec.path,
    }));
  }

  /**
   * `read` as a Promise (WebUSB's name).
   *
   * @throws as {@link Pipe.read}; the Promise rejects where the Observable errors.
   */
  transferIn(length: number, options?: TransferOptions): Promise<InResult> {
    return firstValueFrom(this.read(length, options));
  }

  /**
   * `write` as a Promise (WebUSB's name).
   *
   * @throws as {@link Pipe.write}; the Promise rejects where the Observable errors.
   */
  transferOut(data: Uint8Array | ArrayBufferView | ArrayBuffer, options?: WriteOptions): Promise<OutResult> {
    return firstValueFrom(this.write(data, options));
  }

  /**
   * Streams from an IN pipe: keeps `inFlight` transfers of `transferSize` bytes queued and emits
   * each chunk as it arrives, in order. Unsubscribing aborts everything outstanding; the pipe is
   * idle again once {@link drained} resolves. A stall errors the stream with `StallError`, babble
   * with `OverflowError`.
   *
   * @throws TypeError / RangeError for bad options or an OUT pipe; {@link ClosedError} after close.
   *   The stream errors with `StallError`, `OverflowError`, `TimeoutError`, `DisconnectedError`
   *   or `AbortedError`.
   * @example
   * ```ts
   * // 64 MiB in 64 KiB transfers, 8 queued; take() unsubscribes, which aborts the rest
   * const bytes = await lastValueFrom(
   *   pipe.stream({ transferSize: 65536, inFlight: 8 }).pipe(
   *     take(1024),
   *     reduce((sum, chunk) => sum + chunk.length, 0),
   *   ),
   * );
   * await pipe.drained();
   * ```
   */
  stream(options: StreamOptions): Observable<Uint8Array> {
    this.#require('in', 'stream');
    const transferSize = checkLength('transferSize', options.transferSize, 1);
    const path = this.#plan(transferSize, options.path);
    const inFlight = checkInteger('inFlight', options.inFlight ?? 4, 1, IN_FLIGHT_MAX);
    return inStream(this.#core, { transferSize, inFlight, timeout: checkTimeout(options.timeout, 0), path });
  }

  /**
   * Writes every chunk of `source` to an OUT pipe, `inFlight` at a time, and emits one
   * {@link OutResult} per chunk in order; completes when the source has completed and every write
   * is done. Unsubscribing aborts the writes and stops the source.
   *
   * An AsyncIterable source is pulled only when a write can start; an Observable source cannot be
   * paused, so its chunks wait in a queue of at most `highWaterMark` chunks, past which the write
   * errors with `BackpressureError`.
   *
   * @throws TypeError / RangeError for bad options, a source that is neither an Observable nor an
   *   AsyncIterable, or an IN pipe; {@link ClosedError} after close. The Observable errors with the
   *   first failed write's error (`StallError`, `TimeoutError`, ...) or the source's own error.
   * @example
   * ```ts
   * import { createReadStream } from 'node:fs';
   * // A Readable is an AsyncIterable of Buffers: read 64 KiB at a time, as the pipe takes them.
   * const file = createReadStream('capture.bin', { highWaterMark: 65536 });
   * await lastValueFrom(pipe.writeFrom(file, { inFlight: 4 }));
   * ```
   */
  writeFrom(source: ChunkSource, options: WriteFromOptions = {}): Observable<OutResult> {
    this.#require('out', 'writeFrom');
    const isSource =
      typeof source === 'object' &&
      source !== null &&
      (typeof (source as { subscribe?: unknown }).subscribe === 'function' ||
        typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function');
    if (!isSource) throw new TypeError('source must be an Observable or an AsyncIterable of Uint8Array');
    return outStream(this.#core, source, {
      inFlight: checkInteger('inFlight', options.inFlight ?? 4, 1, IN_FLIGHT_MAX),
      timeout: checkTimeout(options.timeout, 0),
      zlp: options.zlp === true,
      highWaterMark: checkInteger('highWaterMark', options.highWaterMark ?? 64, 1, 1 << 20),
    });
  }

  /**
   * Clears a halt (stall) on the endpoint and resets its data toggle.
   *
   * @throws {@link ClosedError} after close; rejects with `DisconnectedError` when the device is gone.
   * @example
   * ```ts
   * const result = await pipe.transferIn(512);
   * if (result.status === 'stall') await pipe.clearHalt();
   * ```
   */
  async clearHalt(): Promise<void> {
    this.#core.assertOpen('clearHalt');
    const failure = this.#core.failure;
    if (failure) throw failure;
    await this.#core.backend.clearHalt();
  }

  /** Resolves when no transfer is outstanding: after a stream's teardown, once every abort is reaped. */
  drained(): Promise<void> {
    return this.#core.drained();
  }

  /**
   * Aborts what is outstanding (those Observables error with `AbortedError`) and closes the pipe.
   * Resolves once every transfer is reaped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#core.failure instanceof ClosedError) return;
    this.#core.fail(new ClosedError('the pipe is closed'));
    this.#onClose(this);
    await this.#core.backend.close();
    await this.#core.drained();
  }

  /** @internal The device went away: waiting transfers fail; the backend completes the rest. */
  disconnected(error: DisconnectedError): void {
    this.#core.fail(error);
  }

  #require(direction: Direction, method: string): void {
    this.#core.assertOpen(method);
    if (this.direction !== direction) {
      throw new TypeError(
        `${method} needs an ${direction.toUpperCase()} pipe; endpoint ${this.endpointNumber} is ${this.direction.toUpperCase()}`,
      );
    }
  }

  #plan(length: number, path: TransferPath | undefined): TransferPath {
    return planPath(length, path, this.#core.backend.descriptorMinLength);
  }

  #inSpec(method: string, length: number, options: TransferOptions): TransferSpec {
    this.#require('in', method);
    checkLength('length', length);
    const path = this.#plan(length, options.path);
    return {
      path,
      length,
      timeout: checkTimeout(options.timeout, 0),
      zlp: false,
      data: null,
      buffer: path === 'descriptor' ? new Uint8Array(length) : null,
    };
  }

  /**
   * Runs one transfer as a cold Observable. `toResult` builds the value for `'ok'`, `'stall'` and
   * `'babble'`; the other statuses are errors. With `keepSlot` the result owns the slot.
   */
  #transfer<T>(spec: TransferSpec, toResult: (completion: Completion, slot: number) => T, keepSlot = false): Observable<T> {
    const core = this.#core;
    return new Observable<T>((subscriber) => {
      const failure = core.failure;
      if (failure) {
        subscriber.error(failure);
        return;
      }
      return core.start(spec, (completion, slot) => {
        const isResult = completion.status === 'ok' || completion.status === 'stall' || completion.status === 'babble';
        const value = isResult && !subscriber.closed ? toResult(completion, slot) : null;
        if (slot !== NO_SLOT && !(keepSlot && value !== null)) core.pool.release(slot);
        if (subscriber.closed) return;
        if (value === null) {
          subscriber.error(errorForStatus(completion.status as Exclude<Completion['status'], 'ok'>, completion.message));
          return;
        }
        subscriber.next(value);
        subscriber.complete();
      });
    });
  }
}


