/**
 * The numbers the guides state, checked against the code: the exported limits, the command line's
 * options and defaults, and the defaults that only behaviour shows (a stream's `inFlight`,
 * `writeFrom`'s `highWaterMark`). When one of these fails, the code changed: update the guides
 * with it.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BackpressureError,
  CONTROL_TIMEOUT_DEFAULT,
  CONTROL_TIMEOUT_MAX,
  IN_FLIGHT_MAX,
  MAPPED_TRANSFER_MAX,
  TRANSFER_LENGTH_MAX,
} from '@dextio/core';
import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { fillPattern } from '../support/gadget-zero.js';
import { fakeTarget } from '../targets/fake/target.js';

const GUIDES = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'docs/guides');

async function guide(name: string): Promise<string> {
  return readFile(join(GUIDES, `${name}.md`), 'utf8');
}

/** Waits until every transfer the fake backend was given has had a turn to start. */
function settle(): Promise<void> {
  return new Promise((done) => setTimeout(done, 20));
}

describe('the facts the guides state', function () {
  it('limits: 4096-byte mapped path, 8 MiB transfers, 64 in flight, 5000 ms control timeout', async function () {
    expect(MAPPED_TRANSFER_MAX).to.equal(4096);
    expect(TRANSFER_LENGTH_MAX).to.equal(8 * 1024 * 1024);
    expect(IN_FLIGHT_MAX).to.equal(64);
    expect(CONTROL_TIMEOUT_DEFAULT).to.equal(5000);
    expect(CONTROL_TIMEOUT_MAX).to.equal(30000);
    const streaming = await guide('streaming');
    expect(streaming).to.contain("| `inFlight` | transfers kept queued on the pipe | 4 | 1 to 64 (");
    expect(streaming).to.contain("and at most the pipe's limit for the path (");
    expect(streaming).to.contain('| 1 to 8 MiB (');
    expect(streaming).to.contain('`highWaterMark` (default 64 chunks)');
    expect(await guide('getting-started')).to.contain('(5000) ms');
    expect(await guide('getting-started')).to.contain('(30000) ms');
    expect(await guide('errors')).to.contain('(5000 ms) by default');
    expect(await guide('errors')).to.contain('(30000 ms)');
    expect(await guide('paths')).to.contain('| 1 to 4096 (');
  });

  it('the command line: every option and default in the getting-started table is the CLI\'s', async function () {
    const source = await readFile(join(GUIDES, '../../packages/core/src/cli/main.ts'), 'utf8');
    const options = [...source.matchAll(/'?([a-z-]+)'?: \{ type: 'string', default: (?:'([^']*)'|String\(([^)]*)\))/g)];
    expect(options.map(([, name]) => name)).to.include.members(['backend', 'device', 'bytes']);
    // Options without a default are found from the device; the guide says so.
    const found = [...source.matchAll(/'?([a-z-]+)'?: \{ type: 'string' \}/g)].map(([, name]) => name);
    expect(found).to.have.members(['source-sink', 'loopback']);
    const started = await guide('getting-started');
    for (const [, name, literal, expression] of options) {
      // Node evaluates `String(4 * 1024 * 1024)`-style defaults; the guide shows the number.
      const value = literal ?? String(Function(`return ${expression}`)());
      expect(started, `--${name}`).to.match(new RegExp(`\\| \`--${name}[^|]*\` \\| \`${value}\` \\|`));
    }
    for (const name of found) expect(started, `--${name}`).to.match(new RegExp(`\\| \`--${name}[^|]*\` \\| found \\|`));
    for (const command of ['list', 'loopback', 'stream', 'bench']) expect(started).to.contain(`| \`dextio ${command}\` |`);
  });

  it("the testing guide's table of the embedded target's features is the target's", async function () {
    const { embeddedTarget } = await import('../targets/embedded/target.js');
    const features = (await embeddedTarget()).features as Record<string, unknown>;
    const testing = await guide('testing');
    const table = testing.slice(testing.indexOf('| feature | on `embedded` |'));
    const said: Record<string, boolean> = {};
    for (const [, names, answer] of table.matchAll(/^\| ((?:`\w+`(?:, )?)+) \| (yes|no)\b/gm)) {
      for (const [, name] of names!.matchAll(/`(\w+)`/g)) said[name!] = answer === 'yes';
    }
    const actual = Object.fromEntries(Object.entries(features).map(([name, value]) => [name, value === true]));
    expect(said).to.deep.equal(actual);
  });

  describe('defaults that only behaviour shows (fake target)', function () {
    const target = fakeTarget();

    it("a stream keeps 4 transfers in flight unless told otherwise, and at most the pipe's limit", async function () {
      const { device, loopback } = await target.open();
      await device.selectConfiguration(loopback.configurationValue);
      await device.claimInterface(loopback.interfaceNumber);
      const input = await device.openPipe('in', 1);
      // Loopback IN transfers wait for OUT data, so they stay queued where they can be counted.
      const subscription = input.stream({ transferSize: 512 }).subscribe({ error: () => undefined });
      await settle();
      expect(input.outstanding).to.equal(4);
      subscription.unsubscribe();
      await input.drained();
      expect(() => input.stream({ transferSize: 512, inFlight: 65 })).to.throw(RangeError);
      const { mapped } = input.limits;
      expect(() => input.stream({ transferSize: 512, inFlight: mapped + 1 })).to.throw(RangeError, /pipe.limits/);
      expect(() => input.stream({ transferSize: 512, inFlight: mapped })).not.to.throw();
      await device.close();
    });

    it('writeFrom holds 64 chunks of an Observable while the pipe is busy, and fails on the 65th', async function () {
      const { device, sourceSink } = await target.open();
      await device.claimInterface(sourceSink.interfaceNumber);
      const output = await device.openPipe('out', 1);
      const chunk = fillPattern(new Uint8Array(512), 512); // what the sink accepts
      // 4 writes start at once and 64 chunks wait: all written.
      const results = await lastValueFrom(output.writeFrom(from(Array(4 + 64).fill(chunk))).pipe(toArray()));
      expect(results).to.have.length(68);
      // One more chunk than that overflows the queue.
      const error = await lastValueFrom(output.writeFrom(from(Array(4 + 65).fill(chunk)))).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(BackpressureError);
      await output.drained();
      await device.close();
      expect(await target.leaks!()).to.deep.equal([]);
    });
  });
});
