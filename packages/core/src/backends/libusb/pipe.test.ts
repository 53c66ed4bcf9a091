import { expect } from 'chai';
import type { Endpoint } from 'usb';
import type { Completion } from '../../backend.js';
import { MAPPED_TRANSFER_MAX } from '../../planner.js';
import { LIBUSB_SLOTS_PER_PIPE, LibusbPipe, type PipeOwner } from './pipe.js';

type Done = (error: undefined, buffer: Buffer, actual: number) => void;

/** An IN endpoint whose transfers record the buffer they were given and complete on request. */
function fakeEndpoint() {
  const submitted: { buffer: Buffer; complete(actual: number): void }[] = [];
  const endpoint = {
    direction: 'in',
    address: 0x81,
    transferType: 2,
    descriptor: { wMaxPacketSize: 512 },
    makeTransfer(_timeout: number, done: Done) {
      return {
        submit(buffer: Buffer) {
          submitted.push({ buffer, complete: (actual) => done(undefined, buffer, actual) });
        },
        cancel() {},
      };
    },
  };
  return { endpoint: endpoint as unknown as Endpoint, submitted };
}

const owner: PipeOwner = { gone: false, lost() {}, probe: async () => false };

function read(pipe: LibusbPipe, slot: number, length: number): Promise<Completion> {
  return new Promise((resolve) => pipe.submit({ path: 'mapped', slot, length, timeout: 0, zlp: false }, resolve));
}

describe('the libusb pipe', function () {
  it('has 16 slots of 4 KiB, each its own ArrayBuffer, and 32 descriptor transfers', function () {
    const pipe = new LibusbPipe(owner, fakeEndpoint().endpoint, 'bulk');
    expect(pipe.slots).to.have.length(LIBUSB_SLOTS_PER_PIPE);
    expect(new Set(pipe.slots.map((slot) => slot.buffer)).size).to.equal(LIBUSB_SLOTS_PER_PIPE);
    for (const slot of pipe.slots) {
      expect(slot.byteOffset).to.equal(0);
      expect(slot.buffer.byteLength).to.equal(MAPPED_TRANSFER_MAX);
    }
    expect(pipe.descriptorTransfersMax).to.equal(32);
  });

  it('leases a slot without a copy, and revoking detaches only the lease', async function () {
    const { endpoint, submitted } = fakeEndpoint();
    const pipe = new LibusbPipe(owner, endpoint, 'bulk');
    const reading = read(pipe, 3, 512);
    submitted[0]!.buffer.fill(0xab, 0, 100);
    submitted[0]!.complete(100);
    expect(await reading).to.deep.equal({ status: 'ok', bytes: 100 });

    const lease = pipe.lease(3, 100);
    expect(lease.data.buffer).to.equal(submitted[0]!.buffer.buffer);
    expect([...lease.data]).to.deep.equal(Array(100).fill(0xab));
    lease.revoke();
    expect(lease.data.byteLength).to.equal(0);
    lease.revoke();
    expect(pipe.slots[3]!.byteLength).to.equal(MAPPED_TRANSFER_MAX);
    expect(pipe.slots[3]![0]).to.equal(0xab, 'the slot keeps its memory under a new owner');

    const again = read(pipe, 3, 512);
    expect(submitted[1]!.buffer.buffer).to.equal(pipe.slots[3]!.buffer, 'the next transfer uses the new memory');
    submitted[1]!.buffer.fill(0xcd, 0, 10);
    submitted[1]!.complete(10);
    await again;
    expect(lease.data.byteLength).to.equal(0);
    expect(pipe.slots[3]![0]).to.equal(0xcd);
  });

  it('refuses a lease outside the slots', function () {
    const pipe = new LibusbPipe(owner, fakeEndpoint().endpoint, 'bulk');
    expect(() => pipe.lease(LIBUSB_SLOTS_PER_PIPE, 1)).to.throw(RangeError);
    expect(() => pipe.lease(0.5, 1)).to.throw(RangeError);
    expect(() => pipe.lease(0, MAPPED_TRANSFER_MAX + 1)).to.throw(RangeError);
    expect(() => pipe.lease(0, -1)).to.throw(RangeError);
  });
});
