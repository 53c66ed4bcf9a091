'use strict';
// Loads the addon: a local build (build/Release) or the prebuild for this platform (prebuilds/);
// DEXTIO_NATIVE_ADDON names another build instead (the tests' Electron-like one).
let addon;
try {
  addon = process.env.DEXTIO_NATIVE_ADDON ? require(process.env.DEXTIO_NATIVE_ADDON) : require('node-gyp-build')(__dirname);
} catch (error) {
  const linux = process.platform === 'linux';
  error.message =
    `@dextio/native: no addon that loads on ${process.platform}-${process.arch} (Node ${process.versions.node}). ` +
    'The package ships prebuilds for linux-x64 (glibc), darwin-arm64 and darwin-x64. ' +
    (linux && /libBlocksRuntime/.test(error.message)
      ? 'The Linux addon needs BlocksRuntime: apt-get install libblocksruntime0. '
      : `To build it from source: node ${require('node:path').join(__dirname, 'scripts', 'build.mjs')} ` +
        (linux
          ? '(needs python3, make, a C++ compiler, clang, cmake and libblocksruntime-dev). '
          : '(needs python3 and the Xcode command line tools). ')) +
    `Cause: ${error.message}`;
  throw error;
}
module.exports = addon;
