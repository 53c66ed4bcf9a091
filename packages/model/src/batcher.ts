/** Runs queued work in one later turn of the event loop, so that completions arrive batched. */
export class Batcher {
  #work: (() => void)[] = [];
  #scheduled = false;

  push(work: () => void): void {
    this.#work.push(work);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const run of this.#work.splice(0)) run();
    });
  }
}
