/**
 * Streams SourceSink IN through the addon and prints transfers/s, MB/s and IPC messages per
 * transfer (doorbells, plus kicks of the submission ring or one call per descriptor transfer).
 * Linux, host runtime, on the virtual gadget's current bus model (DEXTIO_GADGET_BUS). The whole
 * stack through @dextio/core, with more figures: `npm run bench` at the repository's root.
 *
 *   npm run bench -w @dextio/native
 */
import { createRequire } from 'node:module';
import type * as Native from '../index.js';

const native = createRequire(import.meta.url)('../index.cjs') as typeof Native;
const IN = 0x81;

interface Figures {
  transfers: number;
  seconds: number;
  bytes: number;
  messages: number;
}

/** `total` transfers of `size` bytes, `inFlight` at a time, each resubmitted from its completion. */
function addonStream(size: number, inFlight: number, total: number): Promise<Figures> {
  return new Promise((resolve, reject) => {
    let submitted = 0;
    let completed = 0;
    let bytes = 0;
    const buffers = size > native.limits.slotCapacity ? Array.from({ length: inFlight }, () => new Uint8Array(size)) : [];
    const submit = (lane: number): void => {
      const tag = submitted++;
      const ioReturn =
        size > native.limits.slotCapacity
          ? connection.submitDescriptor(IN, buffers[lane]!, size, 1000, tag * inFlight + lane)
          : connection.submitSlot(IN, lane, size, 1000, tag * inFlight + lane);
      if (ioReturn !== 0) reject(new Error(`submit: ${ioReturn}`));
    };
    const started = process.hrtime.bigint();
    const connection = new native.Connection((batch) => {
      for (let i = 0; i < batch.length; i += 4) {
        if (batch[i + 1] !== 0) return reject(new Error(`status ${batch[i + 1]}`));
        completed++;
        bytes += batch[i + 2]!;
        if (submitted < total) submit(batch[i]! % inFlight);
      }
      if (completed === total) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const counters = connection.counters();
        connection.close();
        const calls = size > native.limits.slotCapacity ? total : counters.kicks;
        resolve({ transfers: total, seconds, bytes, messages: (counters.ringDoorbells ?? counters.doorbells) + calls });
      }
    });
    connection.open();
    for (let lane = 0; lane < inFlight; lane++) submit(lane);
  });
}

function row(what: string, size: number, inFlight: number, f: Figures): string {
  const rate = Math.round(f.transfers / f.seconds);
  const mbs = (f.bytes / f.seconds / 1e6).toFixed(0);
  const perTransfer = Number.isNaN(f.messages) ? 'n/a' : (f.messages / f.transfers).toFixed(3);
  return `| ${what} | ${size} | ${inFlight} | ${rate} | ${mbs} | ${perTransfer} |`;
}

async function main(): Promise<void> {
  console.log(`${native.host?.gadgetBus() ?? 'macOS'} bus`);
  console.log('| layer | size | in flight | transfers/s | MB/s | IPC messages per transfer |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [size, inFlight, total] of [
    [512, 16, 100_000],
    [4096, 16, 50_000],
    [65536, 8, 5_000],
  ] as const) {
    console.log(row('addon', size, inFlight, await addonStream(size, inFlight, total)));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
