import { expect } from 'chai';
import { chartSvg } from './chart.js';
import type { Point } from './measure.js';

function point(bus: Point['bus'], transferSize: number, inFlight: number, megabytesPerSecond: number): Point {
  return {
    bus,
    transferSize,
    inFlight,
    path: transferSize > 4096 ? 'descriptor' : 'mapped',
    transfers: 1,
    seconds: 1,
    megabytesPerSecond,
    transfersPerSecond: 1,
    cpuMicroseconds: { js: 0, dext: 0, bus: 0, other: 0 },
    ipcPerTransfer: 0,
    ipcCallsPerTransfer: 0,
    heapBytesPerTransfer: null,
    busShare: null,
  };
}

/** The x of each vertex of a series' path. */
function xs(path: string): number[] {
  return [...path.matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
}

describe('bench chart', function () {
  const points = [
    point('unthrottled', 512, 4, 50),
    point('unthrottled', 4096, 4, 400),
    point('unthrottled', 65536, 4, 1200),
    point('high-speed', 512, 4, 15),
    point('high-speed', 65536, 4, 52),
  ];
  const svg = chartSvg({ points, title: 'test <chart>', references: [{ label: 'bus limit', megabytesPerSecond: 53.248 }] });

  it('draws one series per bus and depth, left to right by size, the slow bus dashed', function () {
    const series = [...svg.matchAll(/<path class="series" d="([^"]+)"[^>]*>/g)];
    expect(series).to.have.length(2);
    const unthrottled = xs(series[0]![1]!);
    expect(unthrottled).to.have.length(3);
    expect(unthrottled[0]).to.be.below(unthrottled[1]!);
    expect(unthrottled[1]).to.be.below(unthrottled[2]!);
    expect(series[0]![0]).to.not.include('stroke-dasharray');
    expect(series[1]![0]).to.include('stroke-dasharray');
    expect(svg).to.include('unthrottled, 4 in flight').and.include('high-speed, 4 in flight');
  });

  it('marks the 4 KiB threshold where the 4096-byte points are, and the reference lines', function () {
    const threshold = Number(/<line class="threshold" x1="([\d.]+)"/.exec(svg)![1]);
    const unthrottled = xs(/<path class="series" d="([^"]+)"/.exec(svg)![1]!);
    expect(threshold).to.be.closeTo(unthrottled[1]!, 0.1);
    expect(svg.match(/class="reference"/g)).to.have.length(1);
    expect(svg).to.include('bus limit');
  });

  it('escapes text and refuses an empty run', function () {
    expect(svg).to.include('test &lt;chart&gt;');
    expect(() => chartSvg({ points: [], title: '', references: [] })).to.throw(RangeError);
  });
});
