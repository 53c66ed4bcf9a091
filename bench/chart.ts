/**
 * The benchmark as an SVG line chart: MB/s (log scale) against transfer size (log scale), one line
 * per bus model and inFlight, the 4 KiB threshold between the two paths marked, with the high-speed
 * bus's limit and the run's memcpy bandwidth as reference lines. Self-contained markup, no fonts
 * beyond the generic families, so that the docs site can show it as an image.
 */
import type { Point } from './measure.js';

const WIDTH = 880;
const HEIGHT = 520;
const MARGIN = { left: 72, right: 190, top: 40, bottom: 56 };
const COLORS = ['#1b6ec2', '#d9480f', '#2b8a3e', '#862e9c'];

export interface ChartInput {
  points: readonly Point[];
  /** Reference lines, e.g. the bus limit and memcpy, in MB/s. */
  references: readonly { label: string; megabytesPerSecond: number }[];
  title: string;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

export function chartSvg({ points, references, title }: ChartInput): string {
  const sizes = [...new Set(points.map((p) => p.transferSize))].sort((a, b) => a - b);
  if (sizes.length === 0) throw new RangeError('no points to chart');
  const values = [...points.map((p) => p.megabytesPerSecond), ...references.map((r) => r.megabytesPerSecond)].filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = Math.log2(sizes[0]!);
  const xMax = Math.max(xMin + 1, Math.log2(sizes[sizes.length - 1]!));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (size: number) => MARGIN.left + ((Math.log2(size) - xMin) / (xMax - xMin)) * plotWidth;
  const y = (mbs: number) => MARGIN.top + plotHeight - ((Math.log10(Math.max(mbs, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotHeight;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="14">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`);
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(decade)}" y2="${y(decade)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${y(decade) + 5}" text-anchor="end">${decade >= 1 ? decade : decade.toFixed(1)}</text>`);
  }
  for (const size of sizes) {
    out.push(`<text x="${x(size)}" y="${MARGIN.top + plotHeight + 22}" text-anchor="middle" font-size="12">${sizeLabel(size)}</text>`);
  }
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">transfer size</text>`);
  out.push(`<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">MB/s</text>`);
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  // The threshold: transfers of 4096 bytes or less take the mapped path, larger ones the descriptor path.
  const threshold = x(4096);
  out.push(`<line class="threshold" x1="${threshold}" x2="${threshold}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#444" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${threshold - 6}" y="${MARGIN.top + 16}" text-anchor="end" font-size="12">mapped</text>`);
  out.push(`<text x="${threshold + 6}" y="${MARGIN.top + 16}" font-size="12">descriptor</text>`);
  out.push(`<text x="${threshold}" y="${MARGIN.top - 4}" text-anchor="middle" font-size="12">4 KiB</text>`);
  for (const reference of references) {
    const ry = y(reference.megabytesPerSecond);
    out.push(`<line class="reference" x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${ry}" y2="${ry}" stroke="#999" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${MARGIN.left + plotWidth - 6}" y="${ry - 5}" text-anchor="end" font-size="12" fill="#555">${escape(reference.label)}</text>`);
  }
  const series = new Map<string, Point[]>();
  for (const point of points) {
    const key = `${point.bus}, ${point.inFlight} in flight`;
    series.set(key, [...(series.get(key) ?? []), point]);
  }
  const depths = [...new Set(points.map((p) => p.inFlight))].sort((a, b) => a - b);
  let index = 0;
  for (const [label, line] of series) {
    const color = COLORS[depths.indexOf(line[0]!.inFlight) % COLORS.length]!;
    const dash = line[0]!.bus === 'high-speed' ? ' stroke-dasharray="7 3"' : '';
    const sorted = [...line].sort((a, b) => a.transferSize - b.transferSize);
    const path = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.transferSize).toFixed(1)},${y(p.megabytesPerSecond).toFixed(1)}`).join(' ');
    out.push(`<path class="series" d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const ly = MARGIN.top + 40 + index * 20;
    out.push(`<line x1="${WIDTH - MARGIN.right + 14}" x2="${WIDTH - MARGIN.right + 40}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 46}" y="${ly}" font-size="12">${escape(label)}</text>`);
    index++;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
