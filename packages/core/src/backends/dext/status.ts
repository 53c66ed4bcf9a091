/**
 * IOReturn numbers, as the dext reports them, in the contract's words: the one table.
 *
 * @internal
 * @module
 */
import type { CompletionStatus } from '../../backend.js';
import { AccessError, DisconnectedError, UsbError } from '../../errors.js';

/** IOReturn values (IOKit/IOReturn.h, USBDriverKit), as signed 32-bit numbers. */
export const IOReturn = {
  success: 0,
  error: 0xe00002bc | 0,
  noResources: 0xe00002be | 0,
  noDevice: 0xe00002c0 | 0,
  notPrivileged: 0xe00002c1 | 0,
  badArgument: 0xe00002c2 | 0,
  exclusiveAccess: 0xe00002c5 | 0,
  busy: 0xe00002d5 | 0,
  timeout: 0xe00002d6 | 0,
  notAttached: 0xe00002d9 | 0,
  notPermitted: 0xe00002e2 | 0,
  underrun: 0xe00002e7 | 0,
  overrun: 0xe00002e8 | 0,
  aborted: 0xe00002eb | 0,
  pipeStalled: 0xe0005000 | 0, // kUSBHostReturnPipeStalled
} as const;

const statusByIOReturn = new Map<number, CompletionStatus>([
  [IOReturn.success, 'ok'],
  // A short IN transfer is a success with fewer bytes (DriverKit reports it as an underrun on some pipes).
  [IOReturn.underrun, 'ok'],
  [IOReturn.aborted, 'aborted'],
  [IOReturn.pipeStalled, 'stall'],
  [IOReturn.timeout, 'timeout'],
  [IOReturn.overrun, 'babble'],
  [IOReturn.noDevice, 'disconnected'],
  [IOReturn.notAttached, 'disconnected'],
  [IOReturn.notPermitted, 'access'],
  [IOReturn.notPrivileged, 'access'],
  [IOReturn.exclusiveAccess, 'access'],
]);

/** The contract's status for an IOReturn; anything unlisted is `'error'`. */
export function completionStatus(ioReturn: number): CompletionStatus {
  return statusByIOReturn.get(ioReturn | 0) ?? 'error';
}

/** `0xe00002c0`, as IOKit's tools print it. */
export function ioReturnText(ioReturn: number): string {
  return `IOReturn 0x${(ioReturn >>> 0).toString(16).padStart(8, '0')}`;
}

/** The typed error for a failed call outside a transfer (open, set alternate setting, clear halt). */
export function callError(what: string, ioReturn: number): UsbError {
  const detail = `${what}: ${ioReturnText(ioReturn)}`;
  switch (completionStatus(ioReturn)) {
    case 'disconnected':
      return new DisconnectedError(detail);
    case 'access':
      return new AccessError(`${detail} (another process holds the dext, or this one lacks the user-client entitlement)`);
    default:
      return new UsbError(detail);
  }
}
