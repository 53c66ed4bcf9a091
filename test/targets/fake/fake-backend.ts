/**
 * A backend over the gadget-zero model, kept with the tests: it keeps every rule of the backend
 * contract (asynchronous, batched completions in order, cancel, timeouts, halts, disconnect) so
 * that the conformance suite can run with no device, and it offers the fault hooks a test needs.
 */
import {
  DisconnectedError,
  MAPPED_TRANSFER_MAX,
  type Backend,
  type BackendDevice,
  type BackendDeviceInfo,
  type BackendHotplugEvent,
  type BackendPipe,
  type Completion,
  type CompletionStatus,
  type ControlCompletion,
  type ControlSetup,
  type Direction,
  type TransferHandle,
  type TransferRequest,
} from '@dextio/core';
import { gadgetZeroDescriptor, GadgetZeroModel, PACKET_SIZE } from './gadget-zero-model.js';

/** Mapped slots per pipe, as many as the dext gives each pipe. */
export const FAKE_SLOTS_PER_PIPE = 16;

/** A fault the next transfer on an endpoint meets. */
export type Fault = 'stall' | 'babble' | 'timeout';

/** Runs queued work in one later turn of the event loop: completions arrive batched. */
class Batcher {
  #work: (() => void)[] = [];
  #scheduled = false;

  push(work: () => void): void {
    this.#work.push(work);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const run of this.#work.splice(0)) run();
    });
  }
}

export class FakeBackend implements Backend {
  readonly name = 'fake';
  readonly #batcher = new Batcher();
  readonly #attached = new Map<string, FakeGadget>();
  readonly #listeners = new Set<(event: BackendHotplugEvent) => void>();
  #serial = 0;
  /** Devices opened and not closed, for leak checks. */
  openDevices = 0;

  /** Attaches a new gadget and returns its id. */
  attach(): string {
    const id = `fake-${++this.#serial}`;
    const gadget = new FakeGadget(id, this.#batcher);
    this.#attached.set(id, gadget);
    this.#emit({ type: 'attach', device: gadget.info });
    return id;
  }

  /** Surprise removal: every open handle's transfers complete with `'disconnected'`. */
  detach(id: string): void {
    const gadget = this.#attached.get(id);
    if (!gadget) return;
    this.#attached.delete(id);
    gadget.unplug();
    this.#emit({ type: 'detach', device: gadget.info });
  }

  gadget(id: string): FakeGadget {
    const gadget = this.#attached.get(id);
    if (!gadget) throw new Error(`no attached fake gadget ${id}`);
    return gadget;
  }

  async list(): Promise<BackendDeviceInfo[]> {
    return [...this.#attached.values()].map((gadget) => gadget.info);
  }

  watch(listener: (event: BackendHotplugEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async open(id: string): Promise<BackendDevice> {
    const gadget = this.#attached.get(id);
    if (!gadget) throw new DisconnectedError(`device ${id} is not attached`);
    this.openDevices++;
    return new FakeDevice(gadget, this.#batcher, () => this.openDevices--);
  }

  #emit(event: BackendHotplugEvent): void {
    this.#batcher.push(() => {
      for (const listener of this.#listeners) listener(event);
    });
  }
}

/** One attached gadget: the model plus the handles opened on it. */
export class FakeGadget {
  readonly model = new GadgetZeroModel();
  readonly info: BackendDeviceInfo;
  readonly devices = new Set<FakeDevice>();
  readonly faults: Record<Direction, Fault[]> = { in: [], out: [] };
  connected = true;

  constructor(readonly id: string, private readonly batcher: Batcher) {
    this.info = { id, descriptor: gadgetZeroDescriptor(`${id}-serial`) };
  }

  /** The next transfer on endpoint 1 `direction` meets `fault`. */
  inject(direction: Direction, fault: Fault): void {
    this.faults[direction].push(fault);
  }

  unplug(): void {
    this.connected = false;
    for (const device of this.devices) device.unplugged();
  }

  /** Loopback data arrived: IN pipes may complete now. */
  wakeIn(): void {
    for (const device of this.devices) device.pipes.get('in')?.schedule();
  }

  defer(work: () => void): void {
    this.batcher.push(work);
  }
}

class FakeDevice implements BackendDevice {
  readonly pipes = new Map<Direction, FakePipe>();
  readonly #claimed = new Set<number>();
  readonly #disconnectListeners = new Set<() => void>();
  #closed = false;

  constructor(
    readonly gadget: FakeGadget,
    private readonly batcher: Batcher,
    private readonly onClosed: () => void,
  ) {
    gadget.devices.add(this);
  }

  get descriptor() {
    return this.gadget.info.descriptor;
  }

  get configurationValue(): number | null {
    return this.gadget.model.configurationValue;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    await this.#settle();
    this.gadget.model.configurationValue = configurationValue;
    this.gadget.model.loopbackPackets.length = 0;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    await this.#settle();
    this.#claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    await this.#settle();
    this.#claimed.delete(interfaceNumber);
  }

  async selectAlternateInterface(): Promise<void> {
    await this.#settle();
  }

  async getString(index: number): Promise<string> {
    await this.#settle();
    const { manufacturerName, productName, serialNumber } = this.descriptor;
    const strings = [undefined, manufacturerName, productName, serialNumber];
    const text = strings[index];
    if (text === undefined) throw new RangeError(`the device has no string ${index}`);
    return text;
  }

  control(direction: Direction, setup: ControlSetup, data: Uint8Array | number, timeout: number): Promise<ControlCompletion> {
    return new Promise((resolve) => {
      this.batcher.push(() => {
        if (!this.gadget.connected) return resolve({ status: 'disconnected', data: new Uint8Array(0), bytes: 0 });
        const payload = typeof data === 'number' ? new Uint8Array(0) : data;
        const length = typeof data === 'number' ? data : 0;
        const answer = this.gadget.model.control(direction, setup, payload, length);
        if (answer.status === 'stall') return resolve({ status: 'stall', data: new Uint8Array(0), bytes: 0 });
        this.gadget.wakeIn();
        const bytes = direction === 'in' ? answer.data.length : payload.length;
        resolve({ status: 'ok', data: answer.data, bytes });
      });
      void timeout; // the model answers every request at once
    });
  }

  async openPipe(direction: Direction, endpointNumber: number): Promise<BackendPipe> {
    await this.#settle();
    if (endpointNumber !== 1) throw new RangeError(`the fake gadget has no endpoint ${endpointNumber}`);
    const pipe = new FakePipe(this, direction);
    this.pipes.set(direction, pipe);
    return pipe;
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  unplugged(): void {
    for (const pipe of this.pipes.values()) pipe.finishAll('disconnected');
    this.batcher.push(() => {
      for (const listener of this.#disconnectListeners) listener();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.pipes.values()].map((pipe) => pipe.close()));
    this.gadget.devices.delete(this);
    this.onClosed();
  }

  async #settle(): Promise<void> {
    await new Promise<void>((resolve) => this.batcher.push(resolve));
    if (!this.gadget.connected) throw new DisconnectedError('the device is disconnected');
  }
}

interface Pending {
  readonly request: TransferRequest;
  readonly onComplete: (completion: Completion) => void;
  received: number;
  timer: NodeJS.Timeout | null;
  /** An injected timeout: the transfer never completes by itself. */
  stuck: boolean;
}

class FakePipe implements BackendPipe {
  readonly endpointNumber = 1;
  readonly type = 'bulk' as const;
  readonly packetSize = PACKET_SIZE;
  readonly descriptorMinLength = MAPPED_TRANSFER_MAX + 1;
  // Node Buffers, as a native backend may hand out: their `slice` is a view, not a copy.
  readonly slots = Array.from({ length: FAKE_SLOTS_PER_PIPE }, () => Buffer.alloc(MAPPED_TRANSFER_MAX));
  readonly #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;
  #closeWaiters: (() => void)[] = [];

  constructor(
    private readonly device: FakeDevice,
    readonly direction: Direction,
  ) {}

  get #gadget(): FakeGadget {
    return this.device.gadget;
  }

  submit(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle {
    // The contract lets callers reuse the request object: keep a copy.
    const pending: Pending = { request: { ...request }, onComplete, received: 0, timer: null, stuck: false };
    if (!this.#gadget.connected || this.#closed) {
      this.#gadget.defer(() => onComplete({ status: this.#closed ? 'aborted' : 'disconnected', bytes: 0 }));
      return { cancel() {} };
    }
    this.#queue.push(pending);
    if (request.timeout > 0) {
      pending.timer = setTimeout(() => this.#finish(pending, 'timeout'), request.timeout);
    }
    this.schedule();
    return { cancel: () => this.#gadget.defer(() => this.#finish(pending, 'aborted')) };
  }

  async clearHalt(): Promise<void> {
    await new Promise<void>((resolve) => this.#gadget.defer(resolve));
    if (!this.#gadget.connected) throw new DisconnectedError('the device is disconnected');
    this.#gadget.model.halted[this.direction] = false;
    this.schedule();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.finishAll('aborted');
    if (this.#queue.length > 0) await new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    if (this.device.pipes.get(this.direction) === this) this.device.pipes.delete(this.direction);
  }

  finishAll(status: CompletionStatus): void {
    for (const pending of [...this.#queue]) this.#gadget.defer(() => this.#finish(pending, status));
  }

  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#gadget.defer(() => {
      this.#scheduled = false;
      this.#service();
    });
  }

  /**
   * Completes transfers from the head of the queue for as long as the device can. Transfers that
   * completions submit meanwhile wait for the next turn, as they would on a bus.
   */
  #service(): void {
    const { model } = this.#gadget;
    for (let budget = this.#queue.length; budget > 0 && this.#queue.length > 0 && this.#gadget.connected; budget--) {
      const pending = this.#queue[0]!;
      const fault = pending.received === 0 ? this.#gadget.faults[this.direction].shift() : undefined;
      if (fault === 'timeout') pending.stuck = true;
      if (pending.stuck) return;
      if (fault === 'stall' || model.halted[this.direction]) {
        model.halted[this.direction] = true;
        this.#finish(pending, 'stall');
        continue;
      }
      if (fault === 'babble') {
        this.#finish(pending, 'babble');
        continue;
      }
      if (this.direction === 'out') {
        const data = new Uint8Array(this.#bytesOf(pending.request).subarray(0, pending.request.length));
        if (model.isLoopback) {
          model.loop(data, pending.request.zlp);
          this.#gadget.wakeIn();
        } else {
          model.sink(data);
        }
        pending.received = data.length;
        this.#finish(pending, 'ok');
      } else if (!model.isLoopback) {
        this.#bytesOf(pending.request).set(model.source(pending.request.length));
        pending.received = pending.request.length;
        this.#finish(pending, 'ok');
      } else if (!this.#receiveLoopback(pending)) {
        return;
      }
    }
    if (this.#queue.length > 0 && !this.#queue[0]!.stuck) this.schedule();
  }

  /** Moves loopback packets into an IN transfer; returns false while it must wait for more. */
  #receiveLoopback(pending: Pending): boolean {
    const packets = this.#gadget.model.loopbackPackets;
    const target = this.#bytesOf(pending.request);
    while (packets.length > 0) {
      const packet = packets.shift()!;
      const room = pending.request.length - pending.received;
      if (packet.length > room) {
        target.set(packet.subarray(0, room), pending.received);
        pending.received += room;
        this.#finish(pending, 'babble');
        return true;
      }
      target.set(packet, pending.received);
      pending.received += packet.length;
      if (packet.length < PACKET_SIZE || pending.received === pending.request.length) {
        this.#finish(pending, 'ok');
        return true;
      }
    }
    return false;
  }

  #bytesOf(request: TransferRequest): Uint8Array {
    return request.path === 'mapped' ? this.slots[request.slot]! : request.buffer;
  }

  #finish(pending: Pending, status: CompletionStatus): void {
    const index = this.#queue.indexOf(pending);
    if (index < 0) return;
    this.#queue.splice(index, 1);
    if (pending.timer) clearTimeout(pending.timer);
    pending.onComplete({ status, bytes: pending.received });
    if (this.#queue.length === 0) for (const wake of this.#closeWaiters.splice(0)) wake();
    // A transfer that left the head lets the next one run.
    if (index === 0 && status !== 'ok') this.schedule();
  }
}
