/**
 * What transfers emit, and the options they take.
 *
 * @module
 */
import type { TransferPath } from './planner.js';

/** A transfer's outcome as WebUSB reports it: a stall or babble is a result, not an error. */
export type TransferStatus = 'ok' | 'stall' | 'babble';

/** The result of an IN transfer. */
export interface InResult {
  /** `'ok'`, or `'stall'` / `'babble'`, which a single transfer reports here rather than as an error. */
  readonly status: TransferStatus;
  /** The bytes received; shorter than asked when the device ended the transfer early. */
  readonly data: Uint8Array;
  /** The path the transfer took. */
  readonly path: TransferPath;
}

/**
 * A `Uint8Array` that may only be read: the mutating methods and index assignment are gone from
 * its type. Copy it (`Uint8Array.from(data)`) to get bytes you may change.
 */
export type ReadonlyUint8Array = Omit<Uint8Array, number | 'set' | 'fill' | 'copyWithin' | 'reverse' | 'sort' | 'subarray'> & {
  readonly [index: number]: number;
  /** A read-only view of part of the same memory. */
  subarray(begin?: number, end?: number): ReadonlyUint8Array;
};

/**
 * An IN result whose `data` is a view of a mapped slot rather than a copy. The slot stays out of
 * use until `release()`; a pipe whose slots are all leased makes later mapped transfers wait.
 * `data` is read-only, and empty (length 0) from `release()` or the pipe's close on: it never
 * shows another transfer's bytes.
 */
export interface LeasedInResult extends Omit<InResult, 'data'> {
  /** The bytes received: a read-only view of the slot, empty once released. */
  readonly data: ReadonlyUint8Array;
  /** Always `'mapped'`: only a slot can be leased. */
  readonly path: 'mapped';
  /** Returns the slot to the pipe. Idempotent. */
  release(): void;
}

/** The result of an OUT transfer. */
export interface OutResult {
  /** `'ok'`, or `'stall'` / `'babble'`, which a single transfer reports here rather than as an error. */
  readonly status: TransferStatus;
  /** Bytes the device accepted; less than the data's length when the transfer ended early. */
  readonly bytesWritten: number;
  /** The path the transfer took. */
  readonly path: TransferPath;
}

/** The result of a control IN transfer. */
export interface ControlInResult {
  /** `'ok'`, or `'stall'` when the device refused the request, or `'babble'`. */
  readonly status: TransferStatus;
  /** The bytes of the data stage; shorter than asked when the device sent less. */
  readonly data: Uint8Array;
}

/** The result of a control OUT transfer. */
export interface ControlOutResult {
  /** `'ok'`, or `'stall'` when the device refused the request, or `'babble'`. */
  readonly status: TransferStatus;
  /** Bytes of the data stage the device accepted. */
  readonly bytesWritten: number;
}

/** Options of a single transfer. */
export interface TransferOptions {
  /** Milliseconds before the transfer fails with `TimeoutError`; 0 (the default) waits forever. */
  readonly timeout?: number;
  /**
   * Forces a path instead of the planner's choice, for experiments. `'mapped'` takes at most
   * 4096 bytes; `'descriptor'` needs more than the backend's inline limit (4096 on the dext).
   */
  readonly path?: TransferPath;
}

/** Options of a single OUT transfer. */
export interface WriteOptions extends TransferOptions {
  /**
   * Ends the transfer with a zero-length packet when its length is a non-zero multiple of the
   * endpoint's packet size, so that the device sees where it ends. Default `false`.
   */
  readonly zlp?: boolean;
}

/** Options of {@link Pipe.stream}. */
export interface StreamOptions {
  /** Bytes asked for by each transfer, 1 to 8 MiB. The planner picks each transfer's path by it. */
  readonly transferSize: number;
  /** Transfers kept queued on the pipe, 1 to the pipe's limit for the path ({@link PipeLimits}). Default 4. */
  readonly inFlight?: number;
  /** Per-transfer timeout in milliseconds; 0 (the default) waits forever. */
  readonly timeout?: number;
  /** Forces a path, as for a single transfer. */
  readonly path?: TransferPath;
}

/** Options of {@link Pipe.writeFrom}. */
export interface WriteFromOptions {
  /** Writes kept queued on the pipe, 1 to the larger of the pipe's limits ({@link PipeLimits}). Default 4. */
  readonly inFlight?: number;
  /** Per-write timeout in milliseconds; 0 (the default) waits forever. */
  readonly timeout?: number;
  /** As for {@link WriteOptions.zlp}, applied to every chunk. */
  readonly zlp?: boolean;
  /**
   * Only for an Observable source, which cannot be paused: the most chunks held while the pipe is
   * busy before the write fails with `BackpressureError`. Default 64. An AsyncIterable source is
   * pulled only when a write can start, so it needs no queue.
   */
  readonly highWaterMark?: number;
}

/** How many transfers of each path a pipe can have at the device at once ({@link Pipe.limits}). */
export interface PipeLimits {
  /** Transfers of up to 4096 bytes: one per mapped slot. */
  readonly mapped: number;
  /** Larger transfers: the pipe's own share of what the backend can hold. */
  readonly descriptor: number;
}

/** The most transfers a stream keeps queued, whatever the backend could hold. */
export const IN_FLIGHT_MAX = 64;
