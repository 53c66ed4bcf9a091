/** The addon, loaded as CommonJS (node-gyp-build). */
import { createRequire } from 'node:module';
import type * as Native from '@dextio/native';

export const native = createRequire(import.meta.url)('@dextio/native') as typeof Native;
