// Builds the addon from source: `node scripts/build.mjs` (in the repository, or in an installed
// node_modules/@dextio/native when no prebuild fits the platform).
//   --if-missing  only when there is no addon yet (npm test)
//   --prebuild    into prebuilds/<platform>-<arch>/ with prebuildify, as the published package ships it
//   --no-external-buffers  also a build as Electron needs it (NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED:
//                 slots are copied), in build-no-external-buffers/; DEXTIO_NATIVE_ADDON loads it
// On Linux the addon embeds the dext's host runtime (@dextio/dext), which is built first.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, cwd = root) => execSync(command, { cwd, stdio: 'inherit' });
const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

if (process.argv.includes('--if-missing') && existsSync(join(root, 'build/Release/dextio_native.node'))) process.exit(0);

// What node-gyp needs, said plainly rather than as a compiler's failure.
const missing = ['python3', 'make', process.platform === 'darwin' ? 'clang++' : 'c++'].filter((tool) => !has(tool));
if (missing.length > 0) {
  console.error(
    `@dextio/native: building the addon needs ${missing.join(', ')} ` +
      (process.platform === 'darwin' ? '(xcode-select --install)' : '(e.g. apt-get install python3 make g++)'),
  );
  process.exit(1);
}

const dext = dirname(createRequire(import.meta.url).resolve('@dextio/dext/package.json'));
if (process.platform === 'linux' && !existsSync(join(dext, 'build/libdextio_host.a'))) {
  // clang, cmake and BlocksRuntime: the dext's own script installs or names them.
  run('npm run build', dext);
}
const bin = (name) => join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), 'bin.js');
if (process.argv.includes('--prebuild')) {
  // Arguments after --prebuild go to prebuildify (e.g. --arch x64).
  const extra = process.argv.slice(process.argv.indexOf('--prebuild') + 1).join(' ');
  run(`node "${bin('prebuildify')}" --napi --strip ${process.platform === 'linux' ? '--tag-libc' : ''} ${extra}`);
} else {
  if (process.argv.includes('--no-external-buffers')) {
    run('npx --no-install node-gyp rebuild --no_external_buffers=1');
    mkdirSync(join(root, 'build-no-external-buffers'), { recursive: true });
    renameSync(join(root, 'build/Release/dextio_native.node'), join(root, 'build-no-external-buffers/dextio_native.node'));
  }
  run('npx --no-install node-gyp rebuild');
}
