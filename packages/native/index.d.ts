/**
 * @dextio/native: the IOKit user client of the dextio dext. Thin by design: names and numbers of
 * the ABI (packages/dext/include/dextio/abi.h), no policy. `@dextio/core`'s `dext` backend is the
 * intended caller.
 *
 * Completions arrive as one flat Float64Array per doorbell: `[tag, status, bytes, timestamp]`
 * repeated, `status` an IOReturn (0 = success), `timestamp` in nanoseconds of the system's
 * monotonic clock (the dext reports mach absolute time ticks; the addon converts them).
 *
 * On macOS it talks to the installed dext through IOKit; on Linux it links the dext's host runtime
 * and its virtual gadget zero, in the same process.
 *
 * @packageDocumentation
 */

/** What `deviceInfo()` reports (selector GetDeviceInfo). */
export interface DeviceInfo {
  /** The ABI version the dext was built with (compare with `limits.abiVersion`). */
  abiVersion: number;
  /** idVendor. */
  vendorId: number;
  /** idProduct. */
  productId: number;
  /** bcdDevice. */
  deviceRelease: number;
  /** bInterfaceNumber of the one interface the dext drives. */
  interfaceNumber: number;
  /** The interface's current alternate setting. */
  alternateSetting: number;
  /** Pipes (endpoints) of the current alternate setting. */
  pipeCount: number;
  /** 0 low, 1 full, 2 high, 3 super, 4 super+, 0xff unknown. */
  speed: number;
  /** bConfigurationValue of the configuration the interface belongs to. */
  configurationValue: number;
}

/** One pipe of the current alternate setting (selector GetPipes). */
export interface PipeInfo {
  /** bEndpointAddress: the pipe's name in every call. */
  address: number;
  /** 1 isochronous, 2 bulk, 3 interrupt. */
  type: number;
  /** bInterval. */
  interval: number;
  /** wMaxPacketSize, in bytes. */
  maxPacketSize: number;
  /** Mapped slots; 0 for pipes the dext cannot drive. */
  slotCount: number;
}

/** What `control()` resolves to. */
export interface ControlResult {
  /** IOReturn; 0 = success. */
  status: number;
  /** Bytes transferred in the data stage. */
  bytes: number;
  /** IN: the bytes received (a copy); OUT: empty. */
  data: Uint8Array;
}

/** What `counters()` reports: the connection's own bookkeeping. */
export interface Counters {
  /** Whether the connection is open. */
  open: boolean;
  /** Closed, and the dext has not yet said it stopped: pinned buffers stay pinned until it does. */
  closing: boolean;
  /** Transfers submitted and not yet delivered (their tags are in use). */
  inFlight: number;
  /** Descriptor-path buffers pinned until their completion, or after a close until the dext stops. */
  pinned: number;
  /** Lease views neither revoked nor collected yet (see `leaseSlot`). */
  leases: number;
  /** Doorbell callbacks received (one IPC message each). */
  doorbells: number;
  /** Kicks sent for the submission ring (one IPC message each). */
  kicks: number;
  /** Completions drained from the ring. */
  completions: number;
  /** The ring header's own count of doorbells (while open). */
  ringDoorbells?: number;
  /** The ring header's own count of completions (while open). */
  ringCompletions?: number;
}

/**
 * One connection (user client) to the dext. Each connection is exclusive: the dext drives one
 * interface of one device, and a second `open()` fails while the first is open.
 */
export declare class Connection {
  /** `onCompletions` runs on the JS thread with every completion drained per doorbell. */
  constructor(onCompletions: (batch: Float64Array) => void);
  /**
   * Opens the first DextioDriver service. Throws an Error with `ioReturn` on failure
   * (kIOReturnExclusiveAccess while another connection holds the device; a connection of this
   * process that is still closing is waited for, up to 2 s).
   */
  open(): void;
  /**
   * Stops draining, detaches every slot view and lease, ends queued control requests with
   * kIOReturnAborted, and closes the connection: the dext aborts what is in flight. Resolves `true`
   * once the dext says it has stopped the connection (then the device can be opened again and every
   * pinned buffer is released), or `false` after `timeout` ms (default 5000) without that notice;
   * the buffers it may still write stay pinned until it comes. Keeps the event loop alive until
   * it resolves. Calling it again returns the same promise.
   */
  close(timeout?: number): Promise<boolean>;
  /** True between a successful `open()` and `close()`. */
  readonly isOpen: boolean;
  /** The device and the interface the dext drives (selector GetDeviceInfo). */
  deviceInfo(): DeviceInfo;
  /** The pipes of the current alternate setting (selector GetPipes). */
  pipes(): PipeInfo[];
  /** The device descriptor, as the device sent it (18 bytes). */
  deviceDescriptor(): Uint8Array;
  /** Configuration descriptor number `index` (0-based, not bConfigurationValue), whole: all its interfaces and endpoints. */
  configurationDescriptor(index: number): Uint8Array;
  /**
   * The pipe's slots: views over the mapped memory, no copy, the same array on every call.
   * Every slot is mapped writable. IN slots are the device's to fill: the dext never reads them,
   * so a write into one is harmless and the next IN transfer into that slot overwrites it.
   * Detached (length 0) after close or an alternate-setting change.
   */
  slots(pipe: number): Uint8Array[];
  /**
   * A lease: a new `Uint8Array` of `limits.slotCapacity` bytes over the slot's mapped memory (no
   * copy), on an `ArrayBuffer` of its own on every call, so that `revokeLease` can detach it alone.
   * Meant for handing out the bytes of a completed IN transfer without copying them. Detached
   * (length 0) by `revokeLease`, `close()` and an alternate-setting change, before the memory can
   * go away. A lease dropped without being revoked is collected. Throws a `RangeError` for a pipe
   * or slot the current alternate setting does not have.
   */
  leaseSlot(pipe: number, slot: number): Uint8Array;
  /**
   * Detaches a lease (`view` or any view over its buffer): its length becomes 0, and it can never
   * show a later transfer's bytes. Idempotent, also after `close()`. A `TypeError` for anything
   * other than a `Uint8Array` made by this connection's `leaseSlot`.
   */
  revokeLease(view: Uint8Array): void;
  /**
   * Mapped path: queues the transfer in the submission ring, which the dext takes after its next
   * completion or when kicked; the addon kicks, at most once per JavaScript job, only if the dext
   * has not taken what was queued. Returns 0 (queued: one completion with `tag` follows, also if
   * the dext refuses it) or kIOReturnNoResources (the ring is full). A tag in use by a transfer in
   * flight (either path) is a `RangeError`.
   */
  submitSlot(pipe: number, slot: number, length: number, timeout: number, tag: number): number;
  /**
   * Descriptor path (length > 4096): the dext reads from / writes into `buffer` itself. The
   * buffer is pinned until the completion (after `close()`, until the dext stops). Tags must be
   * unique among transfers in flight, whatever their path (`RangeError`).
   */
  submitDescriptor(pipe: number, buffer: Uint8Array, length: number, timeout: number, tag: number): number;
  /**
   * A control transfer on endpoint 0; IN when bit 7 of bmRequestType is set (then `data` is
   * wLength, else the data stage). Up to `limits.maxControlLength` (65535) bytes: a data stage of at
   * most 4096 bytes travels by value, a longer one as a memory descriptor the device reads or
   * writes directly. Longer data is a `RangeError`. Asynchronous in the dext too; requests run one
   * at a time, in call order. `timeout` 0 is the dext's default (`limits.controlTimeoutDefaultMs`),
   * at most `limits.controlTimeoutMaxMs`: a control request always ends.
   */
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
  /** Transfers in flight, pinned buffers, doorbells and completions seen so far. */
  counters(): Counters;
}

/** A DextioDriver service as the IORegistry shows it (`services()`). */
export interface ServiceInfo {
  /** idVendor. */
  vendorId: number;
  /** idProduct. */
  productId: number;
  /** bcdDevice. */
  deviceRelease: number;
  /** bInterfaceNumber of the interface the dext drives. */
  interfaceNumber: number;
  /** The manufacturer string, as the IORegistry publishes it (absent when the device has none). */
  manufacturerName?: string;
  /** The product string, as the IORegistry publishes it (absent when the device has none). */
  productName?: string;
  /** The serial number string, as the IORegistry publishes it (absent when the device has none). */
  serialNumber?: string;
}

/**
 * The dext's services (one per device it drives) and their ids, read from the IORegistry without
 * opening a connection: it also lists a device that another connection holds (then `open()` fails
 * with `ioReturn` kIOReturnExclusiveAccess).
 */
export declare function services(): ServiceInfo[];

/**
 * Matching notifications for the dext's service: `'attach'` when a DextioDriver starts (a device
 * arrived), `'detach'` when one terminates. Services present at `start()` are not reported. Does
 * not keep the event loop alive.
 */
export declare class Monitor {
  constructor(onEvent: (type: 'attach' | 'detach') => void);
  /** Starts listening for the dext's service. */
  start(): void;
  /** Stops listening; no event arrives after it returns. */
  stop(): void;
}

/** The ABI's limits (packages/dext/include/dextio/abi.h), as compiled into the addon. */
export interface Limits {
  /** The ABI version the addon was built against. */
  abiVersion: number;
  /** Bytes in one mapped slot (4096); longer transfers take the descriptor path. */
  slotCapacity: number;
  /** Slots per pipe (32): the most mapped-path transfers a pipe can have in flight. */
  slotsPerPipe: number;
  /** Descriptor-path transfers in flight per connection, over all pipes (128). */
  maxDescriptorTransfers: number;
  /** The longest descriptor-path transfer, in bytes (64 MiB). */
  maxDescriptorLength: number;
  /** The longest data stage of a control transfer, in bytes (65535; above 4096 it travels as a descriptor). */
  maxControlLength: number;
  /** The timeout a control request given 0 gets, in ms. */
  controlTimeoutDefaultMs: number;
  /** The longest timeout a control request may have, in ms. */
  controlTimeoutMaxMs: number;
}
/** The ABI's limits. */
export declare const limits: Limits;

/**
 * Whether `slots()` and `leaseSlot()` are views of the dext's mapped memory itself (true), or
 * JavaScript's own memory that the addon copies into the mapping at `submitSlot` (OUT) and out of
 * it at the completion (IN): where V8 refuses memory from outside its heap, as Electron 21 and
 * later do, and in a build with `NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED`.
 */
export declare const externalBuffers: boolean;

/** IPC messages between this process and the dext so far, over all connections. */
export interface IpcCounters {
  /** Calls into the dext (`IOConnectCall*`: kicks, descriptor transfers, control requests...). */
  calls: number;
  /** Messages from it: doorbells, stopped notices and control requests' completions. */
  messages: number;
}
/** IPC messages so far (one Mach message each on macOS), for benchmarks. */
export declare function ipcCounters(): IpcCounters;

/** Objects alive in the host runtime (Linux only), for leak checks. */
export interface LiveCounts {
  /** Every OSObject. */
  objects: number;
  /** IOMemoryDescriptor and its subclasses. */
  descriptors: number;
  /** OSAction. */
  actions: number;
  /** IOMemoryMap, plus client mappings (IOConnectMapMemory64). */
  mappings: number;
  /** IOUserClient. */
  clients: number;
  /** IOService, user clients included. */
  services: number;
  /** Dispatch queue threads. */
  queues: number;
  /** Open io_connect_t. */
  connections: number;
  /** IONotificationPortRef. */
  notificationPorts: number;
}

/** Test hooks of the host runtime; present on Linux only. */
export interface Host {
  /** The host runtime's live objects. */
  liveCounts(): LiveCounts;
  /** Halts the endpoint, as a device STALL: its transfers fail until the halt is cleared. */
  gadgetInjectStall(address: number): void;
  /** The next IN transfer on the endpoint ends in babble (kIOReturnOverrun). */
  gadgetInjectBabble(address: number): void;
  /** The device does not answer the next `count` transfers on the endpoint: they end only by timeout or abort. */
  gadgetInjectTimeout(address: number, count: number): void;
  /** What SourceSink IN sends: zeros, or the gadget-zero pattern (offset % maxPacketSize) % 63, the default. */
  gadgetSetPattern(pattern: 'zeros' | 'mod63'): void;
  /**
   * How the virtual bus paces transfers: `'high-speed'` (the default; USB 2.0 bulk timing, 13
   * packets of 512 bytes per 125 us microframe, 53.248 MB/s, completions at the end of their
   * microframe) or `'unthrottled'` (the device answers at once: the software's ceiling). The
   * environment variable `DEXTIO_GADGET_BUS=unthrottled` chooses it at start.
   */
  gadgetSetBus(bus: 'high-speed' | 'unthrottled'): void;
  /** The current bus model. */
  gadgetBus(): 'high-speed' | 'unthrottled';
  /** The device does not answer the next `count` control requests: they end only by timeout or abort. */
  gadgetInjectControlTimeout(count: number): void;
  /**
   * While held, the kernel's terminations of closed connections wait: `close()` has returned, the
   * dext has not stopped the connection yet (the window macOS leaves open).
   */
  holdTerminations(hold: boolean): void;
  /** Unplug: pending transfers complete with kIOReturnNoDevice; returns once the dext has stopped. */
  gadgetDisconnect(): void;
  /** Plugs the virtual gadget back in: the dext is matched and started again. */
  gadgetConnect(): void;
}
/** The host runtime's test hooks on Linux; `undefined` on macOS. */
export declare const host: Host | undefined;
