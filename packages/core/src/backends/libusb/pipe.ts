/**
 * A bulk or interrupt pipe over `usb`'s low-level `Transfer`: the caller's buffer goes to libusb
 * as it is (a Buffer view, no copy), and finished `Transfer` objects are kept and resubmitted, so
 * a busy pipe allocates no libusb transfers after its first few.
 *
 * `usb` calls the callback given when a `Transfer` is made, whatever `submit` is passed, so each
 * kept transfer carries a slot for the handler of its current submission.
 *
 * @internal
 * @module
 */
import type { Endpoint, Transfer } from 'usb';
import type { BackendPipe, Completion, CompletionStatus, TransferHandle, TransferRequest } from '../../backend.js';
import type { Direction, EndpointType } from '../../descriptors.js';
import { MAPPED_TRANSFER_MAX } from '../../planner.js';
import { call, completionStatus, type LibusbError } from './status.js';

/** Mapped slots per pipe: the pool of reused 4 KiB buffers. */
export const LIBUSB_SLOTS_PER_PIPE = 16;

const EMPTY = Buffer.alloc(0);

type Done = (error: LibusbError | undefined, actual: number) => void;

/** A libusb transfer and the handler of what it carries now. */
interface Lane {
  readonly transfer: Transfer;
  done: Done;
}

const idleDone: Done = () => undefined;

export interface PipeOwner {
  /** `true` once the device has gone away. */
  readonly gone: boolean;
  /** A transfer reported that the device is gone. */
  lost(): void;
  /** Asks the device whether it is still there; resolves `true` when it is gone. */
  probe(): Promise<boolean>;
}

export class LibusbPipe implements BackendPipe {
  readonly direction: Direction;
  readonly endpointNumber: number;
  readonly type: EndpointType;
  readonly packetSize: number;
  readonly slots: readonly Uint8Array[];
  /** libusb takes any buffer as it is, so the descriptor path may carry any length. */
  readonly descriptorMinLength = 1;
  readonly #slotBuffers: readonly Buffer[];
  /** Finished transfers kept for reuse. */
  readonly #idle: Lane[] = [];
  /** Set while a completion waits for a probe of the device; later ones wait behind it. */
  #delivering: Promise<void> | null = null;
  readonly #pending = new Set<Lane>();
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(
    private readonly owner: PipeOwner,
    private readonly endpoint: Endpoint,
    type: EndpointType,
  ) {
    this.direction = endpoint.direction;
    this.endpointNumber = endpoint.address & 0x0f;
    this.type = type;
    this.packetSize = endpoint.descriptor.wMaxPacketSize & 0x7ff;
    this.#slotBuffers = Array.from({ length: LIBUSB_SLOTS_PER_PIPE }, () => Buffer.alloc(MAPPED_TRANSFER_MAX));
    // Plain views for callers: the contract promises Uint8Array, whose `slice` copies.
    this.slots = this.#slotBuffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }

  get outstanding(): number {
    return this.#pending.size;
  }

  submit(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    if (this.owner.gone || this.#closed) {
      const status: CompletionStatus = this.owner.gone ? 'disconnected' : 'aborted';
      setImmediate(() => onComplete({ status, bytes: 0 }));
      return { cancel() {} };
    }
    const buffer =
      request.path === 'mapped'
        ? this.#slotBuffers[request.slot]!.subarray(0, request.length)
        : Buffer.from(request.buffer.buffer, request.buffer.byteOffset, request.length);
    const sendZlp =
      this.direction === 'out' && request.zlp && request.length > 0 && request.length % this.packetSize === 0;
    const lane = this.#idle.pop() ?? this.#makeLane();
    let finished = false;
    let timedOut = false;
    // Timeouts run on a JavaScript timer and a cancel, the same on every platform.
    const timer =
      request.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            cancel();
          }, request.timeout)
        : null;
    const cancel = (): void => {
      if (finished) return;
      try {
        lane.transfer.cancel();
      } catch {
        // Not pending any more: its completion is on its way.
      }
    };
    const finish = (error: LibusbError | undefined, bytes: number): void => {
      finished = true;
      if (timer) clearTimeout(timer);
      lane.done = idleDone;
      this.#idle.push(lane);
      let status = completionStatus(error);
      if (status === 'aborted' && timedOut) status = 'timeout';
      this.#deliver(lane, status, bytes, error?.message, onComplete);
    };
    this.#pending.add(lane);
    lane.done = (error, actual) => {
      if (error || !sendZlp) return finish(error, actual);
      lane.done = (zlpError) => finish(zlpError, actual);
      try {
        lane.transfer.submit(EMPTY);
      } catch (zlpError) {
        setImmediate(() => finish(zlpError as LibusbError, actual));
      }
    };
    try {
      lane.transfer.submit(buffer);
    } catch (error) {
      setImmediate(() => finish(error as LibusbError, 0));
    }
    return { cancel };
  }

  /**
   * Hands a completion to its caller. libusb reports a transfer cut off by an unplug as a plain
   * error, often before the detach event: such an error waits for a probe of the device, and the
   * completions after it wait behind it, so that order per pipe holds.
   */
  #deliver(
    lane: Lane,
    status: CompletionStatus,
    bytes: number,
    message: string | undefined,
    onComplete: (completion: Completion) => void,
  ): void {
    const report = (gone: boolean): void => {
      if (status === 'disconnected' || gone) this.owner.lost();
      // Whatever libusb says of a transfer on a vanished device, it is a disconnect.
      const final = status !== 'ok' && this.owner.gone ? 'disconnected' : status;
      onComplete(final === 'error' && message ? { status: final, bytes, message } : { status: final, bytes });
      this.#pending.delete(lane);
      if (this.#pending.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    if (this.#delivering === null && (status !== 'error' || this.owner.gone)) return report(false);
    const probe = status === 'error' && !this.owner.gone ? this.owner.probe() : Promise.resolve(false);
    const chain: Promise<void> = (this.#delivering ?? Promise.resolve())
      .then(() => probe)
      .then((gone) => {
        if (this.#delivering === chain) this.#delivering = null;
        report(gone);
      });
    this.#delivering = chain;
  }

  async clearHalt(): Promise<void> {
    await call('clear halt', (done) => this.endpoint.clearHalt(done));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const lane of this.#pending) {
      try {
        lane.transfer.cancel();
      } catch {
        // Already finishing.
      }
    }
    await this.drained();
  }

  drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #makeLane(): Lane {
    const lane: Lane = {
      transfer: this.endpoint.makeTransfer(0, (error, _buffer, actual) => lane.done(error, actual)),
      done: idleDone,
    };
    return lane;
  }
}
