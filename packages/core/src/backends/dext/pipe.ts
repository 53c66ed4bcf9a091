/**
 * A bulk or interrupt pipe of the dext. Mapped transfers name one of the pipe's slots (memory the
 * dext owns, mapped once into this process); descriptor transfers hand the caller's buffer to the
 * dext, which passes it to `AsyncIO` without a copy.
 *
 * Cancel: DriverKit aborts only whole pipes (`IOUSBHostPipe::Abort`), so cancelling one transfer
 * aborts the pipe, and every other transfer outstanding on it completes with `'aborted'` too (the
 * backend contract allows it). Streams that cancel on unsubscribe cancel all their transfers anyway.
 *
 * Zero-length packets: the ABI has no ZLP flag, so an OUT transfer with `zlp` that fills its last
 * packet is followed at once by a zero-length transfer on the pipe's last slot, which is kept for
 * that and not offered in `slots`. Pipes are FIFOs, so the ZLP follows its transfer on the wire. A
 * second ZLP while one is in flight must wait for the slot, and so does every submission after it
 * (the backlog), so that nothing overtakes it.
 *
 * Budgets: the dext holds `kDextioMaxDescriptorTransfers` descriptor transfers per connection;
 * each pipe gets an equal share of them (`descriptorTransfersMax`), so one pipe's waiting reads can
 * never take the capacity another pipe's writes need.
 *
 * Leases: each lease is a view of its own over the slot's mapped memory (`leaseSlot`), which
 * `revokeLease` detaches. IN slots are mapped writable: the dext never reads them, and JavaScript
 * must never hold a view of read-only memory.
 *
 * @internal
 * @module
 */
import type { BackendPipe, Completion, CompletionStatus, TransferHandle, TransferRequest } from '../../backend.js';
import type { Direction, EndpointType } from '../../descriptors.js';
import { MAPPED_TRANSFER_MAX } from '../../planner.js';
import { callError, completionStatus, ioReturnText } from './status.js';

/** What a pipe needs from its device. */
export interface PipeHost {
  /** `true` once the device has gone away. */
  readonly gone: boolean;
  /** Routes a completion to `handler`: returns the tag to submit with, unique among transfers in flight. */
  expect(handler: (ioReturn: number, bytes: number) => void): number;
  /** Drops the route of a tag whose submission was refused. */
  forget(tag: number): void;
  submitSlot(pipe: number, slot: number, length: number, timeout: number, tag: number): number;
  submitDescriptor(pipe: number, buffer: Uint8Array, length: number, timeout: number, tag: number): number;
  /** A view of the slot's memory that only its holder has, and its revocation. */
  leaseSlot(pipe: number, slot: number): Uint8Array;
  revokeLease(view: Uint8Array): void;
  abort(pipe: number): number;
  clearHalt(pipe: number): number;
  /** A status said the device is gone. */
  lost(): void;
}

/**
 * One transfer of a pipe from submission to completion, and its handle. Records are reused: as the
 * contract allows, the handle is valid until the completion and the completion object during the
 * callback only.
 */
class DextTransfer implements TransferHandle {
  onComplete: ((completion: Completion) => void) | null = null;
  readonly completion: { status: CompletionStatus; bytes: number } = { status: 'ok', bytes: 0 };
  /** The device's route for this transfer's tag, bound once. */
  readonly route = (ioReturn: number, bytes: number): void => this.pipe.finish(this, ioReturn, bytes);

  constructor(private readonly pipe: DextPipe) {}

  cancel(): void {
    if (this.onComplete !== null) this.pipe.cancelTransfer();
  }
}

export class DextPipe implements BackendPipe {
  readonly direction: Direction;
  readonly endpointNumber: number;
  readonly slots: readonly Uint8Array[];
  readonly descriptorMinLength = MAPPED_TRANSFER_MAX + 1;
  readonly #zlpSlot: number;
  #outstanding = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  #zlpBusy = false;
  /** The ZLP that waits for the ZLP slot; while set, later submissions wait in the backlog. */
  #zlpWaiting: (() => void) | null = null;
  readonly #backlog: (() => void)[] = [];
  /** Transfer records whose transfers have completed, for the next submissions. */
  readonly #idle: DextTransfer[] = [];

  constructor(
    private readonly host: PipeHost,
    readonly address: number,
    readonly type: EndpointType,
    readonly packetSize: number,
    slots: readonly Uint8Array[],
    readonly descriptorTransfersMax: number,
  ) {
    this.direction = address & 0x80 ? 'in' : 'out';
    this.endpointNumber = address & 0x0f;
    this.#zlpSlot = slots.length - 1;
    this.slots = this.direction === 'out' ? slots.slice(0, -1) : slots;
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  submit(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    if (this.#zlpWaiting !== null && !this.host.gone && !this.#closed) return this.#hold(request, onComplete);
    if (this.host.gone || this.#closed) {
      const status: CompletionStatus = this.host.gone ? 'disconnected' : 'aborted';
      setImmediate(() => onComplete({ status, bytes: 0 }));
      return { cancel() {} };
    }
    const sendZlp =
      this.direction === 'out' && request.zlp && request.length > 0 && request.length % this.packetSize === 0;
    if (sendZlp) return this.#submitWithZlp(request, onComplete);
    // The common case allocates nothing: the record, its route and its completion are reused.
    const transfer = this.#idle.pop() ?? new DextTransfer(this);
    transfer.onComplete = onComplete;
    this.#outstanding++;
    const tag = this.host.expect(transfer.route);
    const submitted = this.#send(request, tag);
    if (submitted !== 0) {
      // Refused before it started: no completion comes from the dext, so report it here, later.
      this.host.forget(tag);
      setImmediate(() => transfer.route(submitted, 0));
    }
    return transfer;
  }

  #send(request: TransferRequest, tag: number): number {
    return request.path === 'mapped'
      ? this.host.submitSlot(this.address, request.slot, request.length, request.timeout, tag)
      : this.host.submitDescriptor(this.address, request.buffer, request.length, request.timeout, tag);
  }

  /** @internal A transfer of this pipe ended with `ioReturn`: report it, and keep the record. */
  finish(transfer: DextTransfer, ioReturn: number, bytes: number): void {
    const onComplete = transfer.onComplete;
    if (onComplete === null) return;
    transfer.onComplete = null;
    this.#outstanding--;
    const status = this.#status(ioReturn);
    if (status === 'error') {
      onComplete({ status, bytes, message: ioReturnText(ioReturn) });
    } else {
      transfer.completion.status = status;
      transfer.completion.bytes = bytes;
      onComplete(transfer.completion);
    }
    this.#idle.push(transfer);
    if (this.#outstanding === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** @internal Cancels a transfer in flight: the dext can only abort the whole pipe. */
  cancelTransfer(): void {
    this.host.abort(this.address);
  }

  #status(ioReturn: number): CompletionStatus {
    const status = completionStatus(ioReturn);
    if (status === 'disconnected') this.host.lost();
    return status !== 'ok' && this.host.gone ? 'disconnected' : status;
  }

  /** A transfer followed by a zero-length packet: rare, so closures are fine here. */
  #submitWithZlp(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    let finished = false;
    this.#outstanding++;
    const finish = (ioReturn: number, bytes: number): void => {
      finished = true;
      this.#outstanding--;
      const status = this.#status(ioReturn);
      onComplete(status === 'error' ? { status, bytes, message: ioReturnText(ioReturn) } : { status, bytes });
      if (this.#outstanding === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    const done = this.#withZlp(request.timeout, finish);
    const tag = this.host.expect(done.main);
    const submitted = this.#send(request, tag);
    if (submitted !== 0) {
      this.host.forget(tag);
      setImmediate(() => done.refused(submitted));
    } else {
      done.submitted();
    }
    return {
      cancel: () => {
        if (!finished) this.host.abort(this.address);
      },
    };
  }

  lease(slot: number, length: number): { readonly data: Uint8Array; revoke(): void } {
    const view = this.host.leaseSlot(this.address, slot);
    return { data: view.subarray(0, length), revoke: () => this.host.revokeLease(view) };
  }

  /** Keeps a submission until the waiting ZLP is out; the request is copied (the caller reuses it). */
  #hold(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    const copy = { ...request };
    let handle: TransferHandle | null = null;
    let cancelled = false;
    const run = (): void => {
      if (cancelled) return;
      handle = this.submit(copy, onComplete);
    };
    this.#backlog.push(run);
    return {
      cancel: () => {
        if (handle) return handle.cancel();
        if (cancelled) return;
        cancelled = true;
        const i = this.#backlog.indexOf(run);
        if (i >= 0) this.#backlog.splice(i, 1);
        setImmediate(() => onComplete({ status: 'aborted', bytes: 0 }));
      },
    };
  }

  /** The ZLP slot is free: the waiting ZLP goes out, then the backlog until another ZLP must wait. */
  #zlpSlotFreed(): void {
    this.#zlpBusy = false;
    const waiting = this.#zlpWaiting;
    this.#zlpWaiting = null;
    waiting?.();
    while (this.#zlpWaiting === null && this.#backlog.length > 0) this.#backlog.shift()!();
  }

  /** The main transfer, then its ZLP; `finish` runs once, after both. */
  #withZlp(timeout: number, finish: (ioReturn: number, bytes: number) => void) {
    let mainResult: [number, number] | null = null;
    let zlpResult: number | null = null;
    let zlpSubmitted = false;
    const settle = (): void => {
      if (mainResult === null || (zlpSubmitted && zlpResult === null)) return;
      const [ioReturn, bytes] = mainResult;
      finish(ioReturn !== 0 ? ioReturn : (zlpResult ?? 0), bytes);
    };
    const startZlp = (): void => {
      this.#zlpBusy = true;
      const tag = this.host.expect((ioReturn) => {
        zlpResult = ioReturn;
        this.#zlpSlotFreed();
        settle();
      });
      zlpSubmitted = true;
      const submitted = this.host.submitSlot(this.address, this.#zlpSlot, 0, timeout, tag);
      if (submitted !== 0) {
        this.host.forget(tag);
        zlpResult = submitted;
        this.#zlpSlotFreed();
      }
    };
    return {
      main: (ioReturn: number, bytes: number) => {
        mainResult = [ioReturn, bytes];
        settle();
      },
      refused: (ioReturn: number) => finish(ioReturn, 0),
      submitted: () => {
        if (!this.#zlpBusy) startZlp();
        else this.#zlpWaiting = () => (mainResult === null || mainResult[0] === 0 ? startZlp() : settle());
      },
    };
  }

  async clearHalt(): Promise<void> {
    const ioReturn = this.host.clearHalt(this.address);
    if (ioReturn !== 0) throw callError('clear halt', ioReturn);
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Held submissions report 'aborted' through submit's closed path.
    this.#zlpWaiting = null;
    for (const run of this.#backlog.splice(0)) run();
    if (this.#outstanding > 0 && !this.host.gone) this.host.abort(this.address);
    await this.drained();
  }

  drained(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
