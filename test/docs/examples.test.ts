/**
 * The guides' runnable examples (test/docs/examples/), run as a reader would run them, so that
 * what the guides show keeps working. The guides include their code with `{@includeCode}`.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

async function runExample(name: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=dextio-source', '--import', 'tsx', `test/docs/examples/${name}`],
    { cwd: ROOT, timeout: 30_000 },
  );
  return stdout;
}

describe('the examples of the guides', function () {
  it('first-transfer.ts prints what the getting-started guide says', async function () {
    this.timeout(60_000);
    const lines = (await runExample('first-transfer.ts')).trim().split('\n');
    expect(lines).to.deep.equal(['ok 512 mapped', 'ok 65536 descriptor', '16 chunks, 0 outstanding']);
  });
});
