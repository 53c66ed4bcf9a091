/**
 * Facts of Linux's gadget zero that tests and the fake device share: the ids, the SourceSink
 * pattern and the vendor control requests.
 */

/** The classic gadget-zero ids, also the dext's default personality. */
export const GADGET_ZERO_IDS = { vendorId: 0x0525, productId: 0xa4a0 } as const;

/** Vendor request that stores the OUT data stage in the device (device recipient). */
export const REQUEST_WRITE_BUFFER = 0x5b;
/** Vendor request that returns the stored buffer. */
export const REQUEST_READ_BUFFER = 0x5c;

/**
 * SourceSink pattern 1: each byte is its offset within its packet, modulo 63. (Linux restarts the
 * pattern at every max-size packet.)
 */
export function patternByte(offset: number, packetSize: number): number {
  return (offset % packetSize) % 63;
}

/** Fills `target` with the pattern as if it started at a packet boundary. */
export function fillPattern(target: Uint8Array, packetSize: number): Uint8Array {
  for (let i = 0; i < target.length; i++) target[i] = patternByte(i, packetSize);
  return target;
}

/** The first offset where `data` breaks the pattern, or -1. `data` must start at a packet boundary. */
export function findPatternError(data: Uint8Array, packetSize: number): number {
  for (let i = 0; i < data.length; i++) if (data[i] !== patternByte(i, packetSize)) return i;
  return -1;
}
