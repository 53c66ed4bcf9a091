/**
 * The write side of streaming: chunks from an Observable or an AsyncIterable, `inFlight` writes
 * kept queued, a result emitted per chunk in order.
 *
 * Backpressure comes from the pipe: an AsyncIterable is pulled only when a write can start. An
 * Observable cannot be paused, so its chunks wait in a queue bounded by `highWaterMark`.
 *
 * @internal
 * @module
 */
import { isObservable, Observable, type Subscriber, type Unsubscribable } from 'rxjs';
import { AbortedError, BackpressureError, DisconnectedError, errorForStatus } from './errors.js';
import { QueuedTransfer, type PipeCore } from './pipe-core.js';
import { planPath } from './planner.js';
import type { OutResult } from './results.js';
import { checkBytes, checkLength } from './validate.js';

export interface OutStreamPlan {
  readonly inFlight: number;
  readonly timeout: number;
  readonly zlp: boolean;
  readonly highWaterMark: number;
}

/**
 * What {@link Pipe.writeFrom} writes: each chunk becomes one OUT transfer (at most
 * {@link TRANSFER_LENGTH_MAX} bytes), its path chosen by its length. An AsyncIterable is pulled
 * only when a write can start; an Observable pushes, and its chunks wait in a queue bounded by
 * {@link WriteFromOptions.highWaterMark}.
 */
export type ChunkSource = Observable<Uint8Array> | AsyncIterable<Uint8Array>;

export function outStream(core: PipeCore, source: ChunkSource, plan: OutStreamPlan): Observable<OutResult> {
  return new Observable<OutResult>((subscriber) => {
    const failure = core.failure;
    if (failure) {
      subscriber.error(failure);
      return;
    }
    return new OutStream(core, plan, subscriber).start(source);
  });
}

class OutStream {
  #active = true;
  #sourceDone = false;
  #pulling = false;
  #iterator: AsyncIterator<Uint8Array> | null = null;
  #subscription: Unsubscribable | null = null;
  readonly #queued: unknown[] = [];
  readonly #writes = new Set<QueuedTransfer>();
  #stopWatching: (() => void) | null = null;

  constructor(
    private readonly core: PipeCore,
    private readonly plan: OutStreamPlan,
    private readonly subscriber: Subscriber<OutResult>,
  ) {}

  start(source: ChunkSource): () => void {
    // A close or an unplug must end the stream even while it waits for the source.
    this.#stopWatching = this.core.onFailure((failure) => {
      const error =
        failure instanceof DisconnectedError ? failure : new AbortedError('writeFrom: the pipe was closed');
      this.#error(error);
    });
    if (isObservable(source)) {
      this.#subscription = source.subscribe({
        next: (chunk) => {
          if (this.#queued.length >= this.plan.highWaterMark) {
            return this.#error(new BackpressureError(`the source outran the pipe by ${this.plan.highWaterMark} chunks`));
          }
          this.#queued.push(chunk);
          this.#pump();
        },
        error: (error: unknown) => this.#error(error),
        complete: () => {
          this.#sourceDone = true;
          this.#pump();
        },
      });
      // The source may have ended the stream while subscribing (a bad first chunk).
      if (!this.#active) this.#subscription.unsubscribe();
    } else {
      this.#iterator = source[Symbol.asyncIterator]();
      this.#pump();
    }
    return () => this.#stop();
  }

  /** Starts writes while there is room, pulling the iterator only when a write can start. */
  #pump(): void {
    while (this.#active && this.#writes.size < this.plan.inFlight) {
      if (this.#queued.length > 0) {
        this.#write(this.#queued.shift());
        continue;
      }
      if (this.#iterator && !this.#sourceDone && !this.#pulling) this.#pull(this.#iterator);
      break;
    }
    if (this.#active && this.#sourceDone && this.#writes.size === 0 && this.#queued.length === 0) {
      this.#stop();
      this.subscriber.complete();
    }
  }

  #pull(iterator: AsyncIterator<Uint8Array>): void {
    this.#pulling = true;
    let next: Promise<IteratorResult<Uint8Array>>;
    try {
      next = Promise.resolve(iterator.next());
    } catch (error) {
      this.#pulling = false;
      return this.#error(error);
    }
    next.then(
      (result) => {
        this.#pulling = false;
        if (!this.#active) return;
        if (result.done) this.#sourceDone = true;
        else this.#queued.push(result.value);
        this.#pump();
      },
      (error: unknown) => {
        this.#pulling = false;
        this.#error(error);
      },
    );
  }

  #write(value: unknown): void {
    let data: Uint8Array;
    let path;
    try {
      data = checkBytes('chunk', value);
      checkLength('chunk.byteLength', data.byteLength);
      path = planPath(data.byteLength, undefined, this.core.backend.descriptorMinLength);
    } catch (error) {
      return this.#error(error);
    }
    const write = new QueuedTransfer(this.core, (completion) => {
      this.#writes.delete(write);
      if (!this.#active) return;
      if (completion.status !== 'ok' || completion.error) {
        return this.#error(completion.error ?? errorForStatus(completion.status as Exclude<typeof completion.status, 'ok'>, completion.message));
      }
      this.subscriber.next({ status: 'ok', bytesWritten: completion.bytes, path: write.path });
      this.#pump();
    });
    write.path = path;
    write.length = data.byteLength;
    write.timeout = this.plan.timeout;
    write.zlp = this.plan.zlp;
    write.data = data;
    this.#writes.add(write);
    this.core.start(write);
  }

  #error(error: unknown): void {
    if (!this.#active) return;
    this.#stop();
    this.subscriber.error(error);
  }

  #stop(): void {
    this.#active = false;
    this.#queued.length = 0;
    this.#stopWatching?.();
    this.#stopWatching = null;
    for (const write of this.#writes) this.core.cancel(write);
    this.#writes.clear();
    this.#subscription?.unsubscribe();
    this.#subscription = null;
    const iterator = this.#iterator;
    this.#iterator = null;
    // Let a generator run its finally blocks; a failing return() has nothing left to tell.
    if (iterator?.return) iterator.return().catch(() => undefined);
  }
}
