/**
 * The size planner: which of the two zero-copy paths a transfer takes.
 *
 * An IOKit user client receives a structure argument of at most 4096 bytes by value and a larger
 * one as a memory descriptor. Transfers up to that size therefore use a slot of memory that the
 * driver made and mapped into this process (the *mapped* path); larger ones hand the caller's own
 * buffer to the driver (the *descriptor* path). Every backend follows the same rule so that a
 * result's `path` means the same thing everywhere.
 *
 * @module
 */

/** The largest transfer that takes the mapped path; also the capacity of one mapped slot. */
export const MAPPED_TRANSFER_MAX = 4096;

/** The largest length one transfer may ask for. Larger amounts are streamed. */
export const TRANSFER_LENGTH_MAX = 8 * 1024 * 1024;

/**
 * How a transfer's bytes travel between the caller and the device.
 * - `'mapped'`: through a slot of memory owned by the backend and mapped into this process.
 * - `'descriptor'`: straight from or into the caller's buffer.
 */
export type TransferPath = 'mapped' | 'descriptor';

/**
 * Picks the path for a transfer of `length` bytes, or checks a caller's override.
 *
 * @param length - bytes to move, already validated as an integer in range.
 * @param override - a path forced for an experiment; it must still be possible for this length.
 * @param descriptorMinLength - the smallest transfer the backend accepts as a descriptor
 *   (4097 where the IOKit rule applies, 1 where any buffer can be handed over).
 * @throws RangeError when the override cannot carry `length` bytes.
 */
export function planPath(
  length: number,
  override?: TransferPath,
  descriptorMinLength = MAPPED_TRANSFER_MAX + 1,
): TransferPath {
  if (override === undefined) return length <= MAPPED_TRANSFER_MAX ? 'mapped' : 'descriptor';
  if (override === 'mapped' && length > MAPPED_TRANSFER_MAX) {
    throw new RangeError(`path 'mapped' carries at most ${MAPPED_TRANSFER_MAX} bytes, not ${length}`);
  }
  if (override === 'descriptor' && length < descriptorMinLength) {
    throw new RangeError(
      `path 'descriptor' needs at least ${descriptorMinLength} bytes on this backend, not ${length}`,
    );
  }
  if (override !== 'mapped' && override !== 'descriptor') {
    throw new TypeError(`path must be 'mapped' or 'descriptor', not ${String(override)}`);
  }
  return override;
}
