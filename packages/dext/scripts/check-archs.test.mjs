// check-archs.sh on Linux, with a stand-in for lipo that prints the architectures it is given.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'check-archs.sh');
const dir = mkdtempSync(join(tmpdir(), 'check-archs-'));
const lipo = join(dir, 'lipo');
writeFileSync(lipo, '#!/bin/sh\n[ "$1" = -archs ] || exit 2\ncat "$2.archs"\n');
chmodSync(lipo, 0o755);

/** A "binary" whose architectures the stand-in reports. */
function binary(name, archs) {
  const path = join(dir, name);
  writeFileSync(path, '');
  writeFileSync(`${path}.archs`, `${archs}\n`);
  return path;
}

function check(...args) {
  const result = spawnSync('sh', [script, ...args], { env: { ...process.env, LIPO: lipo }, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('passes when the architectures are exactly the expected ones, in any order', () => {
  const dext = binary('dext', 'arm64e x86_64');
  assert.equal(check(dext, 'x86_64', 'arm64e').status, 0);
});

test('fails and names a missing architecture', () => {
  const thin = binary('thin', 'x86_64');
  const { status, output } = check(thin, 'x86_64', 'arm64e');
  assert.equal(status, 1);
  assert.match(output, /missing: arm64e/);
  assert.match(output, /thin/);
});

test('fails on an extra architecture unless --at-least is given', () => {
  const fat = binary('fat', 'x86_64 arm64 arm64e');
  const exact = check(fat, 'x86_64', 'arm64e');
  assert.equal(exact.status, 1);
  assert.match(exact.output, /unexpected: arm64/);
  assert.equal(check('--at-least', fat, 'arm64').status, 0);
  assert.equal(check('--at-least', fat, 'i386').status, 1);
});

test('fails when the binary is missing or lipo cannot read it', () => {
  assert.equal(check(join(dir, 'absent'), 'arm64').status, 1);
  const unreadable = join(dir, 'unreadable');
  writeFileSync(unreadable, '');
  assert.equal(check(unreadable, 'arm64').status, 1);
  assert.equal(check(unreadable).status, 2);
});
