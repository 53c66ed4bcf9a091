/**
 * Opens the Loopback function of a target as the conformance suite does, and empties what an
 * earlier session left in the gadget's Loopback queue, so that a new session's ledger starts at 0.
 */
import { TimeoutError, type Pipe } from '@dextio/core';
import { openFunction, type OpenFunction, type Target } from '../conformance/target.js';

/** Longer than any transfer the runs make, and a multiple of every packet size. */
const DRAIN_READ = 65536;
/** Long enough for data already queued in the gadget to arrive. */
const DRAIN_QUIET_MS = 50;
/** More than the gadget's Loopback queue holds. */
const DRAIN_READS_MAX = 256;

export async function openLoopback(target: Target): Promise<OpenFunction> {
  const pipes = await openFunction(await target.open(), 'loopback');
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
