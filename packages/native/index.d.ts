/**
 * @dextio/native: the IOKit user client of the dextio dext. Thin by design: names and numbers of
 * the ABI (packages/dext/include/dextio/abi.h), no policy. `@dextio/core`'s `dext` backend is the
 * intended caller.
 *
 * Completions arrive as one flat Float64Array per doorbell: `[tag, status, bytes, timestamp]`
 * repeated, `status` an IOReturn (0 = success), `timestamp` in the host's nanoseconds.
 */

/** What `deviceInfo()` reports (selector GetDeviceInfo). */
export interface DeviceInfo {
  abiVersion: number;
  vendorId: number;
  productId: number;
  /** bcdDevice. */
  deviceRelease: number;
  interfaceNumber: number;
  alternateSetting: number;
  pipeCount: number;
  /** 0 low, 1 full, 2 high, 3 super, 4 super+, 0xff unknown. */
  speed: number;
}

/** One pipe of the current alternate setting (selector GetPipes). */
export interface PipeInfo {
  /** bEndpointAddress: the pipe's name in every call. */
  address: number;
  /** 1 isochronous, 2 bulk, 3 interrupt. */
  type: number;
  interval: number;
  maxPacketSize: number;
  /** Mapped slots; 0 for pipes the dext cannot drive. */
  slotCount: number;
}

export interface ControlResult {
  /** IOReturn; 0 = success. */
  status: number;
  bytes: number;
  /** IN: the bytes received (a copy); OUT: empty. */
  data: Uint8Array;
}

export interface Counters {
  open: boolean;
  /** Transfers submitted and not yet delivered. */
  inFlight: number;
  /** Descriptor-path buffers pinned until their completion. */
  pinned: number;
  /** Doorbell callbacks received (one IPC message each). */
  doorbells: number;
  /** Completions drained from the ring. */
  completions: number;
  /** The ring header's own counts (while open). */
  ringDoorbells?: number;
  ringCompletions?: number;
}

export declare class Connection {
  /** `onCompletions` runs on the JS thread with every completion drained per doorbell. */
  constructor(onCompletions: (batch: Float64Array) => void);
  /** Opens the first DextioDriver service. Throws an Error with `ioReturn` on failure. */
  open(): void;
  /** Stops draining, closes the connection (the dext aborts what is in flight), detaches slot views. */
  close(): void;
  readonly isOpen: boolean;
  deviceInfo(): DeviceInfo;
  pipes(): PipeInfo[];
  /**
   * The pipe's slots: views over the mapped memory, no copy, the same array on every call.
   * IN slots are read-only memory (a write faults, as on macOS): never write into them.
   * Detached (length 0) after close or an alternate-setting change.
   */
  slots(pipe: number): Uint8Array[];
  /** Mapped path. Returns the submission's IOReturn; on 0, one completion with `tag` follows. */
  submitSlot(pipe: number, slot: number, length: number, timeout: number, tag: number): number;
  /**
   * Descriptor path (length > 4096): the dext reads from / writes into `buffer` itself. The
   * buffer is pinned until the completion. Tags must be unique among transfers in flight.
   */
  submitDescriptor(pipe: number, buffer: Uint8Array, length: number, timeout: number, tag: number): number;
  /** A control transfer on endpoint 0; IN when bit 7 of bmRequestType is set (then `data` is the length). */
  control(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    data: Uint8Array | number,
    timeout: number,
  ): Promise<ControlResult>;
  /** Aborts every transfer in flight on the pipe (they complete with kIOReturnAborted). Returns an IOReturn. */
  abort(pipe: number): number;
  /** Clears a halt on the device and the data toggle on the host. Returns an IOReturn. */
  clearHalt(pipe: number): number;
  /** SET_INTERFACE; kIOReturnBusy while transfers are in flight. Returns an IOReturn. */
  selectAlternate(alternateSetting: number): number;
  counters(): Counters;
}

/**
 * Matching notifications for the dext's service: `'attach'` when a DextioDriver starts (a device
 * arrived), `'detach'` when one terminates. Services present at `start()` are not reported. Does
 * not keep the event loop alive.
 */
export declare class Monitor {
  constructor(onEvent: (type: 'attach' | 'detach') => void);
  start(): void;
  stop(): void;
}

export interface Limits {
  abiVersion: number;
  slotCapacity: number;
  slotsPerPipe: number;
  maxDescriptorTransfers: number;
  maxDescriptorLength: number;
  maxControlLength: number;
}
export declare const limits: Limits;

export interface LiveCounts {
  objects: number;
  descriptors: number;
  actions: number;
  mappings: number;
  clients: number;
  services: number;
  queues: number;
  connections: number;
  notificationPorts: number;
}

/** Test hooks of the host runtime; present on Linux only. */
export interface Host {
  liveCounts(): LiveCounts;
  gadgetInjectStall(address: number): void;
  gadgetInjectBabble(address: number): void;
  gadgetInjectTimeout(address: number, count: number): void;
  gadgetSetPattern(pattern: 'zeros' | 'mod63'): void;
  /** Unplug: pending transfers complete with kIOReturnNoDevice; returns once the dext has stopped. */
  gadgetDisconnect(): void;
  gadgetConnect(): void;
}
export declare const host: Host | undefined;
