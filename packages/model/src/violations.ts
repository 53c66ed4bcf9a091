/**
 * Every limit of the real backends that a caller broke on the model backend. It refuses such a call
 * as the real backend would and lists it here; a test's leak check reports the list, so that a
 * test which makes the core break a limit fails with the limit named instead of passing on a
 * kinder backend.
 */
export class Violations {
  readonly #counts = new Map<string, number>();

  /** @internal */
  record(message: string): void {
    this.#counts.set(message, (this.#counts.get(message) ?? 0) + 1);
  }

  /** The violations since the last call, each once with how often it happened; clears the list. */
  take(): string[] {
    const report = [...this.#counts].map(([message, count]) => (count === 1 ? message : `${message} (${count} times)`));
    this.#counts.clear();
    return report;
  }
}
