/**
 * Catches every uncaught exception and unhandled rejection while the properties run, so that one
 * fails the run it happened in, with the call sequence, and fast-check can shrink it. Mocha's own
 * listeners would fail the whole test at once instead; they are set aside meanwhile and put back.
 */
const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

type Listener = (...args: unknown[]) => void;

/** `process` without the per-event overloads, so that one loop can handle both events. */
const emitter: NodeJS.EventEmitter = process;

export class ProcessGuard {
  readonly #seen: string[] = [];
  readonly #saved = new Map<string, Listener[]>();
  readonly #record = (reason: unknown) => {
    this.#seen.push(reason instanceof Error ? (reason.stack ?? String(reason)) : String(reason));
  };

  install(): void {
    for (const event of EVENTS) {
      this.#saved.set(event, emitter.listeners(event) as Listener[]);
      process.removeAllListeners(event);
      emitter.on(event, this.#record);
    }
  }

  uninstall(): void {
    for (const event of EVENTS) {
      emitter.removeListener(event, this.#record);
      for (const listener of this.#saved.get(event) ?? []) emitter.on(event, listener);
    }
    this.#saved.clear();
  }

  /** What was caught since the last call. */
  take(): string[] {
    return this.#seen.splice(0);
  }
}
