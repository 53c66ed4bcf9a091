/**
 * `@dextio/core`: move data to and from your own USB device with rxjs.
 *
 * Start with {@link Usb}: give it a backend, open a {@link Device}, claim an interface, open a
 * {@link Pipe} and read, write or stream. Transfers of at most {@link MAPPED_TRANSFER_MAX} bytes
 * go through a mapped slot; larger ones go straight from or into your buffer.
 *
 * @packageDocumentation
 */
export type {
  Backend,
  BackendDevice,
  BackendDeviceInfo,
  BackendHotplugEvent,
  BackendPipe,
  Completion,
  CompletionStatus,
  ControlCompletion,
  SlotLease,
  TransferHandle,
  TransferRequest,
} from './backend.js';
export type {
  AlternateDescriptor,
  ConfigurationDescriptor,
  ControlSetup,
  DeviceDescriptor,
  Direction,
  EndpointDescriptor,
  EndpointType,
  InterfaceDescriptor,
} from './descriptors.js';
export { CONTROL_TIMEOUT_DEFAULT, CONTROL_TIMEOUT_MAX, Device, type ControlOptions } from './device.js';
export {
  AbortedError,
  AccessError,
  BackpressureError,
  ClosedError,
  DisconnectedError,
  errorForStatus,
  OverflowError,
  StallError,
  TimeoutError,
  UsbError,
} from './errors.js';
export { auto } from './backends/auto.js';
export { dext } from './backends/dext/index.js';
export { libusb } from './backends/libusb/index.js';
export {
  createReadStream,
  createWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './node-streams.js';
export type { ChunkSource } from './out-stream.js';
export { Pipe } from './pipe.js';
export { MAPPED_TRANSFER_MAX, planPath, TRANSFER_LENGTH_MAX, type TransferPath } from './planner.js';
export {
  IN_FLIGHT_MAX,
  type ControlInResult,
  type ControlOutResult,
  type InResult,
  type LeasedInResult,
  type OutResult,
  type PipeLimits,
  type ReadonlyUint8Array,
  type StreamOptions,
  type TransferOptions,
  type TransferStatus,
  type WriteFromOptions,
  type WriteOptions,
} from './results.js';
export { Usb, type DeviceFilter, type DeviceInfo, type HotplugEvent } from './usb.js';
