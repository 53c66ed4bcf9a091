/**
 * The shared state of one open pipe: its backend pipe, its slot pool, how many transfers are
 * outstanding, and why it can no longer be used (closed or disconnected). {@link Pipe} and the
 * stream functions build on it.
 *
 * @internal
 * @module
 */
import type { BackendPipe, Completion, TransferHandle, TransferRequest } from './backend.js';
import { ClosedError, DisconnectedError } from './errors.js';
import type { TransferPath } from './planner.js';
import { SlotPool } from './slot-pool.js';

export interface TransferSpec {
  readonly path: TransferPath;
  readonly length: number;
  readonly timeout: number;
  readonly zlp: boolean;
  /** OUT: the bytes to send. */
  readonly data: Uint8Array | null;
  /** IN on the descriptor path: where the bytes land. */
  readonly buffer: Uint8Array | null;
}

/** Called once per started transfer; `slot` is -1 on the descriptor path. */
export type TransferDone = (completion: Completion, slot: number) => void;

/**
 * Copies the first `length` bytes of a slot. (`slice` will not do: a backend may hand out a Node
 * Buffer, whose `slice` is a view.)
 */
export function copyOut(slot: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(slot.subarray(0, length));
}

/** The slot number a pool waiter receives when the pipe goes away while it waits. */
export const NO_SLOT = -1;

export class PipeCore {
  readonly pool: SlotPool;
  #outstanding = 0;
  #idleWaiters: (() => void)[] = [];
  #failure: ClosedError | DisconnectedError | null = null;

  constructor(readonly backend: BackendPipe) {
    this.pool = new SlotPool(backend.slots.length);
  }

  /** Why the pipe cannot be used, or `null` while it can. */
  get failure(): ClosedError | DisconnectedError | null {
    return this.#failure;
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  /** Counts a submission; pair with {@link ended} in its completion. */
  began(): void {
    this.#outstanding++;
  }

  ended(): void {
    this.#outstanding--;
    if (this.#outstanding === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Resolves when no transfer is outstanding. */
  drained(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The completion a transfer that never reached the backend reports once the pipe is gone. */
  failureCompletion(): Completion {
    return { status: this.#failure instanceof DisconnectedError ? 'disconnected' : 'aborted', bytes: 0 };
  }

  /**
   * Marks the pipe unusable and wakes every transfer waiting for a slot, which then reports
   * {@link failureCompletion}. Outstanding transfers are the backend's to complete.
   */
  fail(failure: ClosedError | DisconnectedError): void {
    if (this.#failure instanceof DisconnectedError) return;
    this.#failure = failure;
    for (const waiter of this.pool.clearWaiters()) waiter(NO_SLOT);
  }

  /**
   * Starts one transfer: takes a slot for the mapped path (waiting if none is free), copies OUT
   * data into it, submits. Returns a cancel function that is a no-op once `done` has run.
   */
  start(spec: TransferSpec, done: TransferDone): () => void {
    let finished = false;
    let handle: TransferHandle | null = null;
    const finish: TransferDone = (completion, slot) => {
      finished = true;
      done(completion, slot);
    };
    const submit = (slot: number): void => {
      const request: TransferRequest =
        slot === NO_SLOT
          ? {
              path: 'descriptor',
              buffer: (spec.data ?? spec.buffer) as Uint8Array,
              length: spec.length,
              timeout: spec.timeout,
              zlp: spec.zlp,
            }
          : { path: 'mapped', slot, length: spec.length, timeout: spec.timeout, zlp: spec.zlp };
      this.began();
      handle = this.backend.submit(request, (completion) => {
        this.ended();
        finish(completion, slot);
      });
    };
    let stopWaiting = noop;
    if (spec.path === 'descriptor') submit(NO_SLOT);
    else {
      stopWaiting = this.pool.take((slot) => {
        if (slot === NO_SLOT) return finish(this.failureCompletion(), NO_SLOT);
        if (spec.data) this.backend.slots[slot]!.set(spec.data);
        submit(slot);
      });
    }
    return () => {
      if (finished) return;
      if (handle) handle.cancel();
      else stopWaiting();
    };
  }

  /** Throws {@link ClosedError} for use after close; the other failures travel as errors. */
  assertOpen(what: string): void {
    if (this.#failure instanceof ClosedError) throw new ClosedError(`${what}: the pipe is closed`);
  }
}

function noop(): void {}
