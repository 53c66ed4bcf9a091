/**
 * The entry point: find devices, follow hotplug, open a device.
 *
 * @module
 */
import { defer, from, map, mergeWith, Observable, scan, share, shareReplay } from 'rxjs';
import type { Backend } from './backend.js';
import type { DeviceDescriptor } from './descriptors.js';
import { Device } from './device.js';
import { DisconnectedError } from './errors.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/** Which devices a call means; every given field must match. */
export interface DeviceFilter {
  /** idVendor, 0 to 0xffff. */
  readonly vendorId?: number;
  /** idProduct, 0 to 0xffff. */
  readonly productId?: number;
  /** The iSerialNumber string, compared exactly. */
  readonly serialNumber?: string;
}

/** A device the backend can see, before it is opened. */
export interface DeviceInfo {
  /** The backend's name for the device while it stays attached. */
  readonly id: string;
  /**
   * The device descriptor, with the strings the backend could read without opening the device.
   * For a busy device it may hold only what the system shows without opening it.
   */
  readonly descriptor: DeviceDescriptor;
  /** `true` while another process or another {@link Usb} holds the device: opening it rejects with `AccessError`. */
  readonly busy: boolean;
}

/** A device arriving or leaving. */
export interface HotplugEvent {
  /** `'attach'` when the device arrived, `'detach'` when it left. */
  readonly type: 'attach' | 'detach';
  /** The device that arrived or left. */
  readonly device: DeviceInfo;
}

/**
 * USB access through one backend.
 *
 * @example
 * {@includeCode ../../../test/docs/examples/usb.ts#setup}
 */
export class Usb {
  readonly #events: Observable<HotplugEvent>;
  readonly #devices: Observable<readonly DeviceInfo[]>;

  /** @param backend - what moves the bytes; kept as {@link Usb.backend}. */
  constructor(readonly backend: Backend) {
    this.#events = new Observable<HotplugEvent>((subscriber) =>
      backend.watch((event) => subscriber.next(event)),
    ).pipe(share());
    this.#devices = defer(() =>
      from(backend.list()).pipe(
        map((devices): HotplugEvent[] => devices.map((device) => ({ type: 'attach', device }))),
        mergeWith(this.#events.pipe(map((event) => [event]))),
      ),
    ).pipe(
      scan((list: readonly DeviceInfo[], events: HotplugEvent[]) => events.reduce(apply, list), []),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  /**
   * The attached devices that match `filter`.
   *
   * @throws TypeError / RangeError for a bad filter.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/usb.ts#list}
   */
  async list(filter: DeviceFilter = {}): Promise<DeviceInfo[]> {
    checkFilter(filter);
    return (await this.backend.list()).filter((device) => matches(device.descriptor, filter));
  }

  /**
   * Attach and detach events from the moment of subscription. Hot and shared: one watch on the
   * backend however many subscribe.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/usb.ts#hotplug}
   */
  hotplug(): Observable<HotplugEvent> {
    return this.#events;
  }

  /**
   * The list of attached devices: now, then again after every attach or detach.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/usb.ts#devices}
   */
  devices(): Observable<readonly DeviceInfo[]> {
    return this.#devices;
  }

  /**
   * Opens the first attached device that matches `filter` (or the device `info` names), trying
   * devices that are not busy first. A `serialNumber` that the listing does not show is read by
   * opening the candidates in turn.
   *
   * @throws TypeError / RangeError for a bad filter (the Promise rejects); rejects with
   *   `DisconnectedError` when no device matches, `AccessError` when the system refuses or the
   *   only matching devices are held.
   *
   * @example
   * {@includeCode ../../../test/docs/examples/usb.ts#open}
   */
  async open(filter: DeviceFilter | DeviceInfo): Promise<Device> {
    if (isDeviceInfo(filter)) return new Device(await this.backend.open(filter.id));
    checkFilter(filter);
    const { serialNumber, ...ids } = filter;
    const candidates = (await this.list(ids)).sort((a, b) => Number(a.busy) - Number(b.busy));
    let refusal: unknown = null;
    for (const candidate of candidates) {
      let device;
      try {
        device = await this.backend.open(candidate.id);
      } catch (error) {
        // A busy device, or one that left meanwhile: another candidate may still do.
        refusal ??= error;
        continue;
      }
      if (serialNumber === undefined || device.descriptor.serialNumber === serialNumber) return new Device(device);
      await device.close();
    }
    if (refusal) throw refusal;
    throw new DisconnectedError(`no attached device matches ${JSON.stringify(filter)}`);
  }
}

function apply(list: readonly DeviceInfo[], event: HotplugEvent): readonly DeviceInfo[] {
  const others = list.filter((device) => device.id !== event.device.id);
  return event.type === 'attach' ? [...others, event.device] : others;
}

function matches(descriptor: DeviceDescriptor, filter: DeviceFilter): boolean {
  return (
    (filter.vendorId === undefined || descriptor.vendorId === filter.vendorId) &&
    (filter.productId === undefined || descriptor.productId === filter.productId) &&
    (filter.serialNumber === undefined ||
      descriptor.serialNumber === undefined ||
      descriptor.serialNumber === filter.serialNumber)
  );
}

function isDeviceInfo(value: unknown): value is DeviceInfo {
  return typeof value === 'object' && value !== null && 'id' in value && 'descriptor' in value;
}

function checkFilter(filter: unknown): asserts filter is DeviceFilter {
  if (typeof filter !== 'object' || filter === null) {
    throw new TypeError(`filter must be an object such as { vendorId, productId }, not ${describe(filter)}`);
  }
  checkOptions<DeviceFilter>('filter', filter, ['vendorId', 'productId', 'serialNumber']);
  const f = filter as Record<string, unknown>;
  if (f['vendorId'] !== undefined) checkInteger('vendorId', f['vendorId'], 0, 0xffff);
  if (f['productId'] !== undefined) checkInteger('productId', f['productId'], 0, 0xffff);
  if (f['serialNumber'] !== undefined && typeof f['serialNumber'] !== 'string') {
    throw new TypeError('serialNumber must be a string');
  }
}

