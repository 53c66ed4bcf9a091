/**
 * The project's own FunctionFS device (ffs-device/ffs-echo.c), driven through @dextio/core's
 * libusb backend inside the QEMU guest: identify, echo across the 4 KiB threshold, the data
 * source, a stall on command and its recovery, and a surprise removal. The protocol is in
 * README.md beside this file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DisconnectedError, libusb, MAPPED_TRANSFER_MAX, Usb, type Device, type Pipe } from '@dextio/core';
import { expect } from 'chai';
import { lastValueFrom, take, tap } from 'rxjs';

const CMD_ECHO = 0x01;
const CMD_SOURCE = 0x02;
const CMD_STALL = 0x04;
const REQUEST_IDENTIFY = 0x01;

function header(command: number, length: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  bytes.set([0x44, 0x58, command, 0]);
  view.setUint32(4, length, true);
  return bytes;
}

function sourceByte(offset: number): number {
  return offset % 251;
}

const id = process.env['DEXTIO_HIL_FFS_ID'];

function ids(): { vendorId: number; productId: number } {
  const [vendorId, productId] = id!.split(':').map((part) => Number.parseInt(part, 16));
  return { vendorId: vendorId!, productId: productId! };
}
const gadget = process.env['DEXTIO_HIL_FFS_GADGET'];
const udc = process.env['DEXTIO_HIL_FFS_UDC'];

describe('the FunctionFS test device over libusb', function () {
  let usb: Usb;
  let device: Device | null = null;
  let pipes: { in: Pipe; out: Pipe };

  before(async function () {
    if (!id) {
      console.log('      skipped: the FunctionFS device exists only inside the QEMU harness (run npm run test:hil)');
      this.skip();
    }
    usb = new Usb(await libusb());
  });

  beforeEach(async function () {
    device = await usb.open(ids());
    await device.claimInterface(0);
    const endpoints = device.alternate(0).endpoints;
    pipes = {
      in: await device.openPipe('in', endpoints.find((e) => e.direction === 'in')!.endpointNumber),
      out: await device.openPipe('out', endpoints.find((e) => e.direction === 'out')!.endpointNumber),
    };
  });

  afterEach(async function () {
    await device?.close();
    device = null;
  });

  it('identifies itself with a vendor control request', async function () {
    const result = await device!.controlTransferIn(
      { requestType: 'vendor', recipient: 'device', request: REQUEST_IDENTIFY, value: 0, index: 0 },
      64,
    );
    expect(result.status).to.equal('ok');
    expect(new TextDecoder().decode(result.data)).to.equal('dextio-ffs-echo 1');
  });

  for (const size of [1, 4095, 4096, 4097, 65536, 1024 * 1024]) {
    it(`echoes ${size} bytes on the ${size <= MAPPED_TRANSFER_MAX ? 'mapped' : 'descriptor'} path`, async function () {
      const payload = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
      // The IN read goes first: the device echoes while the OUT side may still be finishing. It
      // reads OUT in large buffers, so a payload that fills its last packet ends with a ZLP.
      const [echoed] = await Promise.all([
        pipes.in.transferIn(size),
        pipes.out.transferOut(header(CMD_ECHO, size)).then(() => pipes.out.transferOut(payload, { zlp: true })),
      ]);
      expect(echoed.path).to.equal(size <= MAPPED_TRANSFER_MAX ? 'mapped' : 'descriptor');
      expect(Buffer.compare(echoed.data, payload)).to.equal(0);
    });
  }

  it('streams its data source with the pattern intact', async function () {
    const total = 256 * 1024;
    await pipes.out.transferOut(header(CMD_SOURCE, total));
    let offset = 0;
    await lastValueFrom(
      pipes.in.stream({ transferSize: 16384, inFlight: 4 }).pipe(
        take(total / 16384),
        tap((chunk) => {
          let wrong = -1;
          for (let i = 0; i < chunk.length && wrong < 0; i++) if (chunk[i] !== sourceByte(offset + i)) wrong = offset + i;
          expect(wrong, 'first byte off the pattern').to.equal(-1);
          offset += chunk.length;
        }),
      ),
    );
    expect(offset).to.equal(total);
  });

  it('stalls on command and recovers with clearHalt', async function () {
    await pipes.out.transferOut(header(CMD_STALL, 0));
    const stalled = await pipes.in.transferIn(64, { timeout: 2000 });
    expect(stalled.status).to.equal('stall');
    await pipes.in.clearHalt();
    await pipes.out.transferOut(header(CMD_ECHO, 3));
    await pipes.out.transferOut(Uint8Array.of(1, 2, 3));
    expect(Array.from((await pipes.in.transferIn(3)).data)).to.deep.equal([1, 2, 3]);
  });

  it('errors a pending read with DisconnectedError on unbind, and opens again after rebind', async function () {
    const pending = pipes.in.transferIn(64).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeFile(`${gadget}/UDC`, '\n');
    try {
      expect(await pending).to.be.instanceOf(DisconnectedError);
      await device!.close();
    } finally {
      if ((await readFile(`${gadget}/UDC`, 'utf8')).trim() === '') await writeFile(`${gadget}/UDC`, `${udc}\n`);
    }
    const deadline = Date.now() + 10_000;
    while ((await usb.list(ids())).length === 0) {
      if (Date.now() > deadline) throw new Error('the FunctionFS device did not come back');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});
