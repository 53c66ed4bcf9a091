/**
 * Opens the Loopback function of a target as the conformance suite does, and empties what an
 * earlier session left in the gadget's Loopback queue, so that a new session's ledger starts at 0.
 */
import { TimeoutError, type Device, type Pipe } from '@dextio/core';
import type { Target } from '../conformance/target.js';

export interface LoopbackPipes {
  readonly device: Device;
  readonly in: Pipe;
  readonly out: Pipe;
}

/** Longer than any transfer the runs make, and a multiple of every packet size. */
const DRAIN_READ = 65536;
/** Long enough for data already queued in the gadget to arrive. */
const DRAIN_QUIET_MS = 50;
/** More than the gadget's Loopback queue holds. */
const DRAIN_READS_MAX = 256;

export async function openLoopback(target: Target): Promise<LoopbackPipes> {
  const fixture = await target.open();
  const { device } = fixture;
  const location = fixture.loopback;
  if (device.configuration?.configurationValue !== location.configurationValue) {
    await device.selectConfiguration(location.configurationValue);
  }
  await device.claimInterface(location.interfaceNumber);
  if (location.alternateSetting !== 0) {
    await device.selectAlternateInterface(location.interfaceNumber, location.alternateSetting);
  }
  // Targets put Loopback on different endpoints: the location names them where they are not the
  // alternate setting's first bulk pair.
  const endpoints = device.alternate(location.interfaceNumber).endpoints.filter((e) => e.type === 'bulk');
  const find = (direction: 'in' | 'out') => {
    const wanted = location.endpoints?.[direction];
    const endpoint = endpoints.find((e) => e.direction === direction && (wanted ?? e.endpointNumber) === e.endpointNumber);
    if (!endpoint) throw new Error(`the ${direction.toUpperCase()} endpoint of Loopback is not in interface ${location.interfaceNumber}`);
    return endpoint.endpointNumber;
  };
  const pipes = { device, in: await device.openPipe('in', find('in')), out: await device.openPipe('out', find('out')) };
  await drain(pipes.in);
  return pipes;
}

/** Reads until nothing comes for a moment. */
async function drain(pipe: Pipe): Promise<void> {
  for (let i = 0; i < DRAIN_READS_MAX; i++) {
    try {
      await pipe.transferIn(DRAIN_READ, { timeout: DRAIN_QUIET_MS });
    } catch (error) {
      if (error instanceof TimeoutError) return;
      throw error;
    }
  }
  throw new Error(`Loopback still had data after ${DRAIN_READS_MAX} reads`);
}
