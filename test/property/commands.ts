/**
 * The commands a run is made of, as fast-check model-based commands: each says when it applies
 * (`check`, on the {@link Model}) and what it calls (`run`, on the {@link Run}). fast-check shrinks
 * a failing sequence by dropping commands and simplifying their arguments; `toString` is what the
 * counterexample shows.
 */
import type { Direction } from '@dextio/core';
import fc from 'fast-check';
import { LEASES_MAX, type Model } from './model.js';
import { BAD_CALLS } from './bad-calls.js';
import { LONG_TIMEOUT, type BurstCall, type Run, type StreamCall, type TransferCall, type WriteFromCall } from './run.js';
import type { OpKind } from './session.js';
import type { SourceKind } from './sources.js';

type Command = fc.AsyncCommand<Model, Run>;

/** Lengths around the packet size and the 4 KiB line between the mapped and descriptor paths. */
const LENGTHS = [1, 511, 512, 513, 4095, 4096, 4097, 5000, 65536];
const MAPPED_LENGTHS = [1, 511, 512, 513, 4095, 4096];

const length = fc.oneof(
  { arbitrary: fc.constantFrom(...LENGTHS), weight: 5 },
  { arbitrary: fc.integer({ min: 1, max: 65536 }), weight: 1 },
);


/** What the commands may do: a clean run never cancels, closes, unplugs or lets a timeout expire. */
export interface CommandSet {
  readonly chaos: boolean;
  /** The target can unplug its device (the 'disconnect' feature). */
  readonly disconnect: boolean;
}

export function commandArbitrary(set: CommandSet): fc.Arbitrary<Command> {
  const timeouts = set.chaos ? [0, 0, LONG_TIMEOUT, 20, 60] : [0, 0, LONG_TIMEOUT];
  const api = fc.constantFrom('observable' as const, 'promise' as const);
  const call: fc.Arbitrary<TransferCall> = fc.record({ length, api, timeout: fc.constantFrom(...timeouts) });
  const streamCall: fc.Arbitrary<StreamCall> = fc.record({
    transferSize: length,
    inFlight: fc.integer({ min: 1, max: 4 }),
    count: set.chaos ? fc.option(fc.integer({ min: 1, max: 8 }), { nil: null, freq: 4 }) : fc.integer({ min: 1, max: 8 }),
  });
  const writeFromCall: fc.Arbitrary<WriteFromCall> = fc.record({
    source: fc.constantFrom<SourceKind>('iterable', 'observable', 'observable-sync'),
    lengths: fc.array(length, { minLength: 1, maxLength: 8 }),
    inFlight: fc.integer({ min: 1, max: 4 }),
    highWaterMark: set.chaos ? fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) : fc.constant(undefined),
    badAt: set.chaos ? fc.option(fc.nat(7), { nil: null, freq: 6 }) : fc.constant(null),
  });
  const burstCall: fc.Arbitrary<BurstCall> = fc.record({
    lengths: fc.array(length, { minLength: 1, maxLength: 4 }),
    api,
    timeout: fc.constantFrom(...timeouts),
  });
  const direction = fc.constantFrom<Direction>('in', 'out');
  const weighted: fc.WeightedArbitrary<Command>[] = [
    { weight: 6, arbitrary: call.map((c) => new Write(c)) },
    { weight: 6, arbitrary: call.map((c) => new Read(c)) },
    { weight: 2, arbitrary: fc.tuple(direction, fc.integer({ min: 6, max: 40 }), burstCall).map(([d, n, c]) => new Burst(d, n, c)) },
    { weight: 2, arbitrary: fc.constantFrom(...MAPPED_LENGTHS).map((n) => new Lease(n)) },
    { weight: 1, arbitrary: fc.constant(new Release()) },
    { weight: 3, arbitrary: streamCall.map((c) => new Stream(c)) },
    { weight: 3, arbitrary: writeFromCall.map((c) => new WriteFrom(c)) },
    { weight: 4, arbitrary: fc.constantFrom(0, 1, 5, 20).map((ms) => new Tick(ms)) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.keys(BAD_CALLS)).map((name) => new Bad(name)) },
  ];
  if (set.chaos) {
    weighted.push(
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom<OpKind>('read', 'write', 'stream', 'writeFrom'), fc.nat(9))
          .map(([kind, index]) => new Cancel(kind, index)),
      },
      { weight: 1, arbitrary: direction.map((d) => new ClosePipe(d)) },
      { weight: 1, arbitrary: fc.constant(new CloseDevice()) },
      { weight: 2, arbitrary: fc.constant(new Open()) },
    );
    if (set.disconnect) {
      weighted.push({ weight: 1, arbitrary: fc.constant(new Disconnect()) }, { weight: 2, arbitrary: fc.constant(new Reconnect()) });
    }
  }
  return fc.oneof(...weighted);
}

function describeCall(c: Omit<TransferCall, 'length'> & { readonly length: number | string }): string {
  return `${c.length}${c.api === 'promise' ? ', promise' : ''}${c.timeout === 0 ? '' : `, timeout ${c.timeout}`}`;
}

class Write implements Command {
  constructor(readonly call: TransferCall) {}
  check = (m: Readonly<Model>) => m.canWrite(1);
  run = (_: Model, r: Run) => r.write(this.call);
  toString = () => `write(${describeCall(this.call)})`;
}

class Read implements Command {
  constructor(readonly call: TransferCall) {}
  check = (m: Readonly<Model>) => m.canRead();
  run = (_: Model, r: Run) => r.read(this.call);
  toString = () => `read(${describeCall(this.call)})`;
}

class Burst implements Command {
  constructor(
    readonly direction: Direction,
    readonly count: number,
    readonly call: BurstCall,
  ) {}
  check = (m: Readonly<Model>) => (this.direction === 'in' ? m.canRead() : m.canWrite(this.count));
  run = (_: Model, r: Run) => r.burst(this.direction, this.count, this.call);
  toString = () => `burst(${this.direction} × ${this.count}: ${describeCall({ ...this.call, length: this.call.lengths.join('/') })})`;
}

class Lease implements Command {
  constructor(readonly length: number) {}
  // A position whose length a write fixed above 4096 cannot be leased.
  check = (m: Readonly<Model>) => m.canRead() && m.leases < LEASES_MAX && (m.nextInLength() ?? 0) <= 4096;
  run = (_: Model, r: Run) => r.readLeased(this.length);
  toString = () => `readLeased(${this.length})`;
}

class Release implements Command {
  check = (m: Readonly<Model>) => m.leases > 0;
  run = async (_: Model, r: Run) => r.release();
  toString = () => 'release()';
}

class Stream implements Command {
  constructor(readonly call: StreamCall) {}
  check = (m: Readonly<Model>) => m.canStream();
  run = (_: Model, r: Run) => r.stream(this.call);
  toString = () => `stream(${this.call.transferSize} × ${this.call.count ?? '∞'}, inFlight ${this.call.inFlight})`;
}

class WriteFrom implements Command {
  constructor(readonly call: WriteFromCall) {}
  check = (m: Readonly<Model>) => m.canWrite(this.call.lengths.length);
  run = (_: Model, r: Run) => r.writeFrom(this.call);
  toString = () => {
    const { source, lengths, inFlight, highWaterMark, badAt } = this.call;
    const extra = `${highWaterMark === undefined ? '' : `, highWaterMark ${highWaterMark}`}${badAt === null ? '' : `, bad chunk ${badAt}`}`;
    return `writeFrom(${source} [${lengths.join(', ')}], inFlight ${inFlight}${extra})`;
  };
}

class Tick implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  run = (_: Model, r: Run) => r.tick(this.ms);
  toString = () => (this.ms === 0 ? 'tick()' : `tick(${this.ms} ms)`);
}

class Bad implements Command {
  constructor(readonly name: string) {}
  check = () => true;
  run = async (_: Model, r: Run) => r.bad(this.name);
  toString = () => `bad(${this.name})`;
}

class Cancel implements Command {
  constructor(
    readonly kind: OpKind,
    readonly index: number,
  ) {}
  check = () => true;
  run = async (_: Model, r: Run) => r.cancel(this.kind, this.index);
  toString = () => `cancel(${this.kind} ${this.index})`;
}

class ClosePipe implements Command {
  constructor(readonly direction: Direction) {}
  // Also when closed: close() is idempotent, and a second call resolves only once all is reaped too.
  check = () => true;
  run = async (_: Model, r: Run) => r.closePipe(this.direction);
  toString = () => `closePipe(${this.direction})`;
}

class CloseDevice implements Command {
  check = (m: Readonly<Model>) => m.device !== 'closed';
  run = async (_: Model, r: Run) => r.closeDevice();
  toString = () => 'closeDevice()';
}

class Open implements Command {
  check = (m: Readonly<Model>) => m.plugged && m.device === 'closed';
  run = (_: Model, r: Run) => r.open();
  toString = () => 'open()';
}

class Disconnect implements Command {
  check = (m: Readonly<Model>) => m.plugged;
  run = (_: Model, r: Run) => r.disconnect();
  toString = () => 'disconnect()';
}

class Reconnect implements Command {
  check = (m: Readonly<Model>) => !m.plugged;
  run = (_: Model, r: Run) => r.reconnect();
  toString = () => 'reconnect()';
}
