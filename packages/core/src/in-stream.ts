/**
 * An IN stream: `inFlight` transfers kept queued, each chunk emitted as it completes.
 *
 * Each queued transfer is a *lane* that owns its request object and completion callback for the
 * life of the stream, so that steady-state streaming allocates only the chunk it emits.
 *
 * @internal
 * @module
 */
import { Observable, type Subscriber } from 'rxjs';
import type { Completion, TransferHandle } from './backend.js';
import { errorForStatus } from './errors.js';
import { copyOut, NO_SLOT, type PipeCore } from './pipe-core.js';
import type { TransferPath } from './planner.js';

export interface InStreamPlan {
  readonly transferSize: number;
  readonly inFlight: number;
  readonly timeout: number;
  readonly path: TransferPath;
}

interface Lane {
  slot: number;
  buffer: Uint8Array | null;
  handle: TransferHandle | null;
  /** Set while the lane waits for a free slot. */
  stopWaiting: (() => void) | null;
  readonly request: {
    path: TransferPath;
    slot: number;
    buffer: Uint8Array;
    length: number;
    timeout: number;
    zlp: boolean;
  };
  readonly onSlot: (slot: number) => void;
  readonly onComplete: (completion: Completion) => void;
}

const EMPTY = new Uint8Array(0);

export function inStream(core: PipeCore, plan: InStreamPlan): Observable<Uint8Array> {
  return new Observable<Uint8Array>((subscriber) => {
    const failure = core.failure;
    if (failure) {
      subscriber.error(failure);
      return;
    }
    return new InStream(core, plan, subscriber).start();
  });
}

class InStream {
  #active = true;
  readonly #lanes: Lane[] = [];

  constructor(
    private readonly core: PipeCore,
    private readonly plan: InStreamPlan,
    private readonly subscriber: Subscriber<Uint8Array>,
  ) {}

  start(): () => void {
    for (let i = 0; i < this.plan.inFlight; i++) {
      const lane = this.#makeLane();
      this.#lanes.push(lane);
      this.#queue(lane);
    }
    return () => this.#stop();
  }

  #makeLane(): Lane {
    const lane: Lane = {
      slot: NO_SLOT,
      buffer: null,
      handle: null,
      stopWaiting: null,
      request: {
        path: this.plan.path,
        slot: NO_SLOT,
        buffer: EMPTY,
        length: this.plan.transferSize,
        timeout: this.plan.timeout,
        zlp: false,
      },
      onSlot: (slot) => this.#submit(lane, slot),
      onComplete: (completion) => this.#complete(lane, completion),
    };
    return lane;
  }

  #queue(lane: Lane): void {
    if (this.plan.path === 'mapped') {
      const stop = this.core.pool.take(lane.onSlot);
      if (lane.handle === null && lane.slot === NO_SLOT) lane.stopWaiting = stop;
    } else {
      lane.buffer = new Uint8Array(this.plan.transferSize);
      lane.request.buffer = lane.buffer;
      this.#submit(lane, NO_SLOT);
    }
  }

  #submit(lane: Lane, slot: number): void {
    if (this.plan.path === 'mapped') {
      lane.stopWaiting = null;
      if (slot === NO_SLOT) return this.#fail(this.core.failureCompletion());
      if (!this.#active) return this.core.pool.release(slot);
      lane.slot = slot;
      lane.request.slot = slot;
    }
    this.core.began();
    // The backend reads the request during submit and keeps nothing of it (the contract), so the
    // lane's request object is reused for every submission.
    lane.handle = this.core.backend.submit(lane.request, lane.onComplete);
  }

  #complete(lane: Lane, completion: Completion): void {
    this.core.ended();
    lane.handle = null;
    const slot = lane.slot;
    lane.slot = NO_SLOT;
    let chunk: Uint8Array | null = null;
    if (completion.status === 'ok' && this.#active) {
      chunk =
        slot === NO_SLOT
          ? lane.buffer!.subarray(0, completion.bytes)
          : copyOut(this.core.backend.slots[slot]!, completion.bytes);
    }
    if (slot !== NO_SLOT) this.core.pool.release(slot);
    if (!this.#active) return;
    if (chunk === null) return this.#fail(completion);
    // Queue the lane's next transfer before the subscriber sees this chunk, so the bus stays busy
    // while it works. If next() unsubscribes (take(n)), the teardown cancels that transfer.
    this.#queue(lane);
    this.subscriber.next(chunk);
  }

  #fail(completion: Completion): void {
    if (!this.#active) return;
    this.#stop();
    this.subscriber.error(errorForStatus(completion.status === 'ok' ? 'error' : completion.status, completion.message));
  }

  #stop(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const lane of this.#lanes) {
      lane.stopWaiting?.();
      lane.handle?.cancel();
    }
  }
}
