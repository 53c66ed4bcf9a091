/**
 * A first-in, first-out queue on a ring of slots that grows by doubling and never shrinks: a pipe's
 * queue is pushed and popped once per transfer, and a plain array's `shift` or `splice` would
 * allocate or copy each time.
 *
 * @internal
 * @module
 */
export class Fifo<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = item;
    this.#size++;
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return item;
  }

  /** Removes `item` wherever it is, keeping the others' order; returns whether it was there. */
  remove(item: T): boolean {
    const mask = this.#items.length - 1;
    for (let i = 0; i < this.#size; i++) {
      if (this.#items[(this.#head + i) & mask] !== item) continue;
      for (let j = i; j < this.#size - 1; j++) {
        this.#items[(this.#head + j) & mask] = this.#items[(this.#head + j + 1) & mask];
      }
      this.#items[(this.#head + this.#size - 1) & mask] = undefined;
      this.#size--;
      return true;
    }
    return false;
  }

  /** Removes and returns everything, oldest first. */
  takeAll(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }

  #grow(): void {
    const items = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
