/**
 * An IN stream: `inFlight` transfers kept queued, each chunk emitted as it completes.
 *
 * Each queued transfer is a *lane* that owns its queue entry (and so its request object and
 * completion callback) for the life of the stream, so that steady-state streaming allocates only
 * the chunk it emits. A lane goes back to the end of the pipe's queue when its transfer
 * completes, behind anything else called meanwhile.
 *
 * @internal
 * @module
 */
import { Observable, type Subscriber } from 'rxjs';
import { errorForStatus } from './errors.js';
import { copyOut, NO_SLOT, QueuedTransfer, type CoreCompletion, type PipeCore } from './pipe-core.js';
import type { TransferPath } from './planner.js';

export interface InStreamPlan {
  readonly transferSize: number;
  readonly inFlight: number;
  readonly timeout: number;
  readonly path: TransferPath;
}

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
  readonly #lanes: QueuedTransfer[] = [];

  constructor(
    private readonly core: PipeCore,
    private readonly plan: InStreamPlan,
    private readonly subscriber: Subscriber<Uint8Array>,
  ) {}

  start(): () => void {
    for (let i = 0; i < this.plan.inFlight && this.#active; i++) {
      const lane: QueuedTransfer = new QueuedTransfer(this.core, (completion, slot) => this.#complete(lane, completion, slot));
      lane.path = this.plan.path;
      lane.length = this.plan.transferSize;
      lane.timeout = this.plan.timeout;
      this.#lanes.push(lane);
      this.#queue(lane);
    }
    return () => this.#stop();
  }

  #queue(lane: QueuedTransfer): void {
    // A descriptor chunk is handed to the subscriber as it is: each transfer needs fresh memory.
    if (this.plan.path === 'descriptor') lane.buffer = new Uint8Array(this.plan.transferSize);
    this.core.start(lane);
  }

  #complete(lane: QueuedTransfer, completion: CoreCompletion, slot: number): void {
    if (!this.#active) return;
    if (completion.status !== 'ok' || completion.error) return this.#fail(completion);
    const chunk =
      slot === NO_SLOT ? lane.buffer!.subarray(0, completion.bytes) : copyOut(this.core.backend.slots[slot]!, completion.bytes);
    // Queue the lane's next transfer before the subscriber sees this chunk, so the bus stays busy
    // while it works. If next() unsubscribes (take(n)), the teardown cancels that transfer.
    this.#queue(lane);
    this.subscriber.next(chunk);
  }

  #fail(completion: CoreCompletion): void {
    this.#stop();
    const { status } = completion;
    this.subscriber.error(completion.error ?? errorForStatus(status === 'ok' ? 'error' : status, completion.message));
  }

  #stop(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const lane of this.#lanes) this.core.cancel(lane);
  }
}
