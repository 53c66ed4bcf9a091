/**
 * The backend contract: what {@link Usb}, {@link Device} and {@link Pipe} need from whatever moves
 * the bytes. Types only; the doc comments are the contract. Every backend (`dext` over the native
 * addon, `libusb` over the npm package `usb`, and the test suite's fake) passes one conformance
 * suite written against these rules.
 *
 * Adapters live in `@dextio/core` (`src/backends/*`) and load their native package lazily: the
 * contract is core's, so core owns the translation, and `@dextio/native` stays a thin addon that
 * depends on nothing of ours. No package imports another in a cycle.
 *
 * @module
 */
import type { ControlSetup, DeviceDescriptor, Direction, EndpointType } from './descriptors.js';
import type { TransferPath } from './planner.js';

/**
 * How a transfer ended, as the backend reports it.
 * - `'ok'`: `bytes` moved (an IN transfer may be short).
 * - `'stall'`: the endpoint is halted; `bytes` may be non-zero.
 * - `'babble'`: the device sent more than asked; the data is not trustworthy.
 * - `'timeout'`: the transfer's timeout expired; `bytes` may be non-zero.
 * - `'aborted'`: cancelled by {@link TransferHandle.cancel}, a pipe abort or a close.
 * - `'disconnected'`: the device went away.
 * - `'access'`: the operating system refused the transfer.
 * - `'error'`: anything else; `message` says what.
 */
export type CompletionStatus =
  | 'ok'
  | 'stall'
  | 'babble'
  | 'timeout'
  | 'aborted'
  | 'disconnected'
  | 'access'
  | 'error';

/** What a backend reports when a transfer ends. */
export interface Completion {
  /** How the transfer ended. */
  readonly status: CompletionStatus;
  /** Bytes actually moved: received into the slot or buffer (IN) or sent (OUT). */
  readonly bytes: number;
  /** Set for `'error'` (and optionally others): what the layer below said. */
  readonly message?: string;
}

/**
 * One transfer to submit on a pipe.
 *
 * Mapped: the data is in (OUT) or lands in (IN) `pipe.slots[slot]`, from offset 0. The caller owns
 * the slot from submission until the completion arrives and must not submit another transfer on it
 * meanwhile.
 *
 * Descriptor: the backend reads from (OUT) or writes into (IN) `buffer` itself, without a copy, and
 * keeps it referenced until the completion arrives.
 */
export type TransferRequest =
  | {
      /** Through a mapped slot. */
      readonly path: 'mapped';
      /** Which of {@link BackendPipe.slots} holds (OUT) or receives (IN) the data. */
      readonly slot: number;
      /** Bytes to send (OUT) or the most to receive (IN), at most the slot's capacity. */
      readonly length: number;
      /** Milliseconds; 0 waits forever. */
      readonly timeout: number;
      /** OUT only: end the transfer with a zero-length packet when it fills its last packet. */
      readonly zlp: boolean;
    }
  | {
      /** Straight from or into the caller's buffer. */
      readonly path: 'descriptor';
      /** The caller's memory: the data to send (OUT) or where the data lands (IN). */
      readonly buffer: Uint8Array;
      /** Bytes to send (OUT) or the most to receive (IN), at least {@link BackendPipe.descriptorMinLength}. */
      readonly length: number;
      /** Milliseconds; 0 waits forever. */
      readonly timeout: number;
      /** OUT only: end the transfer with a zero-length packet when it fills its last packet. */
      readonly zlp: boolean;
    };

/** A submitted transfer. */
export interface TransferHandle {
  /**
   * Asks the backend to cancel the transfer. Idempotent, never throws, and never completes
   * anything synchronously. The transfer's callback still runs exactly once: with `'aborted'` if
   * the cancel won, or with the transfer's real outcome if it had already finished. A backend
   * whose operating system can abort only a whole pipe (DriverKit's `IOUSBHostPipe::Abort`) may
   * complete the pipe's other outstanding transfers with `'aborted'` too, and must document it.
   */
  cancel(): void;
}

/**
 * A bulk or interrupt endpoint of a claimed interface.
 *
 * Rules every backend keeps:
 * - `submit` never calls `onComplete` synchronously; it calls it exactly once per transfer, on the
 *   JavaScript thread, in submission order for the transfers of one pipe.
 * - A backend may deliver several completions in one turn of the event loop (batching); callers
 *   must not assume a turn per completion.
 * - When the device goes away, every outstanding transfer completes with `'disconnected'`, and so
 *   does every later submission (asynchronously, as always).
 * - After `close()`, outstanding transfers complete with `'aborted'` and `closed` resolves once
 *   every callback has run.
 */
export interface BackendPipe {
  /** `'in'` (device to host) or `'out'`. */
  readonly direction: Direction;
  /** The endpoint number, 1 to 15. */
  readonly endpointNumber: number;
  /** `'bulk'` or `'interrupt'`. */
  readonly type: EndpointType;
  /** The endpoint's wMaxPacketSize. */
  readonly packetSize: number;
  /**
   * The mapped path's memory: one view per slot, each {@link MAPPED_TRANSFER_MAX} bytes long,
   * writable (IN slots too: JavaScript never holds a view of read-only memory). The caller chooses
   * which slot a transfer uses. An entry may be replaced by {@link lease}'s `revoke`: read
   * `slots[i]` at use, never keep it.
   */
  readonly slots: readonly Uint8Array[];
  /** The smallest length the descriptor path accepts here (4097 under IOKit's rule). */
  readonly descriptorMinLength: number;
  /**
   * The most descriptor-path transfers this pipe may have in flight at once: its own share of
   * whatever the backend can hold, so that no pipe can take another's. At least 1. The caller
   * never submits more; the mapped path's own limit is `slots.length`.
   */
  readonly descriptorTransfersMax: number;
  /**
   * Hands the first `length` bytes of slot `slot` (whose IN transfer has completed) to a zero-copy
   * lease: a view of the slot's memory that only the lease holds. After `revoke()`, that view is
   * empty (its ArrayBuffer detached) and can never show a later transfer's bytes; the slot itself
   * stays usable. The caller revokes before it reuses the slot.
   */
  lease(slot: number, length: number): SlotLease;
  /**
   * Starts one transfer. The backend reads `request` during the call and keeps nothing of it.
   * Throws nothing for a transfer the device refuses: every outcome arrives through `onComplete`.
   * The caller keeps at most `slots.length` mapped and {@link descriptorTransfersMax} descriptor
   * transfers outstanding, and submits in the order the user asked for; the backend may refuse
   * anything beyond those limits with `'error'`.
   *
   * So that streaming need not allocate per transfer, a backend may reuse what it hands out: the
   * completion object is valid during the `onComplete` call only, and the handle until then (the
   * caller cancels only transfers that have not completed).
   */
  submit(request: TransferRequest, onComplete: (completion: Completion) => void): TransferHandle;
  /** Clears a halt on the endpoint (CLEAR_FEATURE(ENDPOINT_HALT)) and resets its data toggle. */
  clearHalt(): Promise<void>;
  /** Aborts what is outstanding and releases the slots; resolves when every callback has run. */
  close(): Promise<void>;
}

/** A zero-copy view of a slot, from {@link BackendPipe.lease}. */
export interface SlotLease {
  /** The slot's first bytes, as received: a view that only this lease holds. */
  readonly data: Uint8Array;
  /** Detaches `data` (it reads as empty from then on); the slot stays usable. Idempotent. */
  revoke(): void;
}

/** The outcome of a control transfer. */
export interface ControlCompletion {
  /** How the transfer ended; a request the device refuses is `'stall'`. */
  readonly status: CompletionStatus;
  /** IN: the bytes received; OUT: empty. */
  readonly data: Uint8Array;
  /** OUT: bytes sent; IN: bytes received. */
  readonly bytes: number;
  /** Set for `'error'` (and optionally others): what the layer below said. */
  readonly message?: string;
}

/** A device opened by a backend. Methods reject with the errors of `errors.ts`. */
export interface BackendDevice {
  /** Descriptors, with string fields filled in where the device has them. */
  readonly descriptor: DeviceDescriptor;
  /** The active configuration's value, or `null` when unconfigured. */
  readonly configurationValue: number | null;
  /**
   * The interfaces this backend can claim, where it cannot claim every interface of the active
   * configuration (the dext drives the one interface it was matched on). Absent: all of them.
   */
  readonly claimableInterfaces?: readonly number[];
  /** Sets the active configuration (SET_CONFIGURATION). */
  selectConfiguration(configurationValue: number): Promise<void>;
  /** Claims an interface for this process; rejects with `AccessError` when another driver holds it. */
  claimInterface(interfaceNumber: number): Promise<void>;
  /** Gives a claimed interface back. */
  releaseInterface(interfaceNumber: number): Promise<void>;
  /** Selects an alternate setting of a claimed interface (SET_INTERFACE). */
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** Reads string descriptor `index` (US English) as text. */
  getString(index: number): Promise<string>;
  /**
   * The longest data stage this backend can carry: 65535 (all of wLength) unless the layer below
   * refuses more (libusb on Linux and Windows: 4096). The caller never asks for more.
   */
  readonly controlLengthMax: number;
  /**
   * Runs a control transfer on endpoint 0. `data` is the OUT payload, or for IN the most bytes to
   * receive: any wLength from 0 to {@link controlLengthMax}. Resolves with the outcome (a stall resolves, with
   * `status: 'stall'`); rejects only for failures outside the transfer itself.
   */
  control(
    direction: Direction,
    setup: ControlSetup,
    data: Uint8Array | number,
    timeout: number,
  ): Promise<ControlCompletion>;
  /** Opens the pipe of an endpoint of a claimed interface's current alternate setting. */
  openPipe(direction: Direction, endpointNumber: number): Promise<BackendPipe>;
  /**
   * Registers a listener for the device going away. It runs once, after every outstanding transfer
   * has completed with `'disconnected'`. The backend notices an unplug by itself, also while the
   * device is idle and nobody watches hotplug. Returns a function that removes it.
   */
  onDisconnect(listener: () => void): () => void;
  /** Closes pipes and the device. Idempotent. */
  close(): Promise<void>;
}

/** A device the backend can see, before it is opened. */
export interface BackendDeviceInfo {
  /** Stable while the device stays attached; different after a re-attach. */
  readonly id: string;
  /**
   * The device descriptor, with the strings that could be read without opening the device. For a
   * busy device it may hold only what the system shows without opening it (ids, no configurations).
   */
  readonly descriptor: DeviceDescriptor;
  /** `true` when another process (or another backend instance) holds the device: `open` rejects with `AccessError`. */
  readonly busy: boolean;
}

/** A hotplug event. */
export interface BackendHotplugEvent {
  /** `'attach'` when the device arrived, `'detach'` when it left. */
  readonly type: 'attach' | 'detach';
  /** The device that arrived or left. */
  readonly device: BackendDeviceInfo;
}

/** The entry point of a backend. */
export interface Backend {
  /** `'dext'`, `'libusb'`, or a test backend's name. */
  readonly name: string;
  /** What it drives, for a log line (the dext backend on Linux: the virtual gadget and its bus model). */
  readonly description?: string;
  /** The devices attached now. String fields are filled in where they can be read without opening. */
  list(): Promise<BackendDeviceInfo[]>;
  /**
   * Calls `listener` for every attach and detach from now on, asynchronously. Returns a function
   * that stops it.
   */
  watch(listener: (event: BackendHotplugEvent) => void): () => void;
  /**
   * Opens a listed device. Rejects with `AccessError` when the system refuses or the device is held
   * (the message says which), `DisconnectedError` when it is gone.
   */
  open(id: string): Promise<BackendDevice>;
}

export type { TransferPath };
