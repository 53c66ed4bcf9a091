/** The benchmark's figures as a Markdown table, one row per point. */
import type { Point } from './measure.js';

const fixed = (value: number, digits: number) => value.toFixed(digits);

export const TABLE_HEADER = [
  '| bus | size | in flight | path | transfers/s | MB/s | bus share | CPU us/transfer: JS | dext | bus | other | IPC/transfer (calls) | heap B/transfer |',
  '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
].join('\n');

export function tableRow(p: Point): string {
  const cells = [
    p.bus,
    String(p.transferSize),
    String(p.inFlight),
    p.path,
    String(Math.round(p.transfersPerSecond)),
    fixed(p.megabytesPerSecond, p.megabytesPerSecond < 10 ? 2 : 1),
    p.busShare === null ? '' : `${fixed(p.busShare * 100, 1)}%`,
    fixed(p.cpuMicroseconds.js, 2),
    fixed(p.cpuMicroseconds.dext, 2),
    fixed(p.cpuMicroseconds.bus, 2),
    fixed(p.cpuMicroseconds.other, 2),
    `${fixed(p.ipcPerTransfer, 3)} (${fixed(p.ipcCallsPerTransfer, 3)})`,
    p.heapBytesPerTransfer === null ? '' : String(Math.round(p.heapBytesPerTransfer)),
  ];
  return `| ${cells.join(' | ')} |`;
}
