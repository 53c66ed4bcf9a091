/**
 * Argument checks shared by the public API. They throw `TypeError` / `RangeError` before anything
 * reaches a backend.
 *
 * @internal
 * @module
 */
import type { ControlSetup } from './descriptors.js';
import { TRANSFER_LENGTH_MAX } from './planner.js';

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, not ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${name} must be from ${min} to ${max}, not ${value}`);
  }
  return value;
}

export function checkLength(name: string, value: unknown, min = 0): number {
  return checkInteger(name, value, min, TRANSFER_LENGTH_MAX);
}

/**
 * A timeout in milliseconds: `fallback` when absent, else an integer from `min` to `max`. Transfers
 * take 0 (waits forever) to 2^31-1; control transfers 1 to `CONTROL_TIMEOUT_MAX`, since a control
 * request always ends.
 */
export function checkTimeout(value: unknown, fallback: number, min = 0, max = 0x7fffffff): number {
  if (value === undefined) return fallback;
  return checkInteger('timeout', value, min, max);
}

export function checkBytes(name: string, value: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) bytes = value;
  else if (ArrayBuffer.isView(value)) {
    if (isDetached(value)) throw new TypeError(`${name}'s ArrayBuffer is detached`);
    bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  } else if (value instanceof ArrayBuffer) {
    if (isDetached(value)) throw new TypeError(`${name} is a detached ArrayBuffer`);
    bytes = new Uint8Array(value);
  } else {
    throw new TypeError(`${name} must be a Uint8Array, another ArrayBufferView or an ArrayBuffer, not ${describe(value)}`);
  }
  if (isDetached(bytes)) throw new TypeError(`${name}'s ArrayBuffer is detached`);
  return bytes;
}

/**
 * Whether the memory under `value` is detached (transferred away, or a native mapping that was
 * closed). Node 20 has no `ArrayBuffer#detached`: a detached buffer reads as empty, and only
 * constructing a view on it tells it from a genuinely empty one.
 */
export function isDetached(value: ArrayBufferView | ArrayBuffer): boolean {
  const buffer = value instanceof ArrayBuffer ? value : value.buffer;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Checks an options or filter object: `undefined` is `{}`; anything but a plain object, or a field
 * it does not know (a typo such as `inflight`), is a TypeError that names it.
 */
export function checkOptions<T extends object>(name: string, value: unknown, known: readonly (keyof T & string)[]): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, not ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!(known as readonly string[]).includes(key)) {
      throw new TypeError(`${name} has no field ${JSON.stringify(key)}; it takes ${known.join(', ')}`);
    }
  }
  return value as Partial<T>;
}

const requestTypes = new Set(['standard', 'class', 'vendor']);
const recipients = new Set(['device', 'interface', 'endpoint', 'other']);

export function checkSetup(setup: unknown): ControlSetup {
  if (typeof setup !== 'object' || setup === null) {
    throw new TypeError(`setup must be an object, not ${describe(setup)}`);
  }
  const s = setup as Record<string, unknown>;
  if (!requestTypes.has(s['requestType'] as string)) {
    throw new TypeError(`setup.requestType must be 'standard', 'class' or 'vendor', not ${describe(s['requestType'])}`);
  }
  if (!recipients.has(s['recipient'] as string)) {
    throw new TypeError(
      `setup.recipient must be 'device', 'interface', 'endpoint' or 'other', not ${describe(s['recipient'])}`,
    );
  }
  checkInteger('setup.request', s['request'], 0, 0xff);
  checkInteger('setup.value', s['value'], 0, 0xffff);
  checkInteger('setup.index', s['index'], 0, 0xffff);
  return setup as ControlSetup;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return String(value);
}
