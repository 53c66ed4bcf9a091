/**
 * A bulk or interrupt pipe over `usb`'s low-level `Transfer`: the caller's buffer goes to libusb
 * as it is (a Buffer view, no copy), and finished `Transfer` objects are kept and resubmitted, so
 * a busy pipe allocates no libusb transfers after its first few.
 *
 * `usb` calls the callback given when a `Transfer` is made, whatever `submit` is passed, so each
 * kept transfer carries the state of its current submission.
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

/**
 * Descriptor-path transfers one pipe may have in flight. libusb has no limit per connection or
 * endpoint: what bounds in-flight transfers is usbfs's cap on the memory of all of them, every
 * process's together (`usbfs_memory_mb`, 16 MiB by default), which no count per pipe can express.
 * 32 is twice the mapped path's slots: enough large transfers queued to keep a bus busy, and a
 * bound so that one pipe cannot queue without end.
 */
export const LIBUSB_DESCRIPTOR_TRANSFERS_PER_PIPE = 32;

const EMPTY = Buffer.alloc(0);

/**
 * A libusb transfer kept for reuse, and the state of the submission it carries now. Its callbacks
 * are made once, so a busy pipe allocates next to nothing per transfer.
 */
class Lane {
  readonly transfer: Transfer;
  /** Counts submissions, so that a handle from an earlier one cannot cancel a later one. */
  generation = 0;
  busy = false;
  timedOut = false;
  /** An OUT transfer that still owes its zero-length packet. */
  zlpPending = false;
  bytes = 0;
  timer: NodeJS.Timeout | null = null;
  onComplete: (completion: Completion) => void = ignore;
  readonly expire = (): void => {
    this.timedOut = true;
    this.cancel(this.generation);
  };

  constructor(endpoint: Endpoint, done: (lane: Lane, error: LibusbError | undefined, actual: number) => void) {
    this.transfer = endpoint.makeTransfer(0, (error, _buffer, actual) => done(this, error, actual));
  }

  cancel(generation: number): void {
    if (!this.busy || generation !== this.generation) return;
    try {
      this.transfer.cancel();
    } catch {
      // Not pending any more: its completion is on its way.
    }
  }
}

function ignore(): void {}

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
  /** libusb takes any buffer as it is, so the descriptor path may carry any length. */
  readonly descriptorMinLength = 1;
  readonly descriptorTransfersMax = LIBUSB_DESCRIPTOR_TRANSFERS_PER_PIPE;
  /**
   * One ArrayBuffer per slot, never a slice of Node's shared Buffer pool, so that a lease can
   * detach it alone. Callers get plain Uint8Array views (whose `slice` copies); `usb` gets Buffers
   * over the same memory, since it takes nothing else.
   */
  readonly #slots: Uint8Array<ArrayBuffer>[];
  readonly #slotBuffers: Buffer[];
  /** Finished transfers kept for reuse. */
  readonly #idle: Lane[] = [];
  /** Transfers libusb holds now: what close() cancels. */
  readonly #inFlight = new Set<Lane>();
  /** Submissions whose completion has not yet reached its caller: what close() waits for. */
  #undelivered = 0;
  /** Set while a completion waits for a probe of the device; later ones wait behind it. */
  #delivering: Promise<void> | null = null;
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
    this.#slots = Array.from({ length: LIBUSB_SLOTS_PER_PIPE }, () => new Uint8Array(new ArrayBuffer(MAPPED_TRANSFER_MAX)));
    this.#slotBuffers = this.#slots.map((slot) => Buffer.from(slot.buffer));
  }

  get slots(): readonly Uint8Array[] {
    return this.#slots;
  }

  lease(slot: number, length: number): { readonly data: Uint8Array; revoke(): void } {
    const memory = this.#slots[slot]?.buffer;
    if (!Number.isInteger(slot) || memory === undefined) {
      throw new RangeError(`slot must be an integer from 0 to ${this.#slots.length - 1}, not ${slot}`);
    }
    if (!Number.isInteger(length) || length < 0 || length > memory.byteLength) {
      throw new RangeError(`length must be an integer from 0 to ${memory.byteLength}, not ${length}`);
    }
    return {
      data: new Uint8Array(memory, 0, length),
      revoke: () => {
        // A second revoke finds the slot on other memory already.
        if (this.#slots[slot]!.buffer === memory) this.#renew(slot);
      },
    };
  }

  /**
   * Moves a slot's memory to a new ArrayBuffer without copying it. Every view of the old one, the
   * lease's included, is left empty (detached), and the slot goes on under its new owner. Nothing
   * else keeps the old one: `usb` drops a Transfer's buffer when the transfer completes, and each
   * submission reads the slot's Buffer anew.
   */
  #renew(slot: number): void {
    const old = this.#slots[slot]!.buffer;
    const moved = structuredClone(old, { transfer: [old] });
    this.#slots[slot] = new Uint8Array(moved);
    this.#slotBuffers[slot] = Buffer.from(moved);
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
    const lane = this.#idle.pop() ?? new Lane(this.endpoint, this.#transferDone);
    const generation = ++lane.generation;
    lane.busy = true;
    lane.timedOut = false;
    lane.bytes = 0;
    lane.onComplete = onComplete;
    lane.zlpPending =
      this.direction === 'out' && request.zlp && request.length > 0 && request.length % this.packetSize === 0;
    // Timeouts run on a JavaScript timer and a cancel, the same on every platform.
    lane.timer = request.timeout > 0 ? setTimeout(lane.expire, request.timeout) : null;
    this.#inFlight.add(lane);
    this.#undelivered++;
    try {
      lane.transfer.submit(buffer);
    } catch (error) {
      setImmediate(() => this.#transferDone(lane, error as LibusbError, 0));
    }
    return { cancel: () => lane.cancel(generation) };
  }

  readonly #transferDone = (lane: Lane, error: LibusbError | undefined, actual: number): void => {
    lane.bytes += actual;
    if (!error && lane.zlpPending) {
      lane.zlpPending = false;
      try {
        lane.transfer.submit(EMPTY);
        return;
      } catch (zlpError) {
        error = zlpError as LibusbError;
      }
    }
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    lane.busy = false;
    this.#inFlight.delete(lane);
    let status = completionStatus(error);
    if (status === 'aborted' && lane.timedOut) status = 'timeout';
    const { onComplete, bytes } = lane;
    lane.onComplete = ignore;
    // The lane is free before its completion is handed on: a caller that resubmits from the
    // callback gets it straight back.
    this.#idle.push(lane);
    this.#deliver(status, bytes, error?.message, onComplete);
  };

  /**
   * Hands a completion to its caller. libusb reports a transfer cut off by an unplug as a plain
   * error, often before the detach event: such an error waits for a probe of the device, and the
   * completions after it wait behind it, so that order per pipe holds.
   */
  #deliver(
    status: CompletionStatus,
    bytes: number,
    message: string | undefined,
    onComplete: (completion: Completion) => void,
  ): void {
    const report = (gone: boolean): void => {
      if (status === 'disconnected' || gone) this.owner.lost();
      // Whatever libusb says of a transfer on a vanished device, it is a disconnect.
      const final = status !== 'ok' && this.owner.gone ? 'disconnected' : status;
      this.#undelivered--;
      onComplete(final === 'error' && message ? { status: final, bytes, message } : { status: final, bytes });
      if (this.#undelivered === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
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
    for (const lane of this.#inFlight) lane.cancel(lane.generation);
    await this.drained();
  }

  drained(): Promise<void> {
    if (this.#undelivered === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

}
