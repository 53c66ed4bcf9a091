/**
 * The dext backend: `@dextio/core` over `@dextio/native`, the IOKit user client of dextio's
 * DriverKit extension. On macOS it drives the installed dext; on Linux `@dextio/native` links the
 * dext's host runtime and its virtual gadget zero, so the same code runs in-process (the embedded
 * target).
 *
 * What the dext's ABI shapes here:
 * - One device, one interface: the dext is matched on one `IOUSBHostInterface` and the connection
 *   is exclusive. The descriptors are the device's own, whole; the dext drives one interface of
 *   them (`claimableInterfaces`). `list()` opens a short connection to read the device when none is
 *   open, and takes the strings from the IORegistry.
 * - Transfers of up to 4096 bytes go through the pipe's mapped slots, longer ones hand the
 *   caller's buffer to the dext (the descriptor path); see `pipe.ts`.
 * - Cancelling a transfer aborts its whole pipe: other transfers outstanding on it complete with
 *   `'aborted'` (DriverKit's `IOUSBHostPipe::Abort` has no per-transfer form).
 * - Hotplug: IOKit matching notifications for the dext's service (`DextioDriver` started or
 *   terminated). An attach is reported once the new device has been read (a short connection);
 *   a detach with the last descriptor seen, and it marks an open device as gone.
 *
 * @module
 */
import type * as Native from '@dextio/native';
import type { Backend, BackendDevice, BackendDeviceInfo, BackendHotplugEvent } from '../../backend.js';
import { AccessError, DisconnectedError, UsbError } from '../../errors.js';
import { deviceId, registryDescriptor, registryStrings } from './descriptors.js';
import { DextDevice, readDescriptors } from './device.js';
import { callError, IOReturn } from './status.js';

type NativeModule = typeof Native;

/**
 * Loads `@dextio/native` and returns a backend over the dext.
 *
 * @throws UsbError when `@dextio/native` is not installed or its addon is not built.
 *
 * @example
 * {@includeCode ../../../../../test/docs/examples/backends.ts#dext}
 */
export async function dext(): Promise<Backend> {
  let native: NativeModule;
  try {
    const module = (await import('@dextio/native')) as unknown as { default?: NativeModule } & NativeModule;
    native = module.default ?? module;
    if (typeof native.Connection !== 'function') throw new Error('it exports no Connection');
  } catch (error) {
    throw new UsbError(
      `the dext backend needs the npm package '@dextio/native' with its addon built (npm run build -w @dextio/native): ${(error as Error).message}`,
    );
  }
  return new DextBackend(native);
}

/** A device another client holds: the ids and strings the registry shows, no configurations. */
function heldDevice(service: Native.ServiceInfo): BackendDeviceInfo {
  return { id: deviceId(service), descriptor: registryDescriptor(service), busy: true };
}

function ioReturnOf(error: unknown): number | undefined {
  const value = (error as { ioReturn?: unknown } | null)?.ioReturn;
  return typeof value === 'number' ? value : undefined;
}

class DextBackend implements Backend {
  readonly name = 'dext';

  get description(): string {
    const host = (this.native as { host?: { gadgetBus?: () => string } }).host;
    return host?.gadgetBus ? `the host runtime's virtual gadget zero, ${host.gadgetBus()} bus` : 'the installed dext';
  }
  #open: DextDevice | null = null;
  /** The device seen last (listed or opened): what a detach reports. */
  #lastKnown: BackendDeviceInfo | null = null;

  constructor(private readonly native: NativeModule) {}

  async list(): Promise<BackendDeviceInfo[]> {
    const open = this.#open;
    if (open && !open.gone) {
      return [(this.#lastKnown = { id: deviceId(open.info), descriptor: open.descriptor, busy: true })];
    }
    const probe = new this.native.Connection(() => undefined);
    try {
      probe.open();
    } catch (error) {
      const ioReturn = ioReturnOf(error);
      if (ioReturn === undefined) throw error;
      // Held by another client: list it, busy, with what the registry shows without opening.
      return ioReturn === IOReturn.exclusiveAccess ? this.native.services().map(heldDevice) : [];
    }
    try {
      const info = probe.deviceInfo();
      const service = this.native.services().find((s) => deviceId(s) === deviceId(info));
      const descriptor = { ...readDescriptors(probe).descriptor, ...registryStrings(service) };
      return [(this.#lastKnown = { id: deviceId(info), descriptor, busy: false })];
    } finally {
      await probe.close();
    }
  }

  watch(listener: (event: BackendHotplugEvent) => void): () => void {
    let watching = true;
    const monitor = new this.native.Monitor((type) => {
      if (type === 'detach') {
        const gone = this.#lastKnown;
        this.#open?.lost();
        if (gone && watching) listener({ type: 'detach', device: gone });
        return;
      }
      void this.list().then(
        (devices) => {
          for (const device of devices) if (watching) listener({ type: 'attach', device });
        },
        () => undefined, // gone again, or held by another process: nothing to report
      );
    });
    monitor.start();
    return () => {
      watching = false;
      monitor.stop();
    };
  }

  async open(id: string): Promise<BackendDevice> {
    let device: DextDevice | undefined;
    const connection = new this.native.Connection((batch) => device?.deliver(batch));
    try {
      connection.open();
    } catch (error) {
      const ioReturn = ioReturnOf(error);
      if (ioReturn === IOReturn.exclusiveAccess) {
        throw new AccessError(
          `device ${id} is held by another client (another process, or another Usb in this one): the dext's connection is exclusive`,
        );
      }
      throw ioReturn === undefined ? error : callError('open the dext', ioReturn);
    }
    const watchRemoval = (removed: () => void) => {
      const monitor = new this.native.Monitor((type) => {
        if (type === 'detach') removed();
      });
      monitor.start();
      return () => monitor.stop();
    };
    try {
      device = new DextDevice(
        connection,
        (closed) => {
          if (this.#open === closed) this.#open = null;
        },
        watchRemoval,
        this.native.limits.maxDescriptorTransfers,
      );
    } catch (error) {
      // Malformed descriptors, or the device went away meanwhile: nothing but the connection to undo.
      await connection.close();
      const ioReturn = ioReturnOf(error);
      throw ioReturn === undefined ? error : callError('read the device', ioReturn);
    }
    if (deviceId(device.info) !== id) {
      await device.close();
      throw new DisconnectedError(`device ${id} is not attached`);
    }
    await device.readStrings();
    this.#open = device;
    this.#lastKnown = { id, descriptor: device.descriptor, busy: true };
    return device;
  }
}

export { IOReturn };
