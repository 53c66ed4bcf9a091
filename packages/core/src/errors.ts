/**
 * Typed errors. Every failure that reaches a caller is one of these classes (or a `TypeError` /
 * `RangeError` for a bad argument), so callers can branch with `instanceof`.
 *
 * @module
 */

/**
 * The base of every USB failure dextio reports.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#StallError}
 */
export class UsbError extends Error {
  /** Always `'UsbError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'UsbError';
}

/**
 * The endpoint is halted (the device answered STALL). Clear it with `Pipe.clearHalt()`.
 * Single transfers report a stall as `status: 'stall'`; streams, which cannot go on, error with this.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#StallError}
 */
export class StallError extends UsbError {
  /** Always `'StallError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'StallError';
}

/**
 * The device sent more data than the transfer asked for (babble).
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#OverflowError}
 */
export class OverflowError extends UsbError {
  /** Always `'OverflowError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'OverflowError';
}

/**
 * The transfer did not complete within its `timeout`.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#TimeoutError}
 */
export class TimeoutError extends UsbError {
  /** Always `'TimeoutError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'TimeoutError';
}

/**
 * The device went away. Every open Observable on it errors with this; the device must be opened again.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#DisconnectedError}
 */
export class DisconnectedError extends UsbError {
  /** Always `'DisconnectedError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'DisconnectedError';
}

/**
 * The transfer was cancelled: its subscriber unsubscribed, or the device or pipe was closed.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#AbortedError}
 */
export class AbortedError extends UsbError {
  /** Always `'AbortedError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'AbortedError';
}

/**
 * The operating system refused access: another driver owns the interface, the process lacks
 * permission, or (macOS) the client lacks the dext's user-client entitlement.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#AccessError}
 */
export class AccessError extends UsbError {
  /** Always `'AccessError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'AccessError';
}

/**
 * A source handed to `Pipe.writeFrom` produced chunks faster than its bounded queue could hold.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#BackpressureError}
 */
export class BackpressureError extends UsbError {
  /** Always `'BackpressureError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'BackpressureError';
}

/**
 * A device or pipe was used after `close()`. It is a `TypeError`: the caller's code is wrong.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#ClosedError}
 */
export class ClosedError extends TypeError {
  /** Always `'ClosedError'`, so that logs and `error.name` checks tell the classes apart. */
  override name = 'ClosedError';
}

/**
 * The one table from a backend's completion status to the error a caller sees. `'ok'` has no
 * error; `'stall'` and `'babble'` are results for single transfers and errors for streams.
 */
const errorClassByStatus = {
  stall: StallError,
  babble: OverflowError,
  timeout: TimeoutError,
  aborted: AbortedError,
  disconnected: DisconnectedError,
  access: AccessError,
  error: UsbError,
} as const;

const defaultMessageByStatus: Record<keyof typeof errorClassByStatus, string> = {
  stall: 'the endpoint stalled',
  babble: 'the device sent more data than the transfer asked for',
  timeout: 'the transfer timed out',
  aborted: 'the transfer was aborted',
  disconnected: 'the device is disconnected',
  access: 'access to the device was refused',
  error: 'the transfer failed',
};

/**
 * Builds the typed error for a failed completion status.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/errors.ts#errorForStatus}
 */
export function errorForStatus(status: keyof typeof errorClassByStatus, message?: string): UsbError {
  const ErrorClass = errorClassByStatus[status];
  return new ErrorClass(message ?? defaultMessageByStatus[status]);
}
