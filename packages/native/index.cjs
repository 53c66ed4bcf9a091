'use strict';
// Loads the addon: build/Release (node-gyp) or a prebuild under prebuilds/.
module.exports = require('node-gyp-build')(__dirname);
