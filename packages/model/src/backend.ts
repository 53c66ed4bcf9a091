/**
 * Model devices as a backend of `@dextio/core`, in this process: attach a device you declared
 * with {@link defineDevice} and open it with a `Usb`, as you would the real one.
 *
 * The backend keeps every rule of the backend contract (asynchronous, batched completions in
 * order, cancel, timeouts, halts, disconnect) and the real backends' limits, no kinder than they
 * are: one open handle per device, the dext's slots and descriptor-path share per pipe, leases
 * that leave an empty view behind. A call beyond a limit is refused as the dext refuses it and
 * recorded in {@link ModelBackend.violations}, so that a test which breaks a limit can fail with the
 * limit named instead of passing on a kinder backend.
 *
 * @module
 */
import {
  AccessError,
  DisconnectedError,
  type Backend,
  type BackendDevice,
  type BackendDeviceInfo,
  type BackendHotplugEvent,
} from '@dextio/core';
import { AttachedDevice } from './attached.js';
import { Batcher } from './batcher.js';
import type { DeviceModel } from './declaration.js';
import { ModelDevice } from './device.js';
import { Violations } from './violations.js';

/**
 * The in-process backend of model devices.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/model.ts#model}
 */
export class ModelBackend implements Backend {
  /** Always `'model'`. */
  readonly name = 'model';
  /** Limits of the real backends that callers broke. */
  readonly violations = new Violations();
  readonly #batcher = new Batcher();
  readonly #attached = new Map<string, AttachedDevice>();
  readonly #listeners = new Set<(event: BackendHotplugEvent) => void>();
  #serial = 0;
  /** Devices opened and not closed, for leak checks. */
  openDevices = 0;

  /** How many model devices are plugged in. */
  get description(): string {
    return `${this.#attached.size} model device(s) in this process`;
  }

  /**
   * Plugs in a device that runs `model`; returns it, to inject faults, send data or unplug it.
   * Each attach is a new device (a new id), as a replug is on a real bus.
   */
  attach<S>(model: DeviceModel<S>, options: { serialNumber?: string } = {}): AttachedDevice {
    const id = `model-${++this.#serial}`;
    // The state is the model's own: its handlers are the only code that reads it.
    const any = model as unknown as DeviceModel<unknown>;
    const device = new AttachedDevice(id, any, options.serialNumber ?? model.declaration.serialNumber, this.#batcher);
    this.#attached.set(id, device);
    this.#emit({ type: 'attach', device: device.info });
    return device;
  }

  /** Surprise removal: the open handle's transfers complete with `'disconnected'`, then its listeners run. */
  unplug(device: AttachedDevice): void {
    if (!this.#attached.delete(device.id)) return;
    device.unplugged();
    this.#emit({ type: 'detach', device: device.info });
  }

  /** The plugged-in devices. */
  async list(): Promise<BackendDeviceInfo[]> {
    return [...this.#attached.values()].map((device) => device.info);
  }

  /** Attach and detach events, in order. */
  watch(listener: (event: BackendHotplugEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens a plugged-in device, once at a time, as the dext does. */
  async open(id: string): Promise<BackendDevice> {
    const device = this.#attached.get(id);
    if (!device) throw new DisconnectedError(`device ${id} is not attached`);
    if (device.holder) throw new AccessError(`device ${id} is held by another client: like the dext, a device opens once`);
    this.openDevices++;
    return new ModelDevice(device, this.violations, () => this.openDevices--);
  }

  #emit(event: BackendHotplugEvent): void {
    this.#batcher.push(() => {
      for (const listener of this.#listeners) listener(event);
    });
  }
}
