/**
 * What a run knows without looking at the device: which device and pipes are usable, whether the
 * current session (one opened device) is still *clean*, and the Loopback ledger that makes the
 * echo checkable while it is.
 *
 * Clean means nothing was cancelled, closed, unplugged or timed out yet. Until then every transfer
 * must succeed and every read must hold exactly the bytes the ledger says; afterwards what a read
 * holds is no longer knowable (a cancelled write may or may not have reached the device, and the
 * dext aborts a whole pipe to cancel one transfer), so only the error types and the teardown are
 * checked.
 *
 * The ledger: Loopback gives the k-th OUT transfer back to the k-th IN transfer when their lengths
 * agree (the fake gathers packets until a short one or a full transfer; the virtual gadget echoes
 * whole transfers and babbles into a shorter read). So each side hands out positions in call order,
 * and a position's length is fixed by whichever side reaches it first.
 *
 * Producers that put transfers in the pipe's queue after their call (a stream's lanes, writeFrom's
 * chunks) have no call order relative to single transfers on the same pipe. So in a clean session,
 * while one runs, nothing else is called on its pipe: the runner first waits for it to finish (and,
 * for a stream, for its spare lanes to be reaped, or they could take bytes meant for later reads).
 * The preconditions below keep those waits from deadlocking.
 */
import type { Direction } from '@dextio/core';

export type PipeState = 'open' | 'closed' | 'gone';

/** Positions `[start, end)` of one side, held by a stream or a writeFrom; `end` may be Infinity. */
export interface Producer {
  readonly start: number;
  readonly end: number;
}

/** A stream's positions all have its transfer size, also those no write has reached yet. */
export interface StreamProducer extends Producer {
  readonly length: number;
}

/**
 * The most positions written and not yet read in a clean session: below the virtual gadget's
 * 64-deep Loopback queue, so every write of a clean session completes.
 */
export const UNREAD_MAX = 48;

/** Leases at once: each keeps a mapped slot, and a pipe without free slots makes mapped reads wait. */
export const LEASES_MAX = 3;

export class Model {
  /** The target's device is plugged in. */
  plugged = true;
  /** The app's device: open, unplugged under it (`gone`), or closed. */
  device: 'open' | 'gone' | 'closed' = 'open';
  readonly pipes: Record<Direction, PipeState> = { in: 'open', out: 'open' };
  clean = true;
  inPos = 0;
  outPos = 0;
  readonly lengths: number[] = [];
  stream: StreamProducer | null = null;
  writeFrom: Producer | null = null;
  leases = 0;

  newSession(): void {
    this.device = 'open';
    this.pipes.in = 'open';
    this.pipes.out = 'open';
    this.clean = true;
    this.inPos = 0;
    this.outPos = 0;
    this.lengths.length = 0;
    this.stream = null;
    this.writeFrom = null;
    this.leases = 0;
  }

  /**
   * Takes the next `count` positions of one side and their lengths: those the other side fixed,
   * else `preferred(i)`.
   */
  take(direction: Direction, count: number, preferred: (i: number) => number): { start: number; lengths: number[] } {
    const start = direction === 'in' ? this.inPos : this.outPos;
    const stream = this.stream;
    const lengths = Array.from({ length: count }, (_, i) => {
      const k = start + i;
      this.lengths[k] ??= stream && k >= stream.start && k < stream.end ? stream.length : preferred(i);
      return this.lengths[k];
    });
    if (direction === 'in') this.inPos += count;
    else this.outPos += count;
    return { start, lengths };
  }

  /** The length already fixed for the next IN position, if any. */
  nextInLength(): number | undefined {
    return this.lengths[this.inPos];
  }

  /** An IN call must not wait for a stream that still needs writes nobody has called yet. */
  canRead(): boolean {
    if (!this.clean) return true;
    return this.stream === null || this.outPos >= this.stream.end;
  }

  /** A stream fixes the lengths of its positions itself: none may be written already. */
  canStream(): boolean {
    return this.canRead() && (!this.clean || this.outPos <= this.inPos);
  }

  /**
   * `count` OUT positions at once must not cross the end of a running stream (its spare lanes
   * would take the rest) nor leave more than {@link UNREAD_MAX} positions unread.
   */
  canWrite(count: number): boolean {
    if (!this.clean) return true;
    const end = this.outPos + count;
    const stream = this.stream;
    if (stream !== null && this.outPos < stream.end && end > stream.end) return false;
    // A stream without an end reads whatever comes.
    if (stream?.end === Infinity) return true;
    return end - this.inPos <= UNREAD_MAX;
  }

  /** Marks the session as no longer clean; its producers stop mattering to the ledger. */
  taint(): void {
    this.clean = false;
    this.stream = null;
    this.writeFrom = null;
  }
}
