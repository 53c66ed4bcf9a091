/**
 * The system under test of one property run: the target, the sessions opened on it and every
 * operation called on them. Operations are fired, not awaited; their results are checked as they
 * arrive, and `finish` checks that everything settles, closes cleanly and leaks nothing.
 *
 * Invariants, with where they are checked:
 * - echo order: in a clean session every IN transfer holds exactly the bytes written at its
 *   Loopback position, whatever paths and producers the two sides used (`#checkRead`);
 * - typed errors: an operation fails only with an error its situation allows (`#judge`), never a
 *   bare UsbError or a stray TypeError; bad arguments throw their TypeError or RangeError at once;
 * - no hang: producers a clean session waits for, the clean session's matched transfers, and
 *   everything after `device.close()`, settle within {@link SETTLE_MS};
 * - teardown: close resolves with `pipe.outstanding === 0`, leases read as empty, writeFrom's
 *   source is returned or unsubscribed, and `target.leaks()` is empty;
 * - no uncaught exception or unhandled rejection (the {@link ProcessGuard}).
 */
import {
  AbortedError,
  ClosedError,
  DisconnectedError,
  OverflowError,
  TimeoutError,
  type Direction,
  type InResult,
  type OutResult,
  type Pipe,
  type TransferStatus,
} from '@dextio/core';
import { Observable, take } from 'rxjs';
import type { Target } from '../conformance/target.js';
import { BAD_CALLS } from './bad-calls.js';
import { HangError, SETTLE_MS, sleep, within } from './bounded.js';
import { openLoopback } from './loopback.js';
import { Model } from './model.js';
import type { ProcessGuard } from './process-guard.js';
import { allow, describeError, Op, plannedPath, sameBytes, Session, type Allowance, type OpKind } from './session.js';
import { chunkSource, writeFromOutcome, type SourceKind, type SourceState } from './sources.js';

/** How a single transfer is called. */
export interface TransferCall {
  readonly length: number;
  /** The Observable (cancellable) or its Promise helper. */
  readonly api: 'observable' | 'promise';
  /** 0, a short timeout that may expire, or {@link LONG_TIMEOUT}. */
  readonly timeout: number;
}

export interface BurstCall extends Omit<TransferCall, 'length'> {
  readonly lengths: readonly number[];
}

export interface WriteFromCall {
  readonly source: SourceKind;
  readonly lengths: readonly number[];
  readonly inFlight: number;
  readonly highWaterMark: number | undefined;
  /** Where a chunk that is not bytes goes, or `null`. */
  readonly badAt: number | null;
}

export interface StreamCall {
  readonly transferSize: number;
  readonly inFlight: number;
  /** Chunks taken before unsubscribing, or `null` for a stream that runs until something ends it. */
  readonly count: number | null;
}

/** A timeout that must not expire: it makes a hung transfer fail before {@link SETTLE_MS} does. */
export const LONG_TIMEOUT = 4000;

/** Lines of the run's log a failure shows. */
const LOG_LINES = 150;

export class RunFailure extends Error {
  override name = 'RunFailure';
}

export class Run {
  readonly model = new Model();
  readonly sessions: Session[] = [];
  readonly #log: string[] = [];
  readonly #violations: string[] = [];
  readonly #sources = new Map<Op, SourceState>();
  #nextOp = 1;
  #abandoned = false;
  /** Reads whose bytes were compared with their position's, for the run's summary. */
  #echoes = 0;

  constructor(
    readonly target: Target,
    readonly guard: ProcessGuard,
  ) {}

  get session(): Session {
    return this.sessions[this.sessions.length - 1]!;
  }

  async start(): Promise<void> {
    await this.#openSession();
  }

  // ---- transfers -------------------------------------------------------------------------

  async read(call: TransferCall): Promise<void> {
    if (await this.#barrier('in', 1)) this.#read(call, 'read');
  }

  async write(call: TransferCall): Promise<void> {
    if (await this.#barrier('out', 1)) this.#write(call, 'write');
  }

  /**
   * `count` transfers in one go, their lengths taken from `call.lengths` in turn: more than a
   * pipe's slots or descriptor share, so that most wait in its queue, on both paths.
   */
  async burst(direction: Direction, count: number, call: BurstCall): Promise<void> {
    if (!(await this.#barrier(direction, count))) return;
    for (let i = 0; i < count; i++) {
      const single = { ...call, length: call.lengths[i % call.lengths.length]! };
      if (direction === 'in') this.#read(single, 'burst read');
      else this.#write(single, 'burst write');
    }
  }

  async readLeased(length: number): Promise<void> {
    if (!(await this.#barrier('in', 1))) return;
    const s = this.session;
    const positions = this.#take('in', [length]);
    const actual = positions?.lengths[0] ?? length;
    const op = this.#op(`lease ${actual} B`, 'lease', 'in', positions, []);
    if (this.model.pipes.in !== 'closed') this.model.leases++;
    this.#subscribe(op, () => s.pipes.in.readLeased(actual), (result) => {
      s.leases.push({ op, result, released: false });
      this.#checkRead(op, actual, op.positions?.start, result);
    });
  }

  /** Releases the oldest lease that has arrived. */
  release(): void {
    if (this.#abandoned) return;
    const lease = this.session.leases.find((l) => !l.released);
    if (!lease) return this.#note('release: no lease has arrived yet');
    lease.released = true;
    this.model.leases--;
    this.#note(`release ${lease.op.label}`);
    lease.result.release();
    if (lease.result.data.length !== 0) this.#violate(`${lease.op.label}: data still holds ${lease.result.data.length} bytes after release()`);
  }

  async stream(call: StreamCall): Promise<void> {
    if (!(await this.#barrier('in', 1))) return;
    const s = this.session;
    const { transferSize, count } = call;
    const open = this.model.pipes.in === 'open';
    let start = this.model.inPos;
    if (open && count !== null) start = this.#take('in', Array(count).fill(transferSize))!.start;
    const positions = open ? { start, end: count === null ? Infinity : start + count } : null;
    // After an earlier cancel or close, a stream may meet a transfer written for another length.
    const overflow: Allowance = { name: 'OverflowError (once not clean)', test: (e) => e instanceof OverflowError && !s.clean };
    const op = this.#op(`stream ${transferSize} B × ${count ?? '∞'} inFlight ${call.inFlight}`, 'stream', 'in', positions, [overflow]);
    if (open && s.clean) {
      s.stream = op;
      this.model.stream = { start, end: positions!.end, length: transferSize };
    }
    let received = 0;
    this.#subscribe(
      op,
      () => {
        const pipe = s.pipes.in;
        const inFlight = open ? Math.min(call.inFlight, pipe.limits[plannedPath(transferSize)]) : call.inFlight;
        const chunks = pipe.stream({ transferSize, inFlight });
        return count === null ? chunks : chunks.pipe(take(count));
      },
      (chunk) => {
        this.#checkRead(op, transferSize, positions ? start + received : undefined, { status: 'ok', data: chunk, path: plannedPath(transferSize) });
        received++;
      },
      () => {
        if (count === null) this.#violate(`${op.label} completed, though nothing ended it`);
        else if (received !== count) this.#violate(`${op.label} completed after ${received} chunks`);
      },
    );
  }

  async writeFrom(call: WriteFromCall): Promise<void> {
    if (!(await this.#barrier('out', call.lengths.length))) return;
    const s = this.session;
    const positions = this.#take('out', call.lengths);
    const lengths = positions?.lengths ?? [...call.lengths];
    const chunks = lengths.map((length, i) => (positions ? s.bytesAt(positions.start + i, length) : new Uint8Array(length)));
    const badAt = call.badAt === null ? null : call.badAt % chunks.length;
    const values: unknown[] = badAt === null ? chunks : chunks.map((chunk, i) => (i === badAt ? 'not bytes' : chunk));
    const { allowed, mustFail } = writeFromOutcome(call, chunks.length, badAt);
    const options = `${call.source}, inFlight ${call.inFlight}${call.highWaterMark === undefined ? '' : `, highWaterMark ${call.highWaterMark}`}`;
    const detail = `[${lengths.join(', ')}]${badAt === null ? '' : `, chunk ${badAt} not bytes`}`;
    const op = this.#op(`writeFrom(${options}) ${detail}`, 'writeFrom', 'out', positions, [...allowed]);
    positions?.lengths.forEach((_, i) => s.written.set(positions.start + i, { bytes: chunks[i]!, label: `${op.label} chunk ${i}` }));
    // Chunks before the failing one may or may not be written when it ends the stream.
    if (allowed.length > 0) this.#taint(s, `${op.label} may fail with ${allowed.map((a) => a.name).join(' or ')}`);
    else if (positions && s.clean) {
      s.writeFrom = op;
      this.model.writeFrom = { start: positions.start, end: positions.start + lengths.length };
    }
    const source = chunkSource(call.source, values);
    this.#sources.set(op, source.state);
    let results = 0;
    this.#subscribe(
      op,
      () =>
        s.pipes.out.writeFrom(source.source, {
          inFlight: call.inFlight,
          ...(call.highWaterMark === undefined ? {} : { highWaterMark: call.highWaterMark }),
        }),
      (result) => this.#checkWrite(op, lengths[results++] ?? -1, result),
      () => {
        if (mustFail) this.#violate(`${op.label} completed, though it had to fail with ${allowed.map((a) => a.name).join(' or ')}`);
        else if (results !== chunks.length) this.#violate(`${op.label} completed after ${results} of ${chunks.length} results`);
      },
    );
  }

  // ---- chaos -----------------------------------------------------------------------------

  /** Unsubscribes the `index`-th live operation of a kind (leases count as reads). */
  cancel(kind: OpKind, index: number): void {
    if (this.#abandoned) return;
    const s = this.session;
    const live = s.ops.filter((op) => op.subscription !== null && (op.kind === kind || (kind === 'read' && op.kind === 'lease')));
    if (live.length === 0) return this.#note(`cancel ${kind}: none is running`);
    const op = live[index % live.length]!;
    this.#taint(s, `cancel ${op.label}`);
    op.subscription!.unsubscribe();
    op.settle();
    this.#abortsPipe(op);
  }

  closePipe(direction: Direction): void {
    if (this.#abandoned) return;
    const s = this.session;
    const pipe = s.pipes[direction];
    this.model.pipes[direction] = 'closed';
    this.#taint(s, `pipe ${direction}: close()`);
    s.allowPending(direction, allow(AbortedError));
    this.#closing(s, `pipe ${direction}: close()`, pipe.close(), () => this.#checkClosed(s, [pipe]));
  }

  closeDevice(): void {
    if (this.#abandoned) return;
    const s = this.session;
    this.model.device = 'closed';
    this.model.pipes.in = 'closed';
    this.model.pipes.out = 'closed';
    this.#taint(s, 'device.close()');
    s.allowPending(null, allow(AbortedError));
    this.#closing(s, 'device.close()', s.pipes.device.close(), () => this.#checkClosed(s, [s.pipes.in, s.pipes.out]));
  }

  async disconnect(): Promise<void> {
    if (this.#abandoned) return;
    if (this.model.device === 'open') {
      this.model.device = 'gone';
      for (const direction of ['in', 'out'] as const) if (this.model.pipes[direction] === 'open') this.model.pipes[direction] = 'gone';
    }
    // Also after a close: what the close is still aborting may end as unplugged instead.
    this.#taint(this.session, 'target.disconnect()');
    this.session.allowPending(null, allow(DisconnectedError));
    this.model.plugged = false;
    await within(SETTLE_MS, this.target.disconnect!(), () => 'target.disconnect() did not resolve');
  }

  async reconnect(): Promise<void> {
    if (this.#abandoned) return;
    this.#note('target.reconnect()');
    await within(SETTLE_MS, this.target.reconnect!(), () => 'target.reconnect() did not resolve');
    this.model.plugged = true;
  }

  /** Opens a new session once the last one is closed. */
  async open(): Promise<void> {
    if (this.#abandoned) return;
    await this.#settleClosed(this.session);
    const leaks = (await this.target.leaks?.()) ?? [];
    if (leaks.length > 0) this.#violate(`after session ${this.session.id} closed: ${leaks.join('; ')}`);
    await this.#openSession();
  }

  async tick(ms: number): Promise<void> {
    if (!this.#abandoned) await sleep(ms);
  }

  /** Calls with bad arguments throw their error at once (ClosedError first on a closed pipe). */
  bad(name: string): void {
    if (this.#abandoned) return;
    const { direction, call, expect } = BAD_CALLS[name]!;
    const pipe = this.session.pipes[direction];
    const state = this.model.pipes[direction];
    this.#note(`bad call ${name} (pipe ${direction} ${state})`);
    const before = pipe.outstanding;
    let thrown: unknown = null;
    try {
      call(pipe);
    } catch (error) {
      thrown = error;
    }
    const closedFirst = state === 'closed' && thrown instanceof ClosedError;
    if (thrown === null) this.#violate(`${name} did not throw`);
    else if (!closedFirst && (!(thrown instanceof expect) || thrown instanceof ClosedError)) {
      this.#violate(`${name} threw ${describeError(thrown)} instead of a ${expect.name}`);
    }
    if (pipe.outstanding !== before) this.#violate(`${name} changed pipe.outstanding from ${before} to ${pipe.outstanding}`);
  }

  // ---- the end of a run ------------------------------------------------------------------

  /** Lets a clean session finish, closes everything, and checks what must hold afterwards. */
  async finish(): Promise<void> {
    if (this.#abandoned) return;
    const s = this.session;
    if (s.clean) await this.#settleClean(s);
    if (this.model.device !== 'closed') this.closeDevice();
    for (const session of this.sessions) await this.#settleClosed(session);
    for (const session of this.sessions) {
      for (const lease of session.leases) {
        if (lease.result.data.length !== 0) this.#violate(`${lease.op.label}: data holds ${lease.result.data.length} bytes after close`);
        lease.result.release();
      }
    }
    await this.#checkSourcesReturned();
    if (!this.model.plugged) await this.reconnect();
    const leaks = (await this.target.leaks?.()) ?? [];
    if (leaks.length > 0) this.#violate(`after the run: ${leaks.join('; ')}`);
    // A rejection nobody handles is reported a turn after it happens.
    await sleep(0);
    await sleep(0);
    for (const event of this.guard.take()) this.#violate(`uncaught: ${event}`);
    this.#note(`${this.#echoes} echoes checked`);
    if (this.#violations.length > 0) throw new RunFailure(this.report());
  }

  /** After a failure or a hang: closes what is open so that the next run finds the target usable. */
  async cleanup(): Promise<void> {
    this.#abandoned = true;
    for (const session of this.sessions) {
      await within(SETTLE_MS, session.pipes.device.close(), () => 'device.close()').catch(() => undefined);
    }
    if (!this.model.plugged) await within(SETTLE_MS, this.target.reconnect!(), () => 'reconnect').catch(() => undefined);
  }

  /** The error a failed run reports: what went wrong, the violations seen, and the log. */
  failure(error: unknown): Error {
    if (error instanceof RunFailure) return error;
    const what = error instanceof HangError ? `hang: ${error.message}` : `the run threw ${describeError(error)}`;
    return new RunFailure(`${what}\n${this.report()}`);
  }

  /** What is still pending, for a watchdog's message. */
  pending(): string {
    const ops = this.sessions.flatMap((s) => s.ops).filter((op) => !op.settled);
    return ops.length === 0 ? 'no operation pending' : `pending: ${ops.map((op) => op.label).join(', ')}`;
  }

  report(): string {
    const log = this.#log.length > LOG_LINES ? [`… ${this.#log.length - LOG_LINES} earlier lines`, ...this.#log.slice(-LOG_LINES)] : this.#log;
    const violations = this.#violations.length > 0 ? this.#violations.map((v) => `  ✗ ${v}`).join('\n') : '  (none before it)';
    return `violations:\n${violations}\nrun log:\n${log.map((line) => `  ${line}`).join('\n')}`;
  }

  // ---- internals -------------------------------------------------------------------------

  async #openSession(): Promise<void> {
    const pipes = await within(SETTLE_MS, openLoopback(this.target), () => 'opening Loopback');
    const session = new Session(this.sessions.length + 1, pipes);
    this.sessions.push(session);
    this.model.newSession();
    this.#note(`session ${session.id}: opened Loopback (limits in ${JSON.stringify(pipes.in.limits)}, out ${JSON.stringify(pipes.out.limits)})`);
  }

  /**
   * In a clean session, waits for the producer running on the pipe `direction` before calling
   * more on it (and for a stream before writing past its positions). Returns false once the run
   * is abandoned.
   */
  async #barrier(direction: Direction, count: number): Promise<boolean> {
    if (this.#abandoned) return false;
    const s = this.session;
    const stream = this.model.stream;
    if (direction === 'in' && s.stream) await this.#finishProducer(s, s.stream, s.pipes.in);
    if (direction === 'out' && s.writeFrom) await this.#finishProducer(s, s.writeFrom, null);
    if (direction === 'out' && s.stream && stream && this.model.outPos + count > stream.end) {
      await this.#finishProducer(s, s.stream, s.pipes.in);
    }
    return !this.#abandoned;
  }

  async #finishProducer(s: Session, op: Op, reaped: Pipe | null): Promise<void> {
    await within(SETTLE_MS, Promise.race([op.done, s.tainted]), () => `${op.label} did not finish though every position it needs was called`);
    // Its spare lanes are cancelled now; until they are reaped they could take later reads' bytes.
    if (reaped && s.clean) {
      await within(SETTLE_MS, Promise.race([reaped.drained(), s.tainted]), () => `pipe.drained() after ${op.label}`);
      if (reaped.outstanding !== 0) this.#violate(`pipe.outstanding is ${reaped.outstanding} once drained() resolved after ${op.label}`);
    }
    if (s.stream === op) {
      s.stream = null;
      this.model.stream = null;
    }
    if (s.writeFrom === op) {
      s.writeFrom = null;
      this.model.writeFrom = null;
    }
  }

  /** In a clean session, every transfer whose counterpart was called must complete. */
  async #settleClean(s: Session): Promise<void> {
    const outPos = this.model.outPos;
    const due = s.ops.filter(
      (op) => op.positions !== null && !op.settled && (op.direction === 'out' || op.positions.end <= outPos),
    );
    const label = () => `in a clean session, ${due.filter((op) => !op.settled).map((op) => op.label).join(', ')} did not complete though every position they need was written`;
    await within(SETTLE_MS, Promise.race([Promise.all(due.map((op) => op.done)), s.tainted]), label);
  }

  /** Once closed, a session's closes resolve and every operation on it ends. */
  async #settleClosed(s: Session): Promise<void> {
    await within(SETTLE_MS, Promise.all(s.closing), () => `session ${s.id}: a close did not resolve`);
    const ops = s.ops;
    await within(SETTLE_MS, Promise.all(ops.map((op) => op.done)), () => {
      return `session ${s.id} is closed, but ${ops.filter((op) => !op.settled).map((op) => op.label).join(', ')} never ended`;
    });
  }

  #checkClosed(s: Session, pipes: Pipe[]): void {
    for (const pipe of pipes) {
      if (pipe.outstanding !== 0) this.#violate(`session ${s.id}: pipe ${pipe.direction} has outstanding ${pipe.outstanding} after close resolved`);
    }
    if (pipes.some((pipe) => pipe.direction === 'in')) {
      for (const lease of s.leases) {
        if (lease.result.data.length !== 0) this.#violate(`${lease.op.label}: data holds ${lease.result.data.length} bytes once the pipe is closed`);
      }
    }
  }

  /** Every writeFrom that ended has returned its iterator or unsubscribed from its Observable. */
  async #checkSourcesReturned(): Promise<void> {
    const open = () => [...this.#sources].filter(([op, state]) => op.settled && state.started && !state.finalized);
    const deadline = Date.now() + SETTLE_MS;
    while (open().length > 0 && Date.now() < deadline) await sleep(5);
    for (const [op] of open()) this.#violate(`${op.label} ended, but its source was never returned or unsubscribed`);
  }

  #closing(s: Session, what: string, promise: Promise<void>, after: () => void): void {
    s.closing.push(
      promise.then(after, (error: unknown) => {
        this.#violate(`${what} rejected with ${describeError(error)}`);
      }),
    );
  }

  #read(call: TransferCall, name: string): void {
    const s = this.session;
    const positions = this.#take('in', [call.length]);
    const length = positions?.lengths[0] ?? call.length;
    const options = call.timeout === 0 ? {} : { timeout: call.timeout };
    const op = this.#op(`${name} ${length} B${timeoutText(call)}`, 'read', 'in', positions, this.#timeoutAllowances(s, call.timeout));
    const check = (result: InResult) => this.#checkRead(op, length, op.positions?.start, result);
    if (call.api === 'promise') this.#await(op, () => s.pipes.in.transferIn(length, options), check);
    else this.#subscribe(op, () => s.pipes.in.read(length, options), check);
  }

  #write(call: TransferCall, name: string): void {
    const s = this.session;
    const positions = this.#take('out', [call.length]);
    const length = positions?.lengths[0] ?? call.length;
    const data = positions ? s.bytesAt(positions.start, length) : new Uint8Array(length);
    const options = call.timeout === 0 ? {} : { timeout: call.timeout };
    const op = this.#op(`${name} ${length} B${timeoutText(call)}`, 'write', 'out', positions, this.#timeoutAllowances(s, call.timeout));
    if (positions) s.written.set(positions.start, { bytes: data, label: op.label });
    const check = (result: OutResult) => this.#checkWrite(op, length, result);
    if (call.api === 'promise') this.#await(op, () => s.pipes.out.transferOut(data, options), check);
    else this.#subscribe(op, () => s.pipes.out.write(data, options), check);
  }

  /** Positions for transfers on an open pipe; none when the pipe is closed or gone. */
  #take(direction: Direction, lengths: readonly number[]) {
    if (this.model.pipes[direction] !== 'open') return null;
    const taken = this.model.take(direction, lengths.length, (i) => lengths[i]!);
    return { ...taken, end: taken.start + lengths.length };
  }

  #op(what: string, kind: OpKind, direction: Direction, range: { start: number; end: number } | null, own: Allowance[]): Op {
    const s = this.session;
    const state = this.model.pipes[direction];
    const at = range ? (range.end - range.start === 1 ? ` @${range.start}` : ` @${range.start}–${range.end - 1}`) : ` (pipe ${state})`;
    const op = new Op(`#${this.#nextOp++} ${what}${at}`, kind, s, direction, range, own);
    // Called after close, it must throw ClosedError (the Promise helpers reject with it instead).
    if (state === 'closed') own.push(allow(ClosedError));
    if (state === 'gone') {
      op.mustFail = true;
      own.push(allow(DisconnectedError));
    }
    s.ops.push(op);
    this.#note(op.label);
    return op;
  }

  #subscribe<T>(op: Op, make: () => Observable<T>, next: (value: T) => void, complete?: () => void): void {
    let observable: Observable<T>;
    try {
      observable = make();
    } catch (error) {
      if (!op.own.some((a) => a.test(error))) this.#violate(`${op.label} threw ${describeError(error)}`);
      op.settle();
      return;
    }
    if (this.model.pipes[op.direction] === 'closed') this.#violate(`${op.label} on a closed pipe did not throw ClosedError`);
    const subscription = observable.subscribe({
      next,
      error: (error: unknown) => {
        this.#judge(op, error);
        op.settle();
        if (op.kind === 'stream' || op.kind === 'writeFrom') this.#abortsPipe(op);
      },
      complete: () => {
        if (op.mustFail) this.#violate(`${op.label} completed on an unplugged device`);
        complete?.();
        op.settle();
        // take(n) unsubscribes the stream, which cancels its spare lanes.
        if (op.kind === 'stream') this.#abortsPipe(op);
      },
    });
    if (!op.settled) op.subscription = subscription;
  }

  #await<T>(op: Op, make: () => Promise<T>, next: (value: T) => void): void {
    let promise: Promise<T>;
    try {
      promise = make();
    } catch (error) {
      this.#violate(`${op.label}: the Promise helper threw ${describeError(error)} instead of rejecting`);
      op.settle();
      return;
    }
    promise.then(
      (value) => {
        if (op.mustFail) this.#violate(`${op.label} succeeded on an unplugged device`);
        next(value);
        op.settle();
      },
      (error: unknown) => {
        this.#judge(op, error);
        op.settle();
      },
    );
  }

  #timeoutAllowances(s: Session, timeout: number): Allowance[] {
    if (timeout === 0) return [];
    if (timeout < LONG_TIMEOUT) return [allow(TimeoutError)];
    return [{ name: 'TimeoutError (once not clean)', test: (e) => e instanceof TimeoutError && !s.clean }];
  }

  /** An error is fine only if the operation or its session allows it. */
  #judge(op: Op, error: unknown): void {
    const s = op.session;
    const allowed = op.own;
    if (allowed.some((a) => a.test(error))) {
      this.#note(`${op.label} → ${describeError(error)}`);
      // The position's bytes may still come, to the next read.
      if (error instanceof TimeoutError) this.#taint(s, `${op.label} timed out`);
      return;
    }
    const context = s.clean ? 'in a clean session, where it may not fail' : `allowed: ${allowed.map((a) => a.name).join(', ') || 'nothing'}`;
    this.#violate(`${op.label} failed with ${describeError(error)} (${context})`);
  }

  #checkRead(op: Op, length: number, position: number | undefined, result: { status: TransferStatus; data: ArrayLike<number>; path: string }): void {
    const { status, data, path } = result;
    if (path !== plannedPath(length)) this.#violate(`${op.label} took the ${path} path`);
    if (op.mustFail) this.#violate(`${op.label} received data on an unplugged device`);
    if (data.length > length) this.#violate(`${op.label} received ${data.length} bytes`);
    const s = op.session;
    if (!s.clean || position === undefined) {
      if (status === 'stall') this.#violate(`${op.label} reported a stall, which Loopback never sends`);
      return;
    }
    if (status !== 'ok') return this.#violate(`${op.label} ended with status '${status}' in a clean session`);
    const expected = s.written.get(position);
    if (!expected) return this.#violate(`${op.label} received ${s.identify(data)} before position ${position} was written`);
    this.#echoes++;
    if (!sameBytes(data, expected.bytes)) {
      this.#violate(`${op.label} received ${s.identify(data)} instead of those of ${expected.label}`);
    }
  }

  #checkWrite(op: Op, length: number, result: OutResult): void {
    if (op.mustFail) this.#violate(`${op.label} succeeded on an unplugged device`);
    if (result.path !== plannedPath(length)) this.#violate(`${op.label} took the ${result.path} path`);
    // Loopback takes whole transfers and never halts, clean session or not.
    if (result.status !== 'ok') this.#violate(`${op.label} ended with status '${result.status}'`);
    else if (result.bytesWritten !== length) this.#violate(`${op.label} wrote ${result.bytesWritten} of ${length} bytes`);
  }

  /**
   * An unsubscribed or failed stream or writeFrom cancels its other transfers, and so does a
   * cancelled transfer: DriverKit cancels by aborting the whole pipe, so whatever else is pending
   * on it may end with AbortedError too (the backend contract allows it).
   */
  #abortsPipe(op: Op): void {
    op.session.allowPending(op.direction, allow(AbortedError));
  }

  #taint(s: Session, reason: string): void {
    this.#note(`${s.clean ? 'no longer clean: ' : ''}${reason}`);
    s.taint();
    if (s === this.session) this.model.taint();
  }

  #violate(message: string): void {
    this.#violations.push(message);
    this.#note(`✗ ${message}`);
  }

  #note(line: string): void {
    this.#log.push(line);
  }
}

function timeoutText(call: TransferCall): string {
  return `${call.api === 'promise' ? ' (Promise)' : ''}${call.timeout === 0 ? '' : ` timeout ${call.timeout}`}`;
}
