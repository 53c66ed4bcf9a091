/**
 * The shared state of one open pipe: its backend pipe, the queue that gives the pipe one order,
 * the backend's limits as resources, and why the pipe can no longer be used (closed or
 * disconnected). {@link Pipe} and the stream functions build on it.
 *
 * One order per pipe: every transfer (single, stream lane, `writeFrom` chunk) joins one FIFO when
 * it is called or subscribed, and leaves it for the backend strictly in that order. The head
 * waits until its resource is free (a slot for the mapped path, one of the pipe's share of
 * descriptor transfers for the other); nothing behind it overtakes it. So the backend's limits are
 * a queue the user never sees, and the device receives transfers in the order they were asked for.
 *
 * @internal
 * @module
 */
import type { BackendPipe, Completion, TransferHandle } from './backend.js';
import { ClosedError, DisconnectedError } from './errors.js';
import { Fifo } from './fifo.js';
import type { TransferPath } from './planner.js';
import { isDetached } from './validate.js';

/** A completion as the core reports it: a transfer the core itself ended may carry its own error. */
export interface CoreCompletion extends Completion {
  /** The error to report instead of the status's own (a caller's buffer detached while queued). */
  readonly error?: Error;
}

/**
 * Called once per transfer with its completion and the slot it used (`NO_SLOT` on the descriptor
 * path or when it never reached the backend). Returns `true` to keep the slot (a lease), which the
 * caller gives back with {@link PipeCore.releaseSlot}.
 */
export type TransferDone = (completion: CoreCompletion, slot: number) => boolean | void;

const EMPTY: Uint8Array = new Uint8Array(0);

/** The slot number of a transfer that holds none. */
export const NO_SLOT = -1;

/**
 * One transfer's place in the pipe's queue. The owner sets what to move and may start the same
 * object again once it has completed: stream lanes reuse theirs for every transfer, so that
 * steady-state streaming allocates nothing here.
 */
export class QueuedTransfer {
  path: TransferPath = 'mapped';
  length = 0;
  timeout = 0;
  zlp = false;
  /** OUT: the bytes to send. */
  data: Uint8Array | null = null;
  /** IN on the descriptor path: where the bytes land. */
  buffer: Uint8Array | null = null;

  /** @internal PipeCore's state of the transfer. */
  state: 'idle' | 'queued' | 'submitted' = 'idle';
  /** @internal */
  slot = NO_SLOT;
  /** @internal */
  handle: TransferHandle | null = null;
  /** @internal The request handed to the backend, which keeps nothing of it: reused. */
  readonly request = { path: 'mapped' as TransferPath, slot: NO_SLOT, buffer: EMPTY, length: 0, timeout: 0, zlp: false };
  /** @internal Bound once: the backend's completion callback. */
  readonly onComplete: (completion: Completion) => void;

  constructor(
    core: PipeCore,
    readonly done: TransferDone,
  ) {
    this.onComplete = (completion) => core.completed(this, completion);
  }
}


/**
 * Copies the first `length` bytes of a slot, with one allocation. (`slot.slice` will not do: a
 * backend may hand out a Node Buffer, whose `slice` is a view; Uint8Array's own copies.)
 */
export function copyOut(slot: Uint8Array, length: number): Uint8Array {
  return Uint8Array.prototype.slice.call(slot, 0, length);
}

export class PipeCore {
  readonly #free: number[];
  readonly #queue = new Fifo<QueuedTransfer>();
  #descriptorsInFlight = 0;
  #outstanding = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #failureListeners = new Set<(failure: ClosedError | DisconnectedError) => void>();
  #failure: ClosedError | DisconnectedError | null = null;
  /** Closed by the caller; after a disconnect the failure stays `DisconnectedError`, but use throws. */
  #closed = false;
  /** Revokes each lease still held: a closed pipe's memory may go away. */
  readonly #leases = new Set<() => void>();

  constructor(readonly backend: BackendPipe) {
    const slotCount = backend.slots.length;
    // Lowest slots first, so a lightly used pipe keeps touching the same memory.
    this.#free = Array.from({ length: slotCount }, (_, i) => slotCount - 1 - i);
  }

  /** Why the pipe cannot be used, or `null` while it can. */
  get failure(): ClosedError | DisconnectedError | null {
    return this.#failure;
  }

  /** Transfers handed to the backend and not yet completed. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Transfers waiting in the queue for their turn or their resource. */
  get queued(): number {
    return this.#queue.size;
  }

  /** The most transfers of each path the pipe can have in flight. */
  limit(path: TransferPath): number {
    return path === 'mapped' ? this.backend.slots.length : this.backend.descriptorTransfersMax;
  }

  /** Resolves when no transfer is outstanding or queued. */
  drained(): Promise<void> {
    if (this.#outstanding === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Calls `listener` once when the pipe fails (close or disconnect). Returns a function that removes it. */
  onFailure(listener: (failure: ClosedError | DisconnectedError) => void): () => void {
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /** The completion a transfer that never reached the backend reports once the pipe is gone. */
  failureCompletion(): Completion {
    return { status: this.#failure instanceof DisconnectedError ? 'disconnected' : 'aborted', bytes: 0 };
  }

  /**
   * Marks the pipe unusable: queued transfers complete with {@link failureCompletion} now,
   * outstanding ones are the backend's to complete, and failure listeners run. A disconnect is
   * final; a close after it changes nothing.
   */
  fail(failure: ClosedError | DisconnectedError): void {
    if (failure instanceof ClosedError) this.#closed = true;
    if (this.#failure instanceof DisconnectedError) return;
    const first = this.#failure === null;
    this.#failure = failure;
    const completion = this.failureCompletion();
    for (const transfer of this.#queue.takeAll()) this.#end(transfer, completion, NO_SLOT);
    if (first) for (const listener of [...this.#failureListeners]) listener(failure);
    this.#failureListeners.clear();
    this.#wakeIfIdle();
  }

  /** Queues `transfer` behind everything called before it. It must be idle. */
  start(transfer: QueuedTransfer): void {
    if (this.#failure) {
      // Never complete synchronously: the caller may still be setting up.
      transfer.state = 'queued';
      const completion = this.failureCompletion();
      queueMicrotask(() => {
        if (transfer.state !== 'queued') return;
        transfer.state = 'idle';
        transfer.done(completion, NO_SLOT);
      });
      return;
    }
    transfer.state = 'queued';
    this.#queue.push(transfer);
    this.#dispatch();
  }

  /**
   * Cancels `transfer`: a queued one leaves the queue silently (its `done` never runs); a
   * submitted one is cancelled in the backend and completes as the backend says.
   */
  cancel(transfer: QueuedTransfer): void {
    if (transfer.state === 'queued') {
      transfer.state = 'idle';
      this.#queue.remove(transfer);
      this.#dispatch();
      this.#wakeIfIdle();
    } else if (transfer.state === 'submitted') {
      transfer.handle?.cancel();
    }
  }

  /** Tracks a held lease until `revoke` runs, by the holder's release or the pipe's close. */
  holdLease(revoke: () => void): void {
    // A lease completed while the pipe was closing is empty from the start, like every other.
    if (this.#closed) revoke();
    else this.#leases.add(revoke);
  }

  dropLease(revoke: () => void): void {
    this.#leases.delete(revoke);
  }

  /** Empties every lease still held. */
  revokeLeases(): void {
    for (const revoke of [...this.#leases]) revoke();
    this.#leases.clear();
  }

  /** Gives back a slot that a lease kept. */
  releaseSlot(slot: number): void {
    this.#free.push(slot);
    this.#dispatch();
  }

  /** Throws {@link ClosedError} for use after close; the other failures travel as errors. */
  assertOpen(what: string): void {
    if (this.#closed) throw new ClosedError(`${what}: the pipe is closed`);
  }

  /** @internal The backend's completion of a submitted transfer. */
  completed(transfer: QueuedTransfer, completion: Completion): void {
    this.#outstanding--;
    if (transfer.path === 'descriptor') this.#descriptorsInFlight--;
    transfer.handle = null;
    const slot = transfer.slot;
    transfer.slot = NO_SLOT;
    this.#end(transfer, completion, slot);
    this.#dispatch();
    this.#wakeIfIdle();
  }

  /** Hands the queue's head to the backend for as long as its resource is free. */
  #dispatch(): void {
    for (let transfer = this.#queue.peek(); transfer !== undefined && this.#failure === null; transfer = this.#queue.peek()) {
      let slot = NO_SLOT;
      if (transfer.path === 'mapped') {
        if (this.#free.length === 0) break;
        slot = this.#free.pop()!;
      } else if (this.#descriptorsInFlight >= this.backend.descriptorTransfersMax) {
        break;
      }
      this.#queue.shift();
      this.#submit(transfer, slot);
    }
  }

  #submit(transfer: QueuedTransfer, slot: number): void {
    const data = transfer.data;
    // The caller's buffer may have been detached (transferred, or a closed mapping) while queued.
    if (data !== null && (data.byteLength !== transfer.length || (data.byteLength === 0 && isDetached(data)))) {
      if (slot !== NO_SLOT) this.#free.push(slot);
      const error = new TypeError(`the data's ArrayBuffer was detached or shrunk before the transfer could start`);
      this.#end(transfer, { status: 'error', bytes: 0, error }, NO_SLOT);
      return;
    }
    const request = transfer.request;
    request.path = transfer.path;
    request.length = transfer.length;
    request.timeout = transfer.timeout;
    request.zlp = transfer.zlp;
    request.slot = slot;
    request.buffer = slot === NO_SLOT ? ((data ?? transfer.buffer) as Uint8Array) : EMPTY;
    if (slot === NO_SLOT) this.#descriptorsInFlight++;
    else if (data !== null) {
      const view = this.backend.slots[slot]!;
      if (view.byteLength < data.byteLength) {
        // The backend dropped its mapping (a closing connection): nothing can be sent any more.
        this.#free.push(slot);
        this.#end(transfer, { status: 'aborted', bytes: 0, message: "the pipe's memory is gone" }, NO_SLOT);
        return;
      }
      view.set(data);
    }
    transfer.slot = slot;
    transfer.state = 'submitted';
    this.#outstanding++;
    transfer.handle = this.backend.submit(request as Parameters<BackendPipe['submit']>[0], transfer.onComplete);
  }

  #end(transfer: QueuedTransfer, completion: CoreCompletion, slot: number): void {
    transfer.state = 'idle';
    const keep = transfer.done(completion, slot) === true;
    if (slot !== NO_SLOT && !keep) this.#free.push(slot);
  }

  #wakeIfIdle(): void {
    if (this.#outstanding === 0 && this.queued === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }
}
