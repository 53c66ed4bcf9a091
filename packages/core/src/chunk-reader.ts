/**
 * A pull reader over an IN pipe's single reads: the AsyncIterable behind `Pipe.chunks`.
 *
 * Where `Pipe.stream` pushes every chunk as it arrives, this reader submits the next read only
 * when the consumer takes a chunk, so a consumer slower than the device holds at most `inFlight`
 * chunks (read or being read) and the device waits, with NAKs, for the rest.
 *
 * @internal
 * @module
 */
import type { Observable, Subscription } from 'rxjs';
import { errorForStatus, UsbError } from './errors.js';
import { IN_FLIGHT_MAX, type InResult } from './results.js';

/** One read, from subscription to the moment the consumer takes its outcome (or it is cancelled). */
interface Lane {
  state: 'reading' | 'chunk' | 'error' | 'cancelled';
  chunk: Uint8Array | null;
  error: unknown;
  subscription: Subscription | null;
}

/** A `next()` call that waits for the head read. */
interface Request {
  readonly resolve: (result: IteratorResult<Uint8Array, undefined>) => void;
  readonly reject: (error: unknown) => void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Reads chunks of up to `transferSize` bytes with `read`, as an AsyncIterableIterator that pulls.
 *
 * The first `next()` subscribes `inFlight` reads; after that, each chunk the consumer takes
 * subscribes one more. Chunks come out in the order their reads were subscribed (a pipe completes
 * them in that order), a zero-length packet as an empty `Uint8Array`. A read that errors, or
 * reports `'stall'` or `'babble'` (as `StallError` / `OverflowError`), rejects the `next()` that
 * reaches it, after the chunks read before it; the reads behind it are cancelled and the iterator
 * is done. `return()` (a `break` out of `for await`) and `throw()` unsubscribe every outstanding
 * read, which cancels it; `throw(error)` then rejects with `error`, as a generator's would.
 *
 * @param read - one read of up to `length` bytes, as a cold Observable of one {@link InResult}.
 * @param options - the length of each read, and how many reads are kept queued (at least 1).
 */
export function chunks(
  read: (length: number) => Observable<InResult>,
  options: { transferSize: number; inFlight: number },
): AsyncIterableIterator<Uint8Array> {
  // Below 1 the reader would wait forever; above the pipe's maximum it would never stop subscribing.
  const inFlight = Math.min(IN_FLIGHT_MAX, Math.max(1, Math.trunc(options.inFlight) || 1));
  return new ChunkReader(read, options.transferSize, inFlight);
}

class ChunkReader implements AsyncIterableIterator<Uint8Array> {
  #started = false;
  /** Set once nothing more will be read: after `return()`, `throw()` or a read's failure. */
  #stopped = false;
  /** Reads in subscription order: outstanding ones and finished ones the consumer has yet to take. */
  readonly #lanes: Lane[] = [];
  readonly #requests: Request[] = [];

  constructor(
    private readonly read: (length: number) => Observable<InResult>,
    private readonly transferSize: number,
    private readonly inFlight: number,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    return new Promise((resolve, reject) => {
      this.#requests.push({ resolve, reject });
      if (!this.#started) {
        this.#started = true;
        this.#fill();
      }
      this.#answer();
    });
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#finish();
    return Promise.reject(error);
  }

  /** Subscribes reads until `inFlight` are queued, unless the reader has stopped. */
  #fill(): void {
    while (!this.#stopped && this.#lanes.length < this.inFlight) this.#subscribe();
  }

  #subscribe(): void {
    const lane: Lane = { state: 'reading', chunk: null, error: undefined, subscription: null };
    this.#lanes.push(lane);
    try {
      // The handlers may run before subscribe() returns (a closed pipe errors at once).
      const subscription = this.read(this.transferSize).subscribe({
        next: (result) => {
          if (lane.state !== 'reading') return;
          if (result.status === 'ok') this.#settle(lane, 'chunk', result.data);
          else this.#settle(lane, 'error', errorForStatus(result.status));
        },
        error: (error: unknown) => this.#settle(lane, 'error', error),
        complete: () => this.#settle(lane, 'error', new UsbError('the read completed without a result')),
      });
      if (lane.state === 'reading') lane.subscription = subscription;
      // Cancelled while subscribing, before there was a subscription to cancel.
      else if (lane.state === 'cancelled') subscription.unsubscribe();
    } catch (error) {
      this.#settle(lane, 'error', error);
    }
  }

  #settle(lane: Lane, state: 'chunk' | 'error', outcome: unknown): void {
    if (lane.state !== 'reading') return;
    lane.state = state;
    lane.subscription = null;
    if (state === 'chunk') lane.chunk = outcome as Uint8Array;
    else {
      lane.error = outcome;
      // Nothing behind a failed read will be yielded: stop reading it now.
      this.#stopped = true;
      for (const behind of this.#lanes.splice(this.#lanes.indexOf(lane) + 1)) cancel(behind);
    }
    this.#answer();
  }

  /** Hands finished reads, in order, to the `next()` calls waiting for them. */
  #answer(): void {
    while (this.#requests.length > 0) {
      const head = this.#lanes[0];
      if (head === undefined) {
        if (!this.#stopped) return;
        this.#requests.shift()!.resolve(DONE);
        continue;
      }
      if (head.state === 'reading') return;
      const request = this.#requests.shift()!;
      this.#lanes.shift();
      if (head.state === 'error') {
        request.reject(head.error);
        this.#finish();
        continue;
      }
      request.resolve({ done: false, value: head.chunk! });
      this.#fill();
    }
  }

  /** Stops reading, cancels what is outstanding and ends the `next()` calls still waiting. */
  #finish(): void {
    this.#stopped = true;
    for (const lane of this.#lanes.splice(0)) cancel(lane);
    for (const request of this.#requests.splice(0)) request.resolve(DONE);
  }
}

/** Unsubscribes a read that is still outstanding, which cancels its transfer. */
function cancel(lane: Lane): void {
  if (lane.state !== 'reading') return;
  lane.state = 'cancelled';
  lane.subscription?.unsubscribe();
  lane.subscription = null;
}
