/**
 * @dextio/model's backend running gadget zero's model, the fake target: the real backends' limits,
 * which it refuses and records as violations, its leases, exclusive open, control requests as
 * Linux's gadget zero answers them, and unplug. The conformance suite covers the rest of the
 * contract.
 */
import {
  AccessError,
  StallError,
  type BackendDevice,
  type BackendPipe,
  type Completion,
  type ControlSetup,
  type TransferHandle,
  type TransferRequest,
} from '@dextio/core';
import { expect } from 'chai';
import { DESCRIPTOR_TRANSFERS, ModelBackend, SLOTS_PER_PIPE, type AttachedDevice } from '@dextio/model';
import { createRequire } from 'node:module';
import type * as Native from '@dextio/native';
import { expectRejection } from '../../support/assertions.js';
import { fillPattern, REQUEST_READ_BUFFER, REQUEST_WRITE_BUFFER } from '../../support/gadget-zero.js';
import { gadgetZero, LOOPBACK_CONFIGURATION, PACKET_SIZE, SOURCE_SINK_CONFIGURATION } from '../../support/gadget-zero-model.js';

interface Opened {
  readonly attached: AttachedDevice;
  readonly device: BackendDevice;
  readonly input: BackendPipe;
  readonly output: BackendPipe;
}

async function openFunction(backend: ModelBackend, configurationValue: number): Promise<Opened> {
  const attached = backend.attach(gadgetZero);
  const device = await backend.open(attached.id);
  await device.selectConfiguration(configurationValue);
  await device.claimInterface(0);
  return { attached, device, input: await device.openPipe('in', 1), output: await device.openPipe('out', 1) };
}

function mapped(slot: number, length: number): TransferRequest {
  return { path: 'mapped', slot, length, timeout: 0, zlp: false };
}

function descriptor(buffer: Uint8Array, length = buffer.length): TransferRequest {
  return { path: 'descriptor', buffer, length, timeout: 0, zlp: false };
}

/** Submits `request`, checking that its completion does not arrive synchronously. */
function submit(pipe: BackendPipe, request: TransferRequest): { completion: Promise<Completion>; handle: TransferHandle } {
  let completed = false;
  let handle!: TransferHandle;
  const completion = new Promise<Completion>((resolve) => {
    handle = pipe.submit(request, (result) => {
      completed = true;
      resolve(result);
    });
  });
  expect(completed, 'completed synchronously').to.equal(false);
  return { completion, handle };
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const vendor = { requestType: 'vendor', recipient: 'device', value: 0, index: 0 } as const;

function getDescriptor(type: number, index: number, languageId = 0): ControlSetup {
  return { requestType: 'standard', recipient: 'device', request: 0x06, value: (type << 8) | index, index: languageId };
}

describe("gadget zero's model on @dextio/model's backend (the fake target)", function () {
  let backend: ModelBackend;

  beforeEach(function () {
    backend = new ModelBackend();
  });

  describe('exclusive open', function () {
    it('lists a held device as busy and refuses a second open with AccessError until the first closes', async function () {
      const { id } = backend.attach(gadgetZero);
      expect((await backend.list()).map((d) => d.busy)).to.deep.equal([false]);
      const device = await backend.open(id);
      expect((await backend.list()).map((d) => d.busy)).to.deep.equal([true]);
      const error = await backend.open(id).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(AccessError);
      expect((error as AccessError).message).to.match(/held by another client/);
      await device.close();
      expect((await backend.list()).map((d) => d.busy)).to.deep.equal([false]);
      await (await backend.open(id)).close();
    });
  });

  describe('pipes', function () {
    it("has the dext's limits, no kinder: ABI 4's slots per pipe and descriptor transfers", function () {
      const native = createRequire(import.meta.url)('@dextio/native') as typeof Native;
      expect(SLOTS_PER_PIPE).to.equal(native.limits.slotsPerPipe);
      expect(DESCRIPTOR_TRANSFERS).to.equal(native.limits.maxDescriptorTransfers);
    });

    it('offers 32 slots IN and 31 OUT, 4096-byte Buffers, and a share of 128 descriptor transfers', async function () {
      const { device, input, output } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      expect(input.slots).to.have.length(SLOTS_PER_PIPE);
      expect(output.slots).to.have.length(SLOTS_PER_PIPE - 1);
      for (const slot of [...input.slots, ...output.slots]) {
        expect(Buffer.isBuffer(slot)).to.equal(true);
        expect(slot.length).to.equal(4096);
      }
      // Gadget zero's alternate setting has two bulk pipes: 128 / 2 each.
      expect([input.descriptorTransfersMax, output.descriptorTransfersMax]).to.deep.equal([64, 64]);
      expect(input.descriptorMinLength).to.equal(4097);
      await device.close();
    });
  });

  describe('limits', function () {
    it('refuses a second transfer on a slot in flight, asynchronously, and records it', async function () {
      const { device, input } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      const waiting = submit(input, mapped(0, 512));
      const refused = await submit(input, mapped(0, 512)).completion;
      expect(refused).to.deep.include({ status: 'error', bytes: 0 });
      expect(refused.message).to.match(/slot 0, which has a transfer in flight/);
      expect(backend.violations.take()).to.deep.equal([`model-1 pipe 0x81: ${refused.message}`]);
      await device.close();
      expect((await waiting.completion).status).to.equal('aborted');
    });

    it('refuses a slot beyond the 31 that an OUT pipe offers', async function () {
      const { device, output } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      const refused = await submit(output, mapped(SLOTS_PER_PIPE - 1, 8)).completion;
      expect(refused.status).to.equal('error');
      expect(refused.message).to.match(/offers 31 slots \(the dext keeps one for zero-length packets\)/);
      expect(backend.violations.take()).to.have.length(1);
      await device.close();
    });

    it('refuses a mapped transfer longer than a slot', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      const refused = await submit(input, mapped(0, 4097)).completion;
      expect(refused.message).to.match(/4097 bytes: a slot holds at most 4096/);
      expect(backend.violations.take()).to.have.length(1);
      await device.close();
    });

    it('refuses descriptor transfers below descriptorMinLength or longer than their buffer', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      const short = await submit(input, descriptor(new Uint8Array(4096))).completion;
      expect(short.message).to.match(/4096 bytes: descriptorMinLength is 4097/);
      const long = await submit(input, descriptor(new Uint8Array(8192), 8193)).completion;
      expect(long.message).to.match(/8193 bytes from a buffer of 8192/);
      expect(backend.violations.take()).to.have.length(2);
      await device.close();
    });

    it('refuses a descriptor transfer beyond descriptorTransfersMax on the pipe', async function () {
      const { device, input } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      // Loopback IN transfers wait for OUT data, so they stay in flight.
      const waiting = Array.from({ length: input.descriptorTransfersMax }, () => submit(input, descriptor(new Uint8Array(8192))));
      const refused = await submit(input, descriptor(new Uint8Array(8192))).completion;
      expect(refused.message).to.match(/beyond descriptorTransfersMax \(64\)/);
      expect(backend.violations.take()).to.have.length(1);
      await device.close();
      const outcomes = await Promise.all(waiting.map((w) => w.completion));
      expect(new Set(outcomes.map((c) => c.status))).to.deep.equal(new Set(['aborted']));
    });

    it('reports a repeated violation once, with its count, and forgets it once taken', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      await Promise.all([submit(input, mapped(0, 5000)).completion, submit(input, mapped(0, 5000)).completion]);
      const [report, ...others] = backend.violations.take();
      expect(others).to.deep.equal([]);
      expect(report).to.match(/\(2 times\)$/);
      expect(backend.violations.take()).to.deep.equal([]);
      await device.close();
    });
  });

  describe('leases', function () {
    it('hands out the slot itself, writable, and empties it on revoke, the slot still usable', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      expect((await submit(input, mapped(3, 512)).completion).status).to.equal('ok');
      const before = input.slots[3]!;
      const lease = input.lease(3, 512);
      expect(lease.data.buffer, 'a view of the slot, not a copy').to.equal(before.buffer);
      expect(Buffer.compare(lease.data, fillPattern(new Uint8Array(512), PACKET_SIZE))).to.equal(0);
      lease.data[0] = 0xff;
      lease.revoke();
      expect(lease.data.length, 'a revoked lease').to.equal(0);
      expect(before.length, 'every view of the old memory').to.equal(0);
      expect(input.slots[3]).not.to.equal(before);
      expect(input.slots[3]![0], 'the memory moved, not copied').to.equal(0xff);
      lease.revoke();
      expect((await submit(input, mapped(3, 512)).completion).status).to.equal('ok');
      expect(input.slots[3]![0]).to.equal(0);
      expect(backend.violations.take()).to.deep.equal([]);
      await device.close();
    });

    it('refuses a transfer on a leased slot until the lease is revoked', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      await submit(input, mapped(0, 64)).completion;
      const lease = input.lease(0, 64);
      const refused = await submit(input, mapped(0, 64)).completion;
      expect(refused.message).to.match(/slot 0, which is leased and not revoked/);
      lease.revoke();
      expect((await submit(input, mapped(0, 64)).completion).status).to.equal('ok');
      expect(backend.violations.take()).to.have.length(1);
      await device.close();
    });

    it('records a lease of a slot in flight or of an OUT pipe, and throws for a slot that does not exist', async function () {
      const { device, input, output } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      const waiting = submit(input, mapped(1, 512));
      input.lease(1, 512).revoke();
      output.lease(0, 8).revoke();
      expect(() => input.lease(SLOTS_PER_PIPE, 8)).to.throw(RangeError, new RegExp(String(SLOTS_PER_PIPE)));
      const violations = backend.violations.take();
      expect(violations).to.have.length(3);
      expect(violations[0]).to.match(/lease of slot 1, which has a transfer in flight/);
      expect(violations[1]).to.match(/only IN slots are leased/);
      await device.close();
      expect((await waiting.completion).status).to.equal('aborted');
    });

    it('empties the leases still held when the pipe closes', async function () {
      const { device, input } = await openFunction(backend, SOURCE_SINK_CONFIGURATION);
      await submit(input, mapped(0, 64)).completion;
      const lease = input.lease(0, 64);
      await device.close();
      expect(lease.data.length).to.equal(0);
    });
  });

  describe('control', function () {
    it('takes any wLength up to 65535 and answers GET_DESCRIPTOR with the descriptor cut to it', async function () {
      const device = await backend.open(backend.attach(gadgetZero).id);
      const full = await device.control('in', getDescriptor(0x01, 0), 0xffff, 1000);
      expect(full.status).to.equal('ok');
      expect([...full.data.subarray(0, 2), ...full.data.subarray(8, 12)]).to.deep.equal([18, 0x01, 0x25, 0x05, 0xa0, 0xa4]);
      expect((await device.control('in', getDescriptor(0x01, 0), 8, 1000)).data).to.have.length(8);
      const configuration = (await device.control('in', getDescriptor(0x02, 0), 0xffff, 1000)).data;
      expect(configuration).to.have.length(9 + 9 + 7 + 7);
      expect(configuration[2]).to.equal(configuration.length);
      expect([configuration[20], configuration[27]], 'endpoint addresses').to.deep.equal([0x81, 0x01]);
      expect((await device.control('in', getDescriptor(0x02, 2), 0xffff, 1000)).status).to.equal('stall');
      expect(await device.getString(2)).to.equal('Gadget Zero (model)');
      await expectRejection(device.getString(42), StallError);
      await device.close();
    });

    it('refuses a wLength above 65535 and records it', async function () {
      const device = await backend.open(backend.attach(gadgetZero).id);
      const refused = await device.control('in', { ...vendor, request: REQUEST_READ_BUFFER }, 0x10000, 1000);
      expect(refused.status).to.equal('error');
      expect(refused.message).to.match(/wLength 65536/);
      expect(backend.violations.take()).to.have.length(1);
      await device.close();
    });

    it('keeps 0x5b data in endpoint 0\'s one 4096-byte buffer, as Linux\'s gadget zero does', async function () {
      const device = await backend.open(backend.attach(gadgetZero).id);
      const written = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
      expect((await device.control('out', { ...vendor, request: REQUEST_WRITE_BUFFER }, written, 1000)).status).to.equal('ok');
      const read = (length: number) => device.control('in', { ...vendor, request: REQUEST_READ_BUFFER }, length, 1000);
      // 0x5c sends wLength bytes of the buffer, whatever was written; an IN wLength is cut to 4096.
      expect([...(await read(64)).data]).to.deep.equal([...written]);
      expect((await read(128)).data).to.have.length(128);
      expect((await read(0xffff)).data).to.have.length(4096);
      const tooLong = await device.control('out', { ...vendor, request: REQUEST_WRITE_BUFFER }, new Uint8Array(4097), 1000);
      expect(tooLong.status).to.equal('stall');
      expect((await device.control('in', { ...vendor, request: REQUEST_READ_BUFFER, value: 1 }, 8, 1000)).status).to.equal('stall');
      // Every answer goes through the same buffer: a descriptor read overwrites what 0x5b left.
      await device.control('in', getDescriptor(0x01, 0), 18, 1000);
      expect((await read(2)).data).to.deep.equal(Uint8Array.of(18, 0x01));
      // Loopback has no handler for them.
      await device.selectConfiguration(LOOPBACK_CONFIGURATION);
      expect((await read(8)).status).to.equal('stall');
      await device.close();
    });
  });

  describe('unplug', function () {
    it('tells the listeners of an idle device with no pipes', async function () {
      const attached = backend.attach(gadgetZero);
      const device = await backend.open(attached.id);
      let calls = 0;
      device.onDisconnect(() => calls++);
      backend.unplug(attached);
      expect(calls, 'synchronously').to.equal(0);
      await turn();
      expect(calls).to.equal(1);
      await device.close();
    });

    it('completes outstanding transfers with disconnected before the listeners run', async function () {
      const { attached, device, input } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      const order: string[] = [];
      input.submit(mapped(0, 512), (completion) => order.push(completion.status));
      device.onDisconnect(() => order.push('listener'));
      backend.unplug(attached);
      await turn();
      expect(order).to.deep.equal(['disconnected', 'listener']);
      await device.close();
    });
  });

  describe('cancel', function () {
    it('completes a cancelled transfer once, later, with aborted, and leaves a finished one alone', async function () {
      const { device, input } = await openFunction(backend, LOOPBACK_CONFIGURATION);
      const statuses: string[] = [];
      const handle = input.submit(mapped(0, 512), (completion) => statuses.push(completion.status));
      handle.cancel();
      handle.cancel();
      expect(statuses, 'synchronously').to.deep.equal([]);
      await turn();
      expect(statuses).to.deep.equal(['aborted']);
      await device.selectConfiguration(SOURCE_SINK_CONFIGURATION);
      const finished = submit(input, mapped(0, 512));
      expect((await finished.completion).status).to.equal('ok');
      finished.handle.cancel();
      await turn();
      expect(statuses).to.deep.equal(['aborted']);
      await device.close();
    });
  });
});
