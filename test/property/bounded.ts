/** Time limits: a property run must fail with a message, never wait for mocha's timeout. */

/** How long anything the runs wait for may take before it counts as a hang. */
export const SETTLE_MS = 5000;
/** How long one whole run (its commands, teardown and leak check) may take. */
export const RUN_MS = 30_000;

export class HangError extends Error {
  override name = 'HangError';
}

/** Resolves as `promise` does, or rejects with a {@link HangError} naming `what` after `ms`. */
export function within<T>(ms: number, promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what()} (still waiting after ${ms} ms)`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}
