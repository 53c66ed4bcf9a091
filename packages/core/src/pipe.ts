/**
 * A pipe: one bulk or interrupt endpoint of a claimed interface, with single transfers, streams
 * and halt recovery.
 *
 * @module
 */
import { defer, firstValueFrom, Observable } from 'rxjs';
import type { BackendPipe } from './backend.js';
import { chunks } from './chunk-reader.js';
import type { Direction, EndpointType } from './descriptors.js';
import { ClosedError, type DisconnectedError, errorForStatus } from './errors.js';
import { inStream } from './in-stream.js';
import { outStream, type ChunkSource } from './out-stream.js';
import { copyOut, NO_SLOT, PipeCore, QueuedTransfer, type CoreCompletion } from './pipe-core.js';
import { MAPPED_TRANSFER_MAX, planPath, type TransferPath } from './planner.js';
import {
  IN_FLIGHT_MAX,
  type InResult,
  type LeasedInResult,
  type OutResult,
  type PipeLimits,
  type StreamOptions,
  type TransferOptions,
  type WriteFromOptions,
  type WriteOptions,
} from './results.js';
import { checkBytes, checkInteger, checkLength, checkOptions, checkTimeout } from './validate.js';

/** What one transfer moves, before it is queued. */
interface TransferSpec {
  readonly path: TransferPath;
  readonly length: number;
  readonly timeout: number;
  readonly zlp: boolean;
  readonly data: Uint8Array | null;
  readonly buffer: Uint8Array | null;
}

const TRANSFER_OPTIONS = ['timeout', 'path'] as const;
const WRITE_OPTIONS = ['timeout', 'path', 'zlp'] as const;
const STREAM_OPTIONS = ['transferSize', 'inFlight', 'timeout', 'path'] as const;
const WRITE_FROM_OPTIONS = ['inFlight', 'timeout', 'zlp', 'highWaterMark'] as const;

/**
 * One bulk or interrupt endpoint, opened with {@link Device.openPipe}.
 *
 * Every transfer method returns a cold Observable: nothing moves until you subscribe, and
 * unsubscribing before the result cancels the transfer. The planner sends transfers of at most
 * {@link MAPPED_TRANSFER_MAX} bytes through a mapped slot and larger ones straight from or into
 * your buffer; each result says which `path` it took.
 *
 * Transfers reach the device in the order you subscribed to them, whatever their sizes and paths
 * and whether they are single transfers, stream lanes or `writeFrom` chunks. The backend's limits
 * ({@link Pipe.limits}) are a queue you never see: a transfer waits for its turn and its resource.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/pipe.ts#setup}
 */
export class Pipe {
  readonly #core: PipeCore;
  readonly #onClose: (pipe: Pipe) => void;
  #closing: Promise<void> | null = null;

  /** @internal Pipes are made by {@link Device.openPipe}. */
  constructor(backend: BackendPipe, onClose: (pipe: Pipe) => void) {
    this.#core = new PipeCore(backend);
    this.#onClose = onClose;
  }

  /**
   * `'in'` (device to host) or `'out'`.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#properties}
   */
  get direction(): Direction {
    return this.#core.backend.direction;
  }

  /**
   * The endpoint number, 1 to 15 (the address without its direction bit).
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#properties}
   */
  get endpointNumber(): number {
    return this.#core.backend.endpointNumber;
  }

  /**
   * `'bulk'` or `'interrupt'`.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#properties}
   */
  get type(): EndpointType {
    return this.#core.backend.type;
  }

  /**
   * The endpoint's wMaxPacketSize.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#properties}
   */
  get packetSize(): number {
    return this.#core.backend.packetSize;
  }

  /**
   * How many transfers of each path this pipe can have at the device at once. More may be
   * submitted: they wait in the pipe's queue. A stream's `inFlight` cannot exceed its path's limit.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#properties}
   */
  get limits(): PipeLimits {
    return { mapped: this.#core.limit('mapped'), descriptor: this.#core.limit('descriptor') };
  }

  /**
   * Transfers submitted and not yet completed, queued ones included (cancelled ones count until
   * they are reaped).
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#stream}
   */
  get outstanding(): number {
    return this.#core.outstanding + this.#core.queued;
  }

  /**
   * Reads up to `length` bytes.
   *
   * @throws TypeError / RangeError for a bad length or option, or an OUT pipe;
   *   {@link ClosedError} after close.
   * @returns a cold Observable of one {@link InResult}; it errors with `TimeoutError`,
   *   `DisconnectedError` or `AbortedError`.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#read}
   */
  read(length: number, options?: TransferOptions): Observable<InResult> {
    const spec = this.#inSpec('read', length, options);
    const slots = this.#core.backend.slots;
    return this.#transfer(spec, (completion, slot) => ({
      status: completion.status as InResult['status'],
      data: slot === NO_SLOT ? spec.buffer!.subarray(0, completion.bytes) : copyOut(slots[slot]!, completion.bytes),
      path: spec.path,
    }));
  }

  /**
   * Reads up to `length` (at most {@link MAPPED_TRANSFER_MAX}) bytes into a mapped slot and hands
   * out the slot itself instead of a copy. `data` is read-only: write into a copy. Call
   * `release()` when done with it; from then on `data` is empty (length 0), so it can never show
   * a later transfer's bytes. The slot stays out of use until then, and a pipe whose slots are all
   * leased makes later mapped transfers wait.
   *
   * @throws RangeError when `length` exceeds a slot; TypeError for an OUT pipe;
   *   {@link ClosedError} after close.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#readLeased}
   */
  readLeased(length: number, options?: Omit<TransferOptions, 'path'>): Observable<LeasedInResult> {
    const checked = checkOptions<TransferOptions>('options', options, ['timeout']);
    const spec = this.#inSpec('readLeased', length, { ...checked, path: 'mapped' });
    const core = this.#core;
    return this.#transfer(
      spec,
      (completion, slot) => {
        const lease = core.backend.lease(slot, completion.bytes);
        let held = true;
        const revoke = () => lease.revoke();
        core.holdLease(revoke);
        return {
          status: completion.status as InResult['status'],
          data: lease.data,
          path: 'mapped' as const,
          release: () => {
            if (!held) return;
            held = false;
            core.dropLease(revoke);
            lease.revoke();
            core.releaseSlot(slot);
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
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#write}
   */
  write(data: Uint8Array | ArrayBufferView | ArrayBuffer, options?: WriteOptions): Observable<OutResult> {
    this.#require('out', 'write');
    const checked = checkOptions<WriteOptions>('options', options, WRITE_OPTIONS);
    const bytes = checkBytes('data', data);
    checkLength('data.byteLength', bytes.byteLength);
    const spec: TransferSpec = {
      path: this.#plan(bytes.byteLength, checked.path),
      length: bytes.byteLength,
      timeout: checkTimeout(checked.timeout, 0),
      zlp: checkFlag('zlp', checked.zlp),
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
   * `read` as a Promise (WebUSB's name). A bad argument rejects, as in WebUSB, rather than throws.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#transferIn}
   */
  transferIn(length: number, options?: TransferOptions): Promise<InResult> {
    return firstValueFrom(defer(() => this.read(length, options)));
  }

  /**
   * `write` as a Promise (WebUSB's name). A bad argument rejects, as in WebUSB, rather than throws.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#transferOut}
   */
  transferOut(data: Uint8Array | ArrayBufferView | ArrayBuffer, options?: WriteOptions): Promise<OutResult> {
    return firstValueFrom(defer(() => this.write(data, options)));
  }

  /**
   * Streams from an IN pipe: keeps `inFlight` transfers of `transferSize` bytes queued and emits
   * each chunk as it arrives, in order. Unsubscribing aborts everything outstanding; the pipe is
   * idle again once {@link drained} resolves. A stall errors the stream with `StallError`, babble
   * with `OverflowError`. The stream pushes: a consumer slower than the device should use
   * {@link chunks}, which reads only as fast as it is read.
   *
   * @throws TypeError / RangeError for bad options (an `inFlight` above {@link Pipe.limits} for
   *   the transfers' path included) or an OUT pipe; {@link ClosedError} after close.
   *   The stream errors with `StallError`, `OverflowError`, `TimeoutError`, `DisconnectedError`
   *   or `AbortedError`.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#stream}
   */
  stream(options: StreamOptions): Observable<Uint8Array> {
    this.#require('in', 'stream');
    return inStream(this.#core, this.#streamPlan(options));
  }

  /**
   * Reads from an IN pipe as an AsyncIterable that pulls: at most `inFlight` transfers of
   * `transferSize` bytes are queued, and the next one is submitted only as you take a chunk, so a
   * slow consumer bounds memory. Leaving the loop (`break`, `return` or an exception) cancels what
   * is outstanding. A stall ends it with `StallError`, babble with `OverflowError`.
   *
   * @throws as {@link Pipe.stream}.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#chunks}
   */
  chunks(options: StreamOptions): AsyncIterableIterator<Uint8Array> {
    this.#require('in', 'chunks');
    const plan = this.#streamPlan(options);
    const readOptions = { timeout: plan.timeout, path: plan.path };
    return chunks((length) => this.read(length, readOptions), plan);
  }

  /**
   * Writes every chunk of `source` to an OUT pipe, `inFlight` at a time, and emits one
   * {@link OutResult} per chunk in order; completes when the source has completed and every write
   * is done. Unsubscribing aborts the writes and stops the source.
   *
   * An AsyncIterable source is pulled only when a write can start; an Observable source cannot be
   * paused, so its chunks wait in a queue of at most `highWaterMark` chunks, past which the write
   * errors with `BackpressureError`. A close or an unplug ends it with `AbortedError` or
   * `DisconnectedError` (also while it waits for the source), and a chunk that is not bytes (or
   * whose ArrayBuffer is detached) with a `TypeError`; in each case the source is unsubscribed or
   * returned.
   *
   * @throws TypeError / RangeError for bad options, a source that is neither an Observable nor an
   *   AsyncIterable, or an IN pipe; {@link ClosedError} after close. The Observable errors with the
   *   first failed write's error (`StallError`, `TimeoutError`, ...) or the source's own error.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#writeFrom}
   */
  writeFrom(source: ChunkSource, options?: WriteFromOptions): Observable<OutResult> {
    this.#require('out', 'writeFrom');
    const checked = checkOptions<WriteFromOptions>('options', options, WRITE_FROM_OPTIONS);
    const isSource =
      typeof source === 'object' &&
      source !== null &&
      (typeof (source as { subscribe?: unknown }).subscribe === 'function' ||
        typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function');
    if (!isSource) throw new TypeError('source must be an Observable or an AsyncIterable of Uint8Array');
    // Chunks of both paths may come; more than the larger limit would only wait in the queue.
    const limit = Math.max(this.#core.limit('mapped'), this.#core.limit('descriptor'));
    return outStream(this.#core, source, {
      inFlight: checkInFlight(checked.inFlight, limit, 'transfers'),
      timeout: checkTimeout(checked.timeout, 0),
      zlp: checkFlag('zlp', checked.zlp),
      highWaterMark: checkInteger('highWaterMark', checked.highWaterMark ?? 64, 1, 1 << 20),
    });
  }

  /**
   * Clears a halt (stall) on the endpoint and resets its data toggle.
   *
   * @throws {@link ClosedError} after close; rejects with `DisconnectedError` when the device is gone.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#clearHalt}
   */
  async clearHalt(): Promise<void> {
    this.#core.assertOpen('clearHalt');
    const failure = this.#core.failure;
    if (failure) throw failure;
    await this.#core.backend.clearHalt();
  }

  /**
   * Resolves when no transfer is outstanding: after a stream's teardown, once every abort is reaped.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#drained}
   */
  drained(): Promise<void> {
    return this.#core.drained();
  }

  /**
   * Aborts what is outstanding (those Observables error with `AbortedError`) and closes the pipe.
   * Resolves once every transfer is reaped. Idempotent.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/pipe.ts#close}
   */
  async close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#core.fail(new ClosedError('the pipe is closed'));
    this.#core.revokeLeases();
    try {
      await this.#core.backend.close();
      await this.#core.drained();
    } finally {
      // The device forgets the pipe only once it is reaped, so that its close waits for it too.
      this.#onClose(this);
    }
  }

  /** @internal Whether `close()` has been called (it may still be reaping). */
  get closing(): boolean {
    return this.#closing !== null;
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

  #streamPlan(options: StreamOptions) {
    if (options === undefined) throw new TypeError('options must be an object with a transferSize');
    const checked = checkOptions<StreamOptions>('options', options, STREAM_OPTIONS);
    const transferSize = checkLength('transferSize', checked.transferSize, 1);
    const path = this.#plan(transferSize, checked.path);
    const inFlight = checkInFlight(checked.inFlight, this.#core.limit(path), `${path} transfers`);
    return { transferSize, inFlight, timeout: checkTimeout(checked.timeout, 0), path };
  }

  #inSpec(method: string, length: number, options: TransferOptions | undefined): TransferSpec {
    this.#require('in', method);
    const checked = checkOptions<TransferOptions>('options', options, TRANSFER_OPTIONS);
    checkLength('length', length);
    const path = this.#plan(length, checked.path);
    return {
      path,
      length,
      timeout: checkTimeout(checked.timeout, 0),
      zlp: false,
      data: null,
      buffer: path === 'descriptor' ? new Uint8Array(length) : null,
    };
  }

  /**
   * Runs one transfer as a cold Observable. `toResult` builds the value for `'ok'`, `'stall'` and
   * `'babble'`; the other statuses are errors. With `keepSlot` the result owns the slot.
   */
  #transfer<T>(spec: TransferSpec, toResult: (completion: CoreCompletion, slot: number) => T, keepSlot = false): Observable<T> {
    const core = this.#core;
    return new Observable<T>((subscriber) => {
      const failure = core.failure;
      if (failure) {
        subscriber.error(failure);
        return;
      }
      const transfer = new QueuedTransfer(core, (completion, slot) => {
        if (subscriber.closed) return false;
        const { status } = completion;
        if (completion.error || (status !== 'ok' && status !== 'stall' && status !== 'babble')) {
          subscriber.error(completion.error ?? errorForStatus(status as Exclude<typeof status, 'ok'>, completion.message));
          return false;
        }
        let value: T;
        try {
          value = toResult(completion, slot);
        } catch (error) {
          // Never let a failure escape into the backend's callback.
          subscriber.error(error);
          return false;
        }
        subscriber.next(value);
        subscriber.complete();
        return keepSlot && slot !== NO_SLOT;
      });
      Object.assign(transfer, spec);
      core.start(transfer);
      return () => core.cancel(transfer);
    });
  }
}

/** `inFlight`, default 4, at most what the pipe can hold for the transfers' path. */
function checkInFlight(value: unknown, limit: number, what: string): number {
  const inFlight = checkInteger('inFlight', value ?? Math.min(4, limit), 1, IN_FLIGHT_MAX);
  if (inFlight > limit) {
    throw new RangeError(`inFlight ${inFlight} is more than the ${limit} ${what} this pipe can have in flight (pipe.limits)`);
  }
  return inFlight;
}

function checkFlag(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${String(value)}`);
  return value;
}
