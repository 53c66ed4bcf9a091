#!/usr/bin/env node
/**
 * `dextio`: list devices, run loopback round trips, stream from SourceSink, or all of it as a
 * benchmark, on a gadget-zero device. `--json` prints records instead of tables.
 *
 * @internal
 * @module
 */
import { parseArgs } from 'node:util';
import { auto } from '../backends/auto.js';
import { dext } from '../backends/dext/index.js';
import { libusb } from '../backends/libusb/index.js';
import type { Backend } from '../backend.js';
import { Usb, type DeviceFilter } from '../usb.js';
import { formatSize, Progress, table } from './format.js';
import {
  gadgetZeroLayout,
  loopback,
  openFunction,
  parseLocation,
  stream,
  type LoopbackRecord,
  type StreamRecord,
} from './workloads.js';

const USAGE = `usage: dextio <list|loopback|stream|bench> [options]

  list                 the attached devices
  loopback             round trips through gadget zero's Loopback, every byte verified
  stream               SourceSink IN per transfer size, pattern verified, MB/s and transfers/s
  bench                loopback, then stream

options:
  --backend NAME       dext, libusb or auto (default: auto, the dext on macOS, libusb elsewhere)
  --device VID:PID     hex ids (default 0525:a4a0, gadget zero)
  --source-sink LOC    where SourceSink is: configuration:interface[:endpoint] (default: found from
                       the descriptors: the embedded gadget's 1:0:1, configfs 1:0, g_zero 3:0)
  --loopback LOC       where Loopback is (default: found likewise; 1:0:2, 2:0 or 2:0)
  --sizes LIST         loopback sizes in bytes (default 512,4095,4096,4097,65536,1048576)
  --transfer-sizes L   stream transfer sizes (default 512,4096,16384,65536)
  --in-flight N        stream transfers kept queued (default 8)
  --bytes N            bytes streamed per transfer size (default 4194304)
  --json               print JSON records
`;

const backends: Record<string, () => Promise<Backend>> = { auto, dext, libusb };

function numbers(list: string): number[] {
  return list.split(',').map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`not a positive integer: '${item}'`);
    return value;
  });
}

function deviceFilter(spec: string): DeviceFilter {
  const [vendorId, productId] = spec.split(':').map((part) => Number.parseInt(part, 16));
  if (!Number.isInteger(vendorId) || !Number.isInteger(productId)) throw new RangeError(`--device must be VID:PID in hex, not '${spec}'`);
  return { vendorId: vendorId!, productId: productId! };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: 'string', default: 'auto' },
      device: { type: 'string', default: '0525:a4a0' },
      'source-sink': { type: 'string' },
      loopback: { type: 'string' },
      sizes: { type: 'string', default: '512,4095,4096,4097,65536,1048576' },
      'transfer-sizes': { type: 'string', default: '512,4096,16384,65536' },
      'in-flight': { type: 'string', default: '8' },
      bytes: { type: 'string', default: String(4 * 1024 * 1024) },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command || !['list', 'loopback', 'stream', 'bench'].includes(command)) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const makeBackend = backends[values.backend];
  if (!makeBackend) throw new RangeError(`unknown backend '${values.backend}'; known: ${Object.keys(backends).join(', ')}`);
  const backend = await makeBackend();
  const usb = new Usb(backend);
  if (backend.description && !values.json) process.stdout.write(`${backend.name}: ${backend.description}\n`);
  const print = (text: string, records: unknown) =>
    process.stdout.write(values.json ? `${JSON.stringify(records, null, 2)}\n` : `${text}\n`);

  if (command === 'list') {
    const devices = await usb.list();
    print(
      table(
        ['id', 'vendor', 'product', 'configurations'],
        devices.map((d) => [
          d.id,
          d.descriptor.vendorId.toString(16).padStart(4, '0'),
          d.descriptor.productId.toString(16).padStart(4, '0'),
          String(d.descriptor.configurations.length),
        ]),
      ),
      devices,
    );
    return 0;
  }

  const given = {
    sourceSink: values['source-sink'] === undefined ? undefined : parseLocation(values['source-sink']),
    loopback: values.loopback === undefined ? undefined : parseLocation(values.loopback),
  };
  const device = await usb.open(deviceFilter(values.device));
  const found = given.sourceSink && given.loopback ? null : gadgetZeroLayout(device.descriptor);
  const sourceSink = given.sourceSink ?? found?.sourceSink;
  const loopbackLocation = given.loopback ?? found?.loopback;
  if (!sourceSink || !loopbackLocation) {
    await device.close();
    throw new RangeError('this device does not look like gadget zero: give --source-sink and --loopback');
  }
  let ok = true;
  try {
    if (command === 'loopback' || command === 'bench') {
      const pipes = await openFunction(device, loopbackLocation);
      const records: LoopbackRecord[] = [];
      const sizes = numbers(values.sizes);
      const progress = new Progress('loopback', sizes.length);
      for (const size of sizes) {
        records.push(await loopback(pipes, size));
        progress.update(records.length);
      }
      progress.done();
      await Promise.all([pipes.in.close(), pipes.out.close()]);
      ok &&= records.every((r) => r.verified);
      print(
        `Loopback round trips on ${usb.backend.name}\n` +
          table(
            ['size', 'path', 'verified', 'ms'],
            records.map((r) => [formatSize(r.size), r.path, r.verified ? 'yes' : 'NO', r.milliseconds.toFixed(1)]),
          ),
        records,
      );
    }
    if (command === 'stream' || command === 'bench') {
      const pipes = await openFunction(device, sourceSink);
      const [inFlight] = numbers(values['in-flight']);
      const [bytes] = numbers(values.bytes);
      const records: StreamRecord[] = [];
      for (const transferSize of numbers(values['transfer-sizes'])) {
        const progress = new Progress(`stream ${formatSize(transferSize)}`, bytes!);
        records.push(await stream(pipes.in, transferSize, inFlight!, bytes!, (received) => progress.update(received)));
        progress.done();
      }
      ok &&= records.every((r) => r.verified);
      print(
        `SourceSink streaming on ${usb.backend.name}, ${inFlight} in flight, ${formatSize(bytes!)} per size\n` +
          table(
            ['transfer', 'path', 'MB/s', 'transfers/s', 'verified'],
            records.map((r) => [
              formatSize(r.transferSize),
              r.path,
              r.megabytesPerSecond.toFixed(1),
              r.transfersPerSecond.toFixed(0),
              r.verified ? 'yes' : 'NO',
            ]),
          ),
        records,
      );
    }
  } finally {
    await device.close();
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dextio: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exitCode = 1;
  },
);
