/** Calls with bad arguments, which a run makes on whichever pipe it has, open or closed. */
import type { Direction, Pipe } from '@dextio/core';
import { from } from 'rxjs';

interface BadCall {
  readonly direction: Direction;
  readonly call: (pipe: Pipe) => unknown;
  readonly expect: typeof TypeError | typeof RangeError;
}

/** Calls with bad arguments: each must throw at once and queue nothing. */
export const BAD_CALLS: Readonly<Record<string, BadCall>> = {
  'read(-1)': { direction: 'in', call: (p) => p.read(-1), expect: RangeError },
  'read(1.5)': { direction: 'in', call: (p) => p.read(1.5), expect: TypeError },
  'read(4097, path mapped)': { direction: 'in', call: (p) => p.read(4097, { path: 'mapped' }), expect: RangeError },
  'read(8, timeout -1)': { direction: 'in', call: (p) => p.read(8, { timeout: -1 }), expect: RangeError },
  'read(8, unknown option)': { direction: 'in', call: (p) => p.read(8, { retries: 1 } as object), expect: TypeError },
  'readLeased(4097)': { direction: 'in', call: (p) => p.readLeased(4097), expect: RangeError },
  'read on the OUT pipe': { direction: 'out', call: (p) => p.read(8), expect: TypeError },
  'write(text)': { direction: 'out', call: (p) => p.write('text' as unknown as Uint8Array), expect: TypeError },
  'write on the IN pipe': { direction: 'in', call: (p) => p.write(new Uint8Array(8)), expect: TypeError },
  "write(zlp 'yes')": { direction: 'out', call: (p) => p.write(new Uint8Array(8), { zlp: 'yes' as unknown as boolean }), expect: TypeError },
  'stream(transferSize 0)': { direction: 'in', call: (p) => p.stream({ transferSize: 0 }), expect: RangeError },
  'stream(inFlight above limits)': {
    direction: 'in',
    call: (p) => p.stream({ transferSize: 512, inFlight: p.limits.mapped + 1 }),
    expect: RangeError,
  },
  'writeFrom(42)': { direction: 'out', call: (p) => p.writeFrom(42 as unknown as AsyncIterable<Uint8Array>), expect: TypeError },
  'writeFrom(highWaterMark 0)': { direction: 'out', call: (p) => p.writeFrom(from([]), { highWaterMark: 0 } as object), expect: RangeError },
};
