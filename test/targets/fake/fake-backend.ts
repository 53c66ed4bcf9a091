/**
 * A backend over the gadget-zero model, kept with the tests. It keeps every rule of the backend
 * contract (asynchronous, batched completions in order, cancel, timeouts, halts, disconnect) and
 * the real backends' limits, no kinder than they are: one open handle per gadget, the dext's slots
 * and descriptor-path share per pipe, leases that leave an empty view behind. A call beyond a limit
 * is refused as the dext refuses it and recorded in `violations`, which the target's leak check
 * reports. It also offers the fault hooks a test needs.
 */
import {
  AccessError,
  DisconnectedError,
  type Backend,
  type BackendDevice,
  type BackendDeviceInfo,
  type BackendHotplugEvent,
} from '@dextio/core';
import { Batcher } from './batcher.js';
import { FakeDevice } from './fake-device.js';
import { FakeGadget } from './fake-gadget.js';
import { Violations } from './violations.js';

export { FakeGadget, type Fault } from './fake-gadget.js';
export { FAKE_SLOTS_PER_PIPE } from './fake-pipe.js';

export class FakeBackend implements Backend {
  readonly name = 'fake';
  /** Limits of the real backends that callers broke. */
  readonly violations = new Violations();
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

  /** Surprise removal: the open handle's transfers complete with `'disconnected'`, then its listeners run. */
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
    if (gadget.holder) throw new AccessError(`device ${id} is held by another client: the fake, like the dext, opens a device once`);
    this.openDevices++;
    return new FakeDevice(gadget, this.violations, () => this.openDevices--);
  }

  #emit(event: BackendHotplugEvent): void {
    this.#batcher.push(() => {
      for (const listener of this.#listeners) listener(event);
    });
  }
}
