// The release's step of CHANGELOG.md: lerna version runs the root `version` script after it has
// bumped the packages and before it commits, so the Unreleased section becomes this version's,
// dated, and a new empty Unreleased section starts above it.
//
//   node scripts/changelog.mjs [version] [file]   (default: lerna.json's version, CHANGELOG.md)
import { readFileSync, writeFileSync } from 'node:fs';

export function release(text, version, date) {
  const heading = '## Unreleased';
  if (!text.includes(`${heading}\n`)) throw new Error('CHANGELOG.md has no "## Unreleased" section');
  if (text.includes(`## ${version} `)) throw new Error(`CHANGELOG.md has a section for ${version} already`);
  return text.replace(`${heading}\n`, `${heading}\n\n## ${version} (${date})\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const version = process.argv[2] ?? JSON.parse(readFileSync('lerna.json', 'utf8')).version;
  const file = process.argv[3] ?? 'CHANGELOG.md';
  writeFileSync(file, release(readFileSync(file, 'utf8'), version, new Date().toISOString().slice(0, 10)));
}
