/**
 * This machine's memory copy bandwidth, measured in the run: `TypedArray.set` between two buffers
 * (V8 calls memmove), blocks of `blockSize` walked across 256 MiB so that they are not in cache.
 */
export function memcpyBandwidth(blockSize: number, seconds = 0.3): number {
  const span = 256 * 1024 * 1024;
  const source = new Uint8Array(span).fill(1);
  const target = new Uint8Array(span).fill(2); // touched: no page faults inside the measurement
  const blocks = span / blockSize;
  let copied = 0;
  let block = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 64; i++) {
      const offset = (block++ % blocks) * blockSize;
      target.set(source.subarray(offset, offset + blockSize), (offset + span / 2) % span);
      copied += blockSize;
    }
  }
  return copied / ((performance.now() - started) / 1000);
}
