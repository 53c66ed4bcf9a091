/**
 * Routes the dext's completions to their transfers by tag, without allocating per transfer.
 *
 * A tag names an entry of this table plus a generation: `generation * ENTRIES + index`. Entries
 * are reused as transfers complete, and the generation advances with every tag, so a tag is unique
 * among the transfers in flight (as the dext requires) and a stale one finds nothing.
 *
 * @internal
 * @module
 */
export type Route = (ioReturn: number, bytes: number) => void;

/** Transfers one connection can have in flight is far fewer (the ABI's limits sum to about 1100). */
const ENTRIES = 1 << 16;
const GENERATIONS = Math.floor(Number.MAX_SAFE_INTEGER / ENTRIES);

export class RouteTable {
  readonly #routes: (Route | null)[] = [];
  readonly #tags: number[] = [];
  readonly #free: number[] = [];
  #generation = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Registers `route` and returns its tag. */
  add(route: Route): number {
    let index = this.#free.pop();
    if (index === undefined) {
      index = this.#routes.length;
      if (index >= ENTRIES) throw new RangeError(`more than ${ENTRIES} transfers in flight on one connection`);
      this.#routes.push(null);
      this.#tags.push(-1);
    }
    this.#generation = (this.#generation % GENERATIONS) + 1;
    const tag = this.#generation * ENTRIES + index;
    this.#routes[index] = route;
    this.#tags[index] = tag;
    this.#size++;
    return tag;
  }

  /** Removes and returns the route of `tag`, or null if it has none (any more). */
  take(tag: number): Route | null {
    const index = tag % ENTRIES;
    if (this.#tags[index] !== tag) return null;
    const route = this.#routes[index]!;
    this.#routes[index] = null;
    this.#tags[index] = -1;
    this.#free.push(index);
    this.#size--;
    return route;
  }

  /** Removes and returns every route. */
  takeAll(): Route[] {
    const routes: Route[] = [];
    for (let index = 0; index < this.#tags.length; index++) {
      const route = this.take(this.#tags[index]!);
      if (route) routes.push(route);
    }
    return routes;
  }
}
