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

/** A timeout in milliseconds; 0 waits forever. */
export function checkTimeout(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return checkInteger('timeout', value, 0, 0x7fffffff);
}

export function checkBytes(name: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`${name} must be a Uint8Array, another ArrayBufferView or an ArrayBuffer, not ${describe(value)}`);
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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return String(value);
}
