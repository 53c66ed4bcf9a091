/**
 * The command line's workloads on a gadget-zero device: loopback round trips that straddle the
 * 4 KiB threshold with every byte verified, and SourceSink streaming with the pattern checked.
 *
 * @internal
 * @module
 */
import { lastValueFrom, reduce, take, tap } from 'rxjs';
import type { ConfigurationDescriptor, DeviceDescriptor } from '../descriptors.js';
import type { Device } from '../device.js';
import type { Pipe } from '../pipe.js';
import { planPath, type TransferPath } from '../planner.js';

export interface GadgetZeroLayout {
  readonly sourceSinkConfiguration: number;
  readonly loopbackConfiguration: number;
  readonly interfaceNumber: number;
}

export interface LoopbackRecord {
  readonly size: number;
  readonly path: TransferPath;
  readonly verified: boolean;
  readonly milliseconds: number;
}

export interface StreamRecord {
  readonly transferSize: number;
  readonly inFlight: number;
  readonly path: TransferPath;
  readonly bytes: number;
  readonly transfers: number;
  readonly seconds: number;
  readonly megabytesPerSecond: number;
  readonly transfersPerSecond: number;
  readonly verified: boolean;
}

/**
 * Where a gadget-zero function lives: `configuration:interface`, optionally `:endpoint` when its
 * bulk IN and OUT endpoints (that number, both directions) are not the interface's first pair.
 */
export interface FunctionLocation {
  readonly configurationValue: number;
  readonly interfaceNumber: number;
  readonly endpointNumber?: number;
}

export function parseLocation(spec: string): FunctionLocation {
  const parts = spec.split(':').map(Number);
  if (parts.length < 2 || parts.length > 3 || parts.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new RangeError(`a function location is configuration:interface[:endpoint], not '${spec}'`);
  }
  const [configurationValue, interfaceNumber, endpointNumber] = parts as [number, number, number?];
  return endpointNumber === undefined ? { configurationValue, interfaceNumber } : { configurationValue, interfaceNumber, endpointNumber };
}

/**
 * Where SourceSink and Loopback are on a gadget zero, from its descriptors: one interface with two
 * bulk pairs is the embedded virtual gadget (SourceSink on endpoints 1, Loopback on 2); otherwise
 * each function has a configuration of its own, 1 and 2 on a configfs gadget, 3 and 2 on the legacy
 * g_zero module. Null when the device looks like neither.
 */
export function gadgetZeroLayout(descriptor: DeviceDescriptor): { sourceSink: FunctionLocation; loopback: FunctionLocation } | null {
  const bulkPairs = (configuration: ConfigurationDescriptor | undefined, interfaceNumber = 0): number[] => {
    const endpoints = configuration?.interfaces.find((i) => i.interfaceNumber === interfaceNumber)?.alternates[0]?.endpoints ?? [];
    const numbers = endpoints.filter((e) => e.type === 'bulk' && e.direction === 'in').map((e) => e.endpointNumber);
    return numbers.filter((n) => endpoints.some((e) => e.type === 'bulk' && e.direction === 'out' && e.endpointNumber === n));
  };
  const configurations = descriptor.configurations;
  const byValue = (value: number) => configurations.find((c) => c.configurationValue === value);
  for (const configuration of configurations) {
    const pairs = bulkPairs(configuration);
    if (pairs.length >= 2) {
      const { configurationValue } = configuration;
      return {
        sourceSink: { configurationValue, interfaceNumber: 0, endpointNumber: pairs[0]! },
        loopback: { configurationValue, interfaceNumber: 0, endpointNumber: pairs[1]! },
      };
    }
  }
  for (const [source, loop] of [
    [1, 2],
    [3, 2],
  ] as const) {
    if (bulkPairs(byValue(source)).length > 0 && bulkPairs(byValue(loop)).length > 0) {
      return {
        sourceSink: { configurationValue: source, interfaceNumber: 0 },
        loopback: { configurationValue: loop, interfaceNumber: 0 },
      };
    }
  }
  return null;
}

/** Selects the function's configuration, claims its interface and opens its bulk IN and OUT pipes. */
export async function openFunction(device: Device, location: FunctionLocation): Promise<{ in: Pipe; out: Pipe }> {
  const { configurationValue, interfaceNumber, endpointNumber } = location;
  if (device.configuration?.configurationValue !== configurationValue) await device.selectConfiguration(configurationValue);
  if (!device.isClaimed(interfaceNumber)) await device.claimInterface(interfaceNumber);
  const endpoints = device
    .alternate(interfaceNumber)
    .endpoints.filter((e) => e.type === 'bulk' && (endpointNumber ?? e.endpointNumber) === e.endpointNumber);
  const inEndpoint = endpoints.find((e) => e.direction === 'in');
  const outEndpoint = endpoints.find((e) => e.direction === 'out');
  if (!inEndpoint || !outEndpoint) throw new Error(`interface ${interfaceNumber} has no such bulk IN and OUT endpoints`);
  return {
    in: await device.openPipe('in', inEndpoint.endpointNumber),
    out: await device.openPipe('out', outEndpoint.endpointNumber),
  };
}

/** Bytes that a stale or shifted buffer does not reproduce. */
export function testBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** One round trip through Loopback, IN and OUT in flight together (the function echoes packet by packet). */
export async function loopback(pipes: { in: Pipe; out: Pipe }, size: number): Promise<LoopbackRecord> {
  const data = testBytes(size, size);
  const started = performance.now();
  const [received, sent] = await Promise.all([pipes.in.transferIn(size), pipes.out.transferOut(data)]);
  const milliseconds = performance.now() - started;
  const verified =
    received.status === 'ok' && sent.status === 'ok' && received.path === sent.path && Buffer.compare(received.data, data) === 0;
  return { size, path: received.path, verified, milliseconds };
}

/** The SourceSink pattern: each byte is its offset within its packet, modulo 63. */
export function patternIntact(chunk: Uint8Array, packetSize: number): boolean {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (i % packetSize) % 63) return false;
  return true;
}

/** Streams `bytes` from SourceSink IN and checks the pattern of every chunk. */
export async function stream(
  pipe: Pipe,
  transferSize: number,
  inFlight: number,
  bytes: number,
  onChunk: (received: number) => void = () => undefined,
): Promise<StreamRecord> {
  const transfers = Math.ceil(bytes / transferSize);
  let verified = true;
  let received = 0;
  const started = performance.now();
  await lastValueFrom(
    pipe.stream({ transferSize, inFlight }).pipe(
      take(transfers),
      tap((chunk) => {
        received += chunk.length;
        verified &&= chunk.length === transferSize && patternIntact(chunk, pipe.packetSize);
        onChunk(received);
      }),
      reduce(() => undefined, undefined),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    transferSize,
    inFlight,
    path: planPath(transferSize),
    bytes: received,
    transfers,
    seconds,
    megabytesPerSecond: received / 1e6 / seconds,
    transfersPerSecond: transfers / seconds,
    verified,
  };
}
