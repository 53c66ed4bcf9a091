/** One attached fake gadget: the gadget-zero model, the handle holding it, and its fault hooks. */
import type { BackendDeviceInfo, Direction } from '@dextio/core';
import type { Batcher } from './batcher.js';
import type { FakeDevice } from './fake-device.js';
import { GadgetZeroModel } from './gadget-zero-model.js';

/** A fault the next transfer on an endpoint meets. */
export type Fault = 'stall' | 'babble' | 'timeout';

export class FakeGadget {
  readonly model: GadgetZeroModel;
  readonly faults: Record<Direction, Fault[]> = { in: [], out: [] };
  /** The one open handle, as the dext's user client is exclusive: a second open is refused. */
  holder: FakeDevice | null = null;
  connected = true;

  constructor(
    readonly id: string,
    private readonly batcher: Batcher,
  ) {
    this.model = new GadgetZeroModel(`${id}-serial`);
  }

  get info(): BackendDeviceInfo {
    return { id: this.id, descriptor: this.model.descriptor, busy: this.holder !== null };
  }

  /** The next transfer on endpoint 1 `direction` meets `fault`. */
  inject(direction: Direction, fault: Fault): void {
    this.faults[direction].push(fault);
  }

  unplug(): void {
    this.connected = false;
    this.holder?.unplugged();
  }

  /** Loopback data arrived: the IN pipe may complete transfers now. */
  wakeIn(): void {
    this.holder?.pipes.get('in')?.schedule();
  }

  defer(work: () => void): void {
    this.batcher.push(work);
  }
}
