/**
 * Mocha integration: `deviceFixture` opens your device for each test, on the target that
 * `DEXTIO_HIL_TARGET` names, and checks after each test that nothing was left behind.
 *
 * - `model` (the default): your device's model on a {@link ModelBackend}, in this process.
 * - `qemu` and `hardware`: the real device (or the model running as a gadget), reached through
 *   `@dextio/core`'s `auto()` backend. When it is not attached, the suite is skipped with the
 *   reason printed.
 *
 * For CI, Mocha's `xunit` reporter writes JUnit XML: `--reporter xunit --reporter-option output=results.xml`.
 *
 * @module
 */
import { auto, Usb, type Device, type DeviceFilter } from '@dextio/core';
import { afterEach, before, beforeEach } from 'mocha';
import type { AttachedDevice } from './attached.js';
import { ModelBackend } from './backend.js';
import type { DeviceModel } from './declaration.js';

/** Where the tests run: see the module's description. */
export type HilTarget = 'model' | 'qemu' | 'hardware';

/** What {@link deviceFixture} opens, and where. */
export interface DeviceFixtureOptions<S> {
  /** The device's model: what runs on the `model` target, and where the default filter comes from. */
  readonly model: DeviceModel<S>;
  /** Which device to open; the model's vendor and product ids unless given. */
  readonly filter?: DeviceFilter;
  /** The target; `DEXTIO_HIL_TARGET`, else `model`. */
  readonly target?: HilTarget;
}

/** What a test gets: valid inside the test (and its `beforeEach` / `afterEach` hooks). */
export interface DeviceFixture {
  /** The target the suite runs on. */
  readonly target: HilTarget;
  /** The `Usb` the device was opened with. */
  readonly usb: Usb;
  /** The device, opened for this test; closed after it. */
  readonly device: Device;
  /** On the `model` target, the model device, to inject faults or unplug it; else undefined. */
  readonly attached: AttachedDevice | undefined;
  /** On the `model` target, its backend; else undefined. */
  readonly backend: ModelBackend | undefined;
}

/** The target `DEXTIO_HIL_TARGET` names; `model` when it is unset. */
export function hilTarget(): HilTarget {
  const value = process.env['DEXTIO_HIL_TARGET'] ?? 'model';
  if (value !== 'model' && value !== 'qemu' && value !== 'hardware') {
    throw new RangeError(`DEXTIO_HIL_TARGET must be model, qemu or hardware, not '${value}'`);
  }
  return value;
}

/**
 * Registers hooks in the current `describe` that open the device before each test and close it
 * after, failing the test if the backend saw a call beyond a real backend's limits or the device
 * was left open. Call it at the top of a `describe` block.
 *
 * @example
 * {@includeCode ../../../examples/sensor/sensor.test.ts#fixture}
 */
export function deviceFixture<S>(options: DeviceFixtureOptions<S>): DeviceFixture {
  const target = options.target ?? hilTarget();
  const { vendorId, productId } = options.model.declaration;
  const filter = options.filter ?? { vendorId, productId };
  let usb: Usb | undefined;
  let backend: ModelBackend | undefined;
  let attached: AttachedDevice | undefined;
  let device: Device | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`deviceFixture: ${what} is only there inside a test`);
    return value;
  };

  before(async function () {
    if (target === 'model') {
      backend = new ModelBackend();
      usb = new Usb(backend);
      return;
    }
    usb = new Usb(await auto());
    if ((await usb.list(filter)).length === 0) {
      const ids = `${filter.vendorId?.toString(16) ?? '*'}:${filter.productId?.toString(16) ?? '*'}`;
      console.log(`      skipped: no device ${ids} is attached (DEXTIO_HIL_TARGET=${target}, ${usb.backend.name} backend)`);
      this.skip();
    }
  });

  beforeEach(async function () {
    // A fresh model device for each test: no state carries over from the one before.
    if (backend) attached = backend.attach(options.model);
    device = await need(usb, 'the Usb').open(filter);
  });

  afterEach(async function () {
    const problems: string[] = [];
    // Closed whatever happened to it (a disconnected device still holds its backend handle).
    await device?.close();
    if (backend) {
      if (attached?.connected) backend.unplug(attached);
      problems.push(...backend.violations.take());
      if (backend.openDevices !== 0) problems.push(`${backend.openDevices} model device(s) left open`);
    }
    device = undefined;
    attached = undefined;
    if (problems.length > 0) throw new Error(`the test broke the real backends' rules:\n  ${problems.join('\n  ')}`);
  });

  return {
    target,
    get usb() {
      return need(usb, 'the Usb');
    },
    get device() {
      return need(device, 'the device');
    },
    get attached() {
      return attached;
    },
    get backend() {
      return backend;
    },
  };
}
