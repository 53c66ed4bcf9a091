/**
 * One model device on the backend's bus: its device-side state, the handle that holds it open, and
 * what a test does to it (faults, data on its IN endpoints, unplug).
 *
 * @module
 */
import type { BackendDeviceInfo } from '@dextio/core';
import type { Batcher } from './batcher.js';
import type { DeviceModel } from './declaration.js';
import type { ModelDevice } from './device.js';
import type { ModelBackend } from './backend.js';
import { DeviceState, type Fault } from './state.js';

export type { Fault } from './state.js';

/** A device plugged into a {@link ModelBackend}: what a test uses to act on it from outside. */
export class AttachedDevice {
  /** @internal The device's side: configuration, settings, halts, queued data; also the handlers' context. */
  readonly state: DeviceState;
  /** @internal The one open handle, as the dext's user client is exclusive: a second open is refused. */
  holder: ModelDevice | null = null;
  /** False once the device is unplugged. */
  connected = true;

  /** @internal */
  constructor(
    /** The backend's id of this device (a replug gets a new one). */
    readonly id: string,
    /** The model it runs. */
    readonly model: DeviceModel<unknown>,
    serialNumber: string | undefined,
    private readonly batcher: Batcher,
  ) {
    this.state = new DeviceState(model.declaration, serialNumber);
    this.state.onSend = (address) => this.holder?.pipeAt(address)?.schedule();
  }

  /** What `Usb.list()` shows of the device. */
  get info(): BackendDeviceInfo {
    return { id: this.id, descriptor: this.state.descriptor, busy: this.holder !== null };
  }

  /** The next transfer on endpoint `address` meets `fault`. */
  inject(address: number, fault: Fault): void {
    this.state.inject(address, fault);
  }

  /** Queues `data` on IN endpoint `address`, as the device's own code would (see DeviceContext.send). */
  send(address: number, data: Uint8Array): void {
    this.state.send(address, data);
  }

  /** @internal Surprise removal, as the backend's `unplug` does it. */
  unplugged(): void {
    this.connected = false;
    this.holder?.unplugged();
  }

  /** @internal */
  defer(work: () => void): void {
    this.batcher.push(work);
  }
}
