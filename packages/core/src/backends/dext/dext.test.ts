/**
 * The dext backend through core on the virtual gadget zero's Loopback (bulk 0x02 -> 0x82), which
 * the conformance suite cannot reach on the embedded target (it shares alternate setting 0 with
 * SourceSink). Skipped when `@dextio/native` is not built or has no host runtime.
 */
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { Backend } from '../../backend.js';
import { CONTROL_TIMEOUT_DEFAULT, CONTROL_TIMEOUT_MAX } from '../../device.js';
import { AbortedError, TimeoutError } from '../../errors.js';
import type { Pipe } from '../../pipe.js';
import { Usb } from '../../usb.js';
import { dext } from './index.js';

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('the dext backend on Loopback (host runtime)', function () {
  let backend: Backend | null = null;

  before(async function () {
    try {
      const native = createRequire(import.meta.url)('@dextio/native') as { host?: unknown };
      if (!native.host) throw new Error('no host runtime');
      backend = await dext();
    } catch (error) {
      console.log(`      skipped: @dextio/native with the host runtime is needed (${(error as Error).message})`);
      this.skip();
    }
  });

  it('reports the device\'s own descriptors and strings, lists them, and says which interface it drives', async function () {
    const usb = new Usb(backend!);
    const [listed] = await usb.list();
    expect(listed!.descriptor).to.deep.include({
      deviceClass: 0xff,
      manufacturerName: 'dextio',
      productName: 'Gadget Zero (virtual)',
      serialNumber: 'dextio-virtual-0001',
    });
    const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
    try {
      expect(device.descriptor.deviceClass).to.equal(0xff);
      expect(device.descriptor.configurations).to.have.length(1);
      const alternates = device.configuration!.interfaces[0]!.alternates;
      expect(alternates.map((a) => a.endpoints.length)).to.deep.equal([4, 2]);
      expect(device.descriptor.configurations).to.deep.equal(listed!.descriptor.configurations);
      expect(device.claimableInterfaces).to.deep.equal([0]);
      expect(device.serialNumber).to.equal('dextio-virtual-0001');
    } finally {
      await device.close();
    }
  });

  it('lists a device another client holds with the registry\'s ids and strings, and no configurations', async function () {
    const holder = await new Usb(backend!).open({ vendorId: 0x0525, productId: 0xa4a0 });
    try {
      const [listed] = await new Usb(await dext()).list();
      expect(listed!.busy).to.equal(true);
      expect(listed!.descriptor).to.deep.include({
        vendorId: 0x0525,
        productId: 0xa4a0,
        manufacturerName: 'dextio',
        productName: 'Gadget Zero (virtual)',
        serialNumber: 'dextio-virtual-0001',
        configurations: [],
      });
    } finally {
      await holder.close();
    }
  });

  it('gives the dext control timeouts it takes: core\'s default is the dext\'s, its maximum the dext\'s bound', function () {
    const { limits } = createRequire(import.meta.url)('@dextio/native') as { limits: { controlTimeoutDefaultMs: number; controlTimeoutMaxMs: number } };
    expect(CONTROL_TIMEOUT_DEFAULT).to.equal(limits.controlTimeoutDefaultMs);
    expect(CONTROL_TIMEOUT_MAX).to.be.at.most(limits.controlTimeoutMaxMs);
  });

  it('opens again at once after a close: the close waits for the dext to stop', async function () {
    const usb = new Usb(backend!);
    for (let round = 0; round < 5; round++) {
      const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
      await device.close();
    }
  });

  async function loopback() {
    const usb = new Usb(backend!);
    const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
    await device.claimInterface(0);
    const out: Pipe = await device.openPipe('out', 2);
    const inPipe: Pipe = await device.openPipe('in', 2);
    return { device, out, in: inPipe };
  }

  for (const size of [1, 512, 4096, 4097, 65536, 1024 * 1024]) {
    it(`echoes ${size} bytes`, async function () {
      const fn = await loopback();
      try {
        const data = bytes(size, size);
        const [received, sent] = await Promise.all([fn.in.transferIn(size), fn.out.transferOut(data)]);
        expect(sent).to.include({ status: 'ok', bytesWritten: size });
        expect(received.path).to.equal(size <= 4096 ? 'mapped' : 'descriptor');
        expect(Buffer.compare(received.data, data)).to.equal(0);
      } finally {
        await fn.device.close();
      }
    });
  }

  it('ends a write with a zero-length packet on request', async function () {
    const fn = await loopback();
    try {
      const data = bytes(fn.out.packetSize, 9);
      const [first, second] = await Promise.all([
        fn.in.transferIn(2 * fn.out.packetSize),
        fn.out.transferOut(data, { zlp: true }).then(() => fn.in.transferIn(512)),
      ]);
      expect(Buffer.compare(first.data, data)).to.equal(0);
      expect(second.data.length, 'the ZLP comes back as an empty transfer').to.equal(0);
    } finally {
      await fn.device.close();
    }
  });

  it('times out, cancels a waiting read, and aborts a pending read at close', async function () {
    const fn = await loopback();
    const timedOut = await fn.in.transferIn(512, { timeout: 100 }).catch((e: unknown) => e);
    expect(timedOut).to.be.instanceOf(TimeoutError);
    const subscription = fn.in.read(512).subscribe({ error: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fn.in.outstanding).to.equal(1);
    subscription.unsubscribe();
    await fn.in.drained();
    const data = bytes(100, 1);
    const [received] = await Promise.all([firstValueFrom(fn.in.read(512)), fn.out.transferOut(data)]);
    expect(Buffer.compare(received.data, data)).to.equal(0);
    const pending = fn.in.transferIn(512).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await fn.device.close();
    expect(await pending).to.be.instanceOf(AbortedError);
  });
});
