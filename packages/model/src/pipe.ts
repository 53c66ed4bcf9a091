/**
 * A bulk or interrupt pipe of a model device, with the dext's limits and rules, no kinder:
 * - 32 mapped slots of 4096 bytes, Node Buffers read at use (an OUT pipe offers 31: the dext keeps
 *   one for zero-length packets); one transfer per slot, none on a leased slot;
 * - at most `descriptorTransfersMax` descriptor-path transfers in flight, each at least
 *   `descriptorMinLength` bytes and no longer than its buffer;
 * - a zero-copy lease of a completed IN slot, emptied (detached) by `revoke` or by `close`.
 *
 * A submission beyond a limit completes, asynchronously, with `'error'` naming the limit, as the
 * dext refuses it, and is recorded as a violation for the target's leak check.
 */
import {
  DisconnectedError,
  MAPPED_TRANSFER_MAX,
  type BackendPipe,
  type Completion,
  type CompletionStatus,
  type EndpointDescriptor,
  type TransferHandle,
  type TransferRequest,
} from '@dextio/core';
import type { AttachedDevice } from './attached.js';
import type { Fault } from './state.js';
import type { Violations } from './violations.js';

/** Mapped slots per pipe, as many as the dext gives each pipe (kDextioSlotsPerPipe). */
export const SLOTS_PER_PIPE = 32;

/** What a slot is doing: a transfer in flight on it, or a lease holding its memory. */
type SlotState = 'free' | 'in flight' | 'leased';

interface Pending {
  readonly request: TransferRequest;
  readonly onComplete: (completion: Completion) => void;
  received: number;
  timer: NodeJS.Timeout | null;
  /** An injected timeout: the transfer never completes by itself. */
  stuck: boolean;
  /** The fault this transfer met, once it has. */
  faulted?: Fault;
}

export class ModelPipe implements BackendPipe {
  readonly direction: EndpointDescriptor['direction'];
  readonly endpointNumber: number;
  readonly type: EndpointDescriptor['type'];
  readonly packetSize: number;
  readonly descriptorMinLength = MAPPED_TRANSFER_MAX + 1;
  // Node Buffers, as a native backend may hand out: their `slice` is a view, not a copy.
  readonly #slots: Buffer[];
  readonly slots: readonly Uint8Array[];
  readonly #slotStates: SlotState[];
  /** The revoke of each slot's live lease: close empties them, as the slots' memory goes away. */
  readonly #leases = new Map<number, () => void>();
  readonly #queue: Pending[] = [];
  readonly #name: string;
  #descriptorsInFlight = 0;
  #scheduled = false;
  #closed = false;
  #closeWaiters: (() => void)[] = [];

  readonly address: number;

  constructor(
    private readonly gadget: AttachedDevice,
    private readonly violations: Violations,
    endpoint: EndpointDescriptor,
    readonly descriptorTransfersMax: number,
    private readonly onClosed: (pipe: ModelPipe) => void,
  ) {
    this.direction = endpoint.direction;
    this.endpointNumber = endpoint.endpointNumber;
    this.type = endpoint.type;
    this.packetSize = endpoint.packetSize;
    const offered = this.direction === 'out' ? SLOTS_PER_PIPE - 1 : SLOTS_PER_PIPE;
    this.#slots = Array.from({ length: offered }, () => Buffer.alloc(MAPPED_TRANSFER_MAX));
    this.slots = this.#slots;
    this.#slotStates = this.#slots.map(() => 'free');
    this.address = (this.direction === 'in' ? 0x80 : 0) | this.endpointNumber;
    this.#name = `${gadget.id} pipe 0x${this.address.toString(16).padStart(2, '0')}`;
  }

  submit(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    const refusal = this.#refusal(request);
    if (refusal !== null) {
      this.violations.record(`${this.#name}: ${refusal}`);
      this.gadget.defer(() => onComplete({ status: 'error', bytes: 0, message: refusal }));
      return { cancel() {} };
    }
    if (!this.gadget.connected || this.#closed) {
      const status: CompletionStatus = this.gadget.connected ? 'aborted' : 'disconnected';
      this.gadget.defer(() => onComplete({ status, bytes: 0 }));
      return { cancel() {} };
    }
    // The contract lets callers reuse the request object: keep a copy.
    const pending: Pending = { request: { ...request }, onComplete, received: 0, timer: null, stuck: false };
    if (request.path === 'mapped') this.#slotStates[request.slot] = 'in flight';
    else this.#descriptorsInFlight++;
    this.#queue.push(pending);
    if (request.timeout > 0) {
      pending.timer = setTimeout(() => this.#finish(pending, 'timeout'), request.timeout);
    }
    this.schedule();
    return { cancel: () => this.gadget.defer(() => this.#finish(pending, 'aborted')) };
  }

  lease(slot: number, length: number): { readonly data: Uint8Array; revoke(): void } {
    const problem = this.#leaseProblem(slot, length);
    if (problem !== null) this.violations.record(`${this.#name}: ${problem}`);
    // Out of range there is no memory to hand out; otherwise the lease goes ahead, as a backend
    // that does not track leases would let it.
    if (!this.#isSlot(slot) || !isLength(length, 0, MAPPED_TRANSFER_MAX)) throw new RangeError(problem!);
    const memory = this.#slots[slot]!;
    this.#slotStates[slot] = 'leased';
    const revoke = (): void => {
      // Already revoked: the slot has new memory and this lease's view is empty.
      if (this.#slots[slot] !== memory) return;
      // Moving the memory to a new ArrayBuffer detaches every view of the old one, the lease's
      // included, without a copy; the slot keeps its memory under the new ArrayBuffer.
      const moved = structuredClone(memory.buffer as ArrayBuffer, { transfer: [memory.buffer as ArrayBuffer] });
      this.#slots[slot] = Buffer.from(moved);
      this.#leases.delete(slot);
      if (this.#slotStates[slot] === 'leased') this.#slotStates[slot] = 'free';
    };
    this.#leases.set(slot, revoke);
    return { data: memory.subarray(0, length), revoke };
  }

  async clearHalt(): Promise<void> {
    await new Promise<void>((resolve) => this.gadget.defer(resolve));
    if (!this.gadget.connected) throw new DisconnectedError('the device is disconnected');
    this.gadget.state.clearHalt(this.address);
    this.schedule();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.finishAll('aborted');
    if (this.#queue.length > 0) await new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    for (const revoke of [...this.#leases.values()]) revoke();
    this.onClosed(this);
  }

  finishAll(status: CompletionStatus): void {
    for (const pending of [...this.#queue]) this.gadget.defer(() => this.#finish(pending, status));
  }

  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.gadget.defer(() => {
      this.#scheduled = false;
      this.#service();
    });
  }

  /** Why the dext would refuse `request`, naming the limit, or null. */
  #refusal(request: TransferRequest): string | null {
    if (request.path === 'mapped') {
      const { slot, length } = request;
      if (!this.#isSlot(slot)) {
        const kept = this.direction === 'out' ? ' (the dext keeps one for zero-length packets)' : '';
        return `mapped transfer on slot ${slot}: this ${this.direction.toUpperCase()} pipe offers ${this.slots.length} slots${kept}`;
      }
      if (!isLength(length, 0, MAPPED_TRANSFER_MAX)) {
        return `mapped transfer of ${length} bytes: a slot holds at most ${MAPPED_TRANSFER_MAX}`;
      }
      if (this.#slotStates[slot] === 'in flight') return `mapped transfer on slot ${slot}, which has a transfer in flight`;
      if (this.#slotStates[slot] === 'leased') return `mapped transfer on slot ${slot}, which is leased and not revoked`;
      return null;
    }
    const { buffer, length } = request;
    if (!isLength(length, this.descriptorMinLength, Infinity)) {
      return `descriptor transfer of ${length} bytes: descriptorMinLength is ${this.descriptorMinLength}`;
    }
    if (length > buffer.byteLength) return `descriptor transfer of ${length} bytes from a buffer of ${buffer.byteLength}`;
    if (this.#descriptorsInFlight >= this.descriptorTransfersMax) {
      return `descriptor transfer beyond descriptorTransfersMax (${this.descriptorTransfersMax}) in flight`;
    }
    return null;
  }

  #leaseProblem(slot: number, length: number): string | null {
    if (this.direction !== 'in') return `lease of slot ${slot} of an OUT pipe: only IN slots are leased`;
    if (!this.#isSlot(slot)) return `lease of slot ${slot}: this IN pipe has ${this.slots.length} slots`;
    if (!isLength(length, 0, MAPPED_TRANSFER_MAX)) return `lease of ${length} bytes: a slot holds at most ${MAPPED_TRANSFER_MAX}`;
    if (this.#slotStates[slot] === 'in flight') return `lease of slot ${slot}, which has a transfer in flight`;
    if (this.#slotStates[slot] === 'leased') return `lease of slot ${slot}, which is already leased and not revoked`;
    return null;
  }

  #isSlot(slot: number): boolean {
    return Number.isInteger(slot) && slot >= 0 && slot < this.slots.length;
  }

  /**
   * Completes transfers from the head of the queue for as long as the device can. Transfers that
   * completions submit meanwhile wait for the next turn, as they would on a bus.
   */
  #service(): void {
    const { state } = this.gadget;
    for (let budget = this.#queue.length; budget > 0 && this.#queue.length > 0 && this.gadget.connected; budget--) {
      const pending = this.#queue[0]!;
      const fault = pending.received === 0 && !pending.faulted ? state.takeFault(this.address) : undefined;
      if (fault !== undefined) pending.faulted = fault;
      if (fault === 'timeout') pending.stuck = true;
      if (pending.stuck) return;
      if (fault === 'stall' || state.halted(this.address)) {
        state.stall(this.address);
        this.#finish(pending, 'stall');
        continue;
      }
      if (fault === 'babble') {
        this.#finish(pending, 'babble');
        continue;
      }
      if (this.direction === 'out') {
        const data = new Uint8Array(this.#bytesOf(pending.request).subarray(0, pending.request.length));
        // A zero-length packet after full ones is a transfer of its own, for the device.
        const zlp = pending.request.zlp && data.length > 0 && data.length % this.packetSize === 0;
        const accepted = state.receive(this.address, data) && (!zlp || state.receive(this.address, new Uint8Array(0)));
        pending.received = accepted ? data.length : 0;
        this.#finish(pending, accepted ? 'ok' : 'stall');
      } else if (!this.#receive(pending)) {
        return;
      }
    }
    if (this.#queue.length > 0 && !this.#queue[0]!.stuck) this.schedule();
  }

  /** Moves the device's packets into an IN transfer; returns false while it must wait for more. */
  #receive(pending: Pending): boolean {
    const packets = this.gadget.state.packets(this.address, pending.request.length - pending.received);
    const target = this.#bytesOf(pending.request);
    while (packets.length > 0) {
      let packet = packets.shift()!;
      // An injected short packet: the device sends half of this one and ends the transfer.
      if (pending.faulted === 'short' && packet.length === this.packetSize) packet = packet.subarray(0, this.packetSize >> 1);
      const room = pending.request.length - pending.received;
      if (packet.length > room) {
        target.set(packet.subarray(0, room), pending.received);
        pending.received += room;
        this.#finish(pending, 'babble');
        return true;
      }
      target.set(packet, pending.received);
      pending.received += packet.length;
      if (packet.length < this.packetSize || pending.received === pending.request.length) {
        this.#finish(pending, 'ok');
        return true;
      }
    }
    return false;
  }

  /** The memory a transfer moves: the slot as it is now (a revoke may have replaced it), or the caller's buffer. */
  #bytesOf(request: TransferRequest): Uint8Array {
    return request.path === 'mapped' ? this.#slots[request.slot]! : request.buffer;
  }

  #finish(pending: Pending, status: CompletionStatus): void {
    const index = this.#queue.indexOf(pending);
    if (index < 0) return;
    this.#queue.splice(index, 1);
    if (pending.timer) clearTimeout(pending.timer);
    // The slot is the caller's again once its completion arrives: it may resubmit from the callback.
    if (pending.request.path === 'mapped') this.#slotStates[pending.request.slot] = 'free';
    else this.#descriptorsInFlight--;
    pending.onComplete({ status, bytes: pending.received });
    if (this.#queue.length === 0) for (const wake of this.#closeWaiters.splice(0)) wake();
    // A transfer that left the head lets the next one run.
    if (index === 0 && status !== 'ok') this.schedule();
  }
}

function isLength(length: number, min: number, max: number): boolean {
  return Number.isInteger(length) && length >= min && length <= max;
}
