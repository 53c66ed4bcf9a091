/**
 * Tables and a progress line for the command line.
 *
 * @internal
 * @module
 */

/** Right-aligned columns with a header rule. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * A progress line on stderr for work that lasts more than a second, redrawn at most ten times a
 * second, and only on a terminal.
 */
export class Progress {
  readonly #started = performance.now();
  #drawn = 0;
  #shown = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const now = performance.now();
    if (!this.stream.isTTY || now - this.#started < 1000 || now - this.#drawn < 100) return;
    this.#drawn = now;
    this.#shown = true;
    const percent = Math.min(100, Math.floor((done / this.total) * 100));
    this.stream.write(`\r${this.label} ${String(percent).padStart(3)}%`);
  }

  done(): void {
    if (this.#shown) this.stream.write('\r\x1b[2K');
  }
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
