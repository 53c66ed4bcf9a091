/**
 * The devices this process has open through the libusb backend, whichever backend instance opened
 * them, and the unplug watch that serves them.
 *
 * Busy: usbfs lets any number of handles open a device and holds only interface claims, so libusb
 * never refuses a second open. The contract gives a device to one opener at a time (as the dext's
 * exclusive user client does): this registry refuses a second open in this process and marks the
 * device busy in every listing; `usbfs.ts` adds what other processes have claimed.
 *
 * Unplugs: `usb` reports a device that leaves only through its 'detach' event, and runs libusb's
 * hotplug callback (or its polling, where libusb has none) only while someone listens to it. The
 * registry listens while it holds a device, idle or not, whatever the app watches, and stops when
 * it holds none, so that the process can exit. On Linux libusb raises the event for an open
 * device itself when its usbfs file reports the removal, with or without udevd.
 *
 * @internal
 * @module
 */
import type { Device as UsbDevice } from 'usb';
import { AccessError } from '../../errors.js';
import { deviceId } from './descriptors.js';

/** `usb`'s event emitter: 'attach' and 'detach'. */
export type HotplugEmitter = (typeof import('usb'))['usb'];

/** What learns that its held device went away. */
export interface HoldOwner {
  lost(): void;
}

const holds = new Map<string, Hold>();
let watching: HotplugEmitter | null = null;

const onDetach = (device: UsbDevice): void => holds.get(deviceId(device))?.gone();

/** One open device's place in the registry, from the start of its open to its close or unplug. */
export class Hold {
  #owner: HoldOwner | null = null;
  #gone = false;

  constructor(readonly id: string) {}

  /** The opened device takes over: it hears of the unplug from now on, or now if it came first. */
  own(owner: HoldOwner): void {
    this.#owner = owner;
    if (this.#gone) owner.lost();
  }

  /** Gives the device back (a close, a failed open, an unplug). Idempotent. */
  release(): void {
    if (holds.get(this.id) !== this) return;
    holds.delete(this.id);
    if (holds.size === 0) {
      watching?.off('detach', onDetach);
      watching = null;
    }
  }

  /** The device left: nothing is held any more, and the owner learns it. */
  gone(): void {
    this.#gone = true;
    this.release();
    this.#owner?.lost();
  }
}

/** Whether this process has the device open through the libusb backend. */
export function heldHere(id: string): boolean {
  return holds.has(id);
}

/**
 * Reserves a device for an open under way, before its first await, so that two opens at once
 * cannot both pass. Throws `AccessError` when this process holds it already.
 */
export function hold(id: string, events: HotplugEmitter): Hold {
  if (holds.has(id)) throw new AccessError(`device ${id} is held by this process: it is open already`);
  if (watching === null) {
    events.on('detach', onDetach);
    watching = events;
  }
  const reserved = new Hold(id);
  holds.set(id, reserved);
  return reserved;
}
