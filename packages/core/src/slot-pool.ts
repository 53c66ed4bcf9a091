/**
 * Hands out the mapped slots of one pipe. A slot belongs to one transfer from submission until its
 * completion (or, for a leased IN result, until the lease is released). Callers that find no free
 * slot wait in order; this is the mapped path's only queue, and it is bounded by its callers.
 *
 * @internal
 * @module
 */
export type SlotWaiter = (slot: number) => void;

export class SlotPool {
  readonly #free: number[];
  readonly #waiters: SlotWaiter[] = [];

  constructor(slotCount: number) {
    // Lowest slots first, so a lightly used pipe keeps touching the same memory.
    this.#free = Array.from({ length: slotCount }, (_, i) => slotCount - 1 - i);
  }

  get freeCount(): number {
    return this.#free.length;
  }

  /** Calls `waiter` with a slot now, or when one is released. Returns a function that gives up waiting. */
  take(waiter: SlotWaiter): () => void {
    const slot = this.#free.pop();
    if (slot !== undefined) {
      waiter(slot);
      return noop;
    }
    this.#waiters.push(waiter);
    return () => {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
    };
  }

  release(slot: number): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(slot);
    else this.#free.push(slot);
  }

  /** Drops every waiter; they will never be called. */
  clearWaiters(): SlotWaiter[] {
    return this.#waiters.splice(0);
  }
}

function noop(): void {}
