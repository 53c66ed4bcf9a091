// check-archs.sh on Linux, with a stand-in for lipo that prints the architectures it is given.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'check-archs.sh');
const dir = mkdtempSync(join(tmpdir(), 'check-archs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The stand-in accepts only `lipo -archs <file>`, as the script must call it, and prints what
// <file>.archs holds; without that file it fails as lipo does on a file that is not Mach-O.
const lipo = join(dir, 'lipo');
writeFileSync(
  lipo,
  '#!/bin/sh\n[ "$#" -eq 2 ] && [ "$1" = -archs ] || { echo "fake lipo: bad arguments: $*" >&2; exit 64; }\n' +
    'cat "$2.archs" 2>/dev/null || { echo "fake lipo: $2: not a Mach-O file" >&2; exit 1; }\n',
);
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
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('passes when the architectures are exactly the expected ones, in any order', () => {
  const dext = binary('dext', 'arm64e x86_64');
  const { status, stdout, stderr } = check(dext, 'x86_64', 'arm64e');
  assert.equal(status, 0, stderr);
  assert.match(stdout, /dext: \[arm64e x86_64\] ok/);
  assert.equal(check(dext, 'arm64e', 'x86_64').status, 0);
});

test('fails and names the binary, what was expected, what was found and the missing architecture', () => {
  const thin = binary('thin-dext', 'x86_64');
  const { status, stderr } = check(thin, 'x86_64', 'arm64e');
  assert.equal(status, 1);
  assert.match(stderr, /thin-dext has \[x86_64\], expected exactly \[arm64e x86_64\]/);
  assert.match(stderr, /missing: arm64e/);
  assert.doesNotMatch(stderr, /unexpected/);
});

test('plain arm64 is not arm64e', () => {
  const { status, stderr } = check(binary('arm64-dext', 'x86_64 arm64'), 'x86_64', 'arm64e');
  assert.equal(status, 1);
  assert.match(stderr, /missing: arm64e/);
  assert.match(stderr, /unexpected: arm64$/m);
});

test('fails on an extra architecture unless --at-least is given', () => {
  const fat = binary('fat', 'x86_64 arm64 arm64e');
  const exact = check(fat, 'x86_64', 'arm64e');
  assert.equal(exact.status, 1);
  assert.match(exact.stderr, /fat has \[arm64 arm64e x86_64\], expected exactly \[arm64e x86_64\]/);
  assert.match(exact.stderr, /unexpected: arm64$/m);
  assert.doesNotMatch(exact.stderr, /missing/);

  assert.equal(check('--at-least', fat, 'arm64').status, 0);
  assert.equal(check('--at-least', fat, 'x86_64', 'arm64e').status, 0);
  const absent = check('--at-least', fat, 'i386');
  assert.equal(absent.status, 1);
  assert.match(absent.stderr, /expected at least \[i386\]/);
  assert.match(absent.stderr, /missing: i386/);
});

test('fails when the binary is missing, naming it', () => {
  const path = join(dir, 'absent.node');
  const { status, stderr } = check(path, 'arm64');
  assert.equal(status, 1);
  assert.match(stderr, /absent\.node: no such file/);
});

test('fails when lipo cannot read the file', () => {
  const unreadable = join(dir, 'not-mach-o');
  writeFileSync(unreadable, '');
  const { status, stderr } = check(unreadable, 'arm64');
  assert.equal(status, 1);
  assert.match(stderr, /not-mach-o: lipo could not read/);
});

test('a usage error is not a pass', () => {
  assert.equal(check(binary('lonely', 'arm64')).status, 2);
  assert.equal(check('--at-least', binary('lonely2', 'arm64')).status, 2);
  assert.equal(check().status, 2);
});
