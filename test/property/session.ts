/**
 * One opened device of a run, and the operations called on it: what each may end with, whether it
 * has ended, and the bytes written at each Loopback position.
 */
import { MAPPED_TRANSFER_MAX, type Direction, type LeasedInResult, type TransferPath } from '@dextio/core';
import type { Subscription } from 'rxjs';
import { testBytes } from '../support/bytes.js';
import type { OpenFunction } from '../conformance/target.js';

/** An error an operation may end with. */
export interface Allowance {
  readonly name: string;
  test(error: unknown): boolean;
}

export function allow(type: abstract new (...args: never[]) => Error): Allowance {
  return { name: type.name, test: (error) => error instanceof type };
}

export type OpKind = 'read' | 'write' | 'lease' | 'stream' | 'writeFrom';

/** One call: a single transfer, a stream or a writeFrom. */
export class Op {
  settled = false;
  /** Set while the Observable may still be cancelled. */
  subscription: Subscription | null = null;
  /** Called on an unplugged device: it must fail. */
  mustFail = false;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(
    readonly label: string,
    readonly kind: OpKind,
    readonly session: Session,
    readonly direction: Direction,
    /** Loopback positions `[start, end)`, when the pipe was open; `end` may be Infinity. */
    readonly positions: { readonly start: number; readonly end: number } | null,
    /**
     * Errors this call may end with: its own (a timeout, a predicted failure), and those of what
     * happened while it was pending (a close, an unplug, an abort of its pipe).
     */
    readonly own: Allowance[],
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.subscription = null;
    this.#resolve();
  }
}

export interface HeldLease {
  readonly op: Op;
  readonly result: LeasedInResult;
  released: boolean;
}

export class Session {
  clean = true;
  readonly ops: Op[] = [];
  readonly leases: HeldLease[] = [];
  readonly written = new Map<number, { readonly bytes: Uint8Array; readonly label: string }>();
  /** The producer a clean session waits for before calling anything else on its pipe. */
  stream: Op | null = null;
  writeFrom: Op | null = null;
  /** `device.close()` and `pipe.close()` calls, each checked when it resolves. */
  readonly closing: Promise<void>[] = [];
  readonly tainted: Promise<void>;
  #markTainted!: () => void;

  constructor(
    readonly id: number,
    readonly pipes: OpenFunction,
  ) {
    this.tainted = new Promise((resolve) => (this.#markTainted = resolve));
  }

  taint(): void {
    this.clean = false;
    this.stream = null;
    this.writeFrom = null;
    this.#markTainted();
  }

  /** Lets the operations pending now on `direction` (both pipes when `null`) end with `allowance`. */
  allowPending(direction: Direction | null, allowance: Allowance): void {
    for (const op of this.ops) {
      if (op.settled || (direction !== null && op.direction !== direction)) continue;
      if (!op.own.some((a) => a.name === allowance.name)) op.own.push(allowance);
    }
  }

  /** The bytes of a position: unique to it, so that a misplaced transfer can be named. */
  bytesAt(position: number, length: number): Uint8Array {
    const bytes = testBytes(length, this.id * 7919 + position * 104729 + 1);
    bytes[0] = position & 0xff;
    return bytes;
  }

  /** Names whose bytes `data` holds, for a message. */
  identify(data: ArrayLike<number>): string {
    for (const [position, { bytes, label }] of this.written) {
      if (sameBytes(data, bytes)) return `the bytes of position ${position} (${label})`;
    }
    return `${data.length} bytes written at no position`;
  }
}

export function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The path the planner must pick for `length` bytes. */
export function plannedPath(length: number): TransferPath {
  return length <= MAPPED_TRANSFER_MAX ? 'mapped' : 'descriptor';
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}(${JSON.stringify(error.message)})`;
  return `a non-Error ${typeof error}: ${String(error)}`;
}
