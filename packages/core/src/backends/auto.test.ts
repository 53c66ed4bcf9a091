import { createRequire } from 'node:module';
import { expect } from 'chai';
import type * as Native from '@dextio/native';
import { auto } from './auto.js';

const host = (createRequire(import.meta.url)('@dextio/native') as typeof Native).host;

/** Runs `body` as if on macOS, where auto() tries the dext first. */
async function onMac<T>(body: () => Promise<T>): Promise<T> {
  const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
  Object.defineProperty(process, 'platform', { value: 'darwin' });
  try {
    return await body();
  } finally {
    Object.defineProperty(process, 'platform', platform);
  }
}

describe('auto', function () {
  it('takes the dext where it drives a device (macOS)', async function () {
    if (!host) {
      console.log('      skipped: needs the host runtime of @dextio/native (Linux)');
      this.skip();
    }
    const backend = await onMac(auto);
    expect(backend.name).to.equal('dext');
  });

  it('falls back to libusb and says why the dext was passed over', async function () {
    if (!host) {
      console.log('      skipped: needs the host runtime of @dextio/native (Linux)');
      this.skip();
    }
    host.gadgetDisconnect();
    try {
      const backend = await onMac(auto);
      expect(backend.name).to.equal('libusb');
      expect(backend.description).to.match(/chosen because dext: no device is driven by the dext/);
    } finally {
      host.gadgetConnect();
    }
  });

  it('is libusb off macOS, with nothing passed over', async function () {
    if (process.platform === 'darwin') {
      console.log('      skipped: on macOS auto() tries the dext first');
      this.skip();
    }
    const backend = await auto();
    expect(backend.name).to.equal('libusb');
    expect(backend.description).to.equal(undefined);
  });
});
