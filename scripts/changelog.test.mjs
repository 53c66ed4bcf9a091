import assert from 'node:assert/strict';
import { test } from 'node:test';
import { release } from './changelog.mjs';

test('the Unreleased entries become the version\'s, under a new empty Unreleased section', () => {
  const before = '# Changelog\n\n## Unreleased\n\n- a change\n\n## 0.1.0 (2026-01-01)\n\n- first\n';
  const after = release(before, '0.2.0', '2026-12-01');
  assert.equal(after, '# Changelog\n\n## Unreleased\n\n## 0.2.0 (2026-12-01)\n\n- a change\n\n## 0.1.0 (2026-01-01)\n\n- first\n');
});

test('refuses a file without an Unreleased section, or a version it has already', () => {
  assert.throws(() => release('# Changelog\n', '0.2.0', '2026-12-01'), /Unreleased/);
  assert.throws(() => release('## Unreleased\n\n## 0.2.0 (2026-11-01)\n', '0.2.0', '2026-12-01'), /already/);
});
