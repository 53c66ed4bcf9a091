/**
 * The addon against the host runtime (Linux): argument checks, both data paths, faults, and the
 * live-object counts back to their baseline after streaming.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import type * as Native from '../index.js';

const native = createRequire(import.meta.url)('../index.cjs') as typeof Native;
const host = native.host!;

const IN = 0x81;
const OUT = 0x01;
const kIOReturnAborted = 0xe00002eb | 0;
const kIOReturnTimeout = 0xe00002d6 | 0;
const kIOReturnOverrun = 0xe00002e8 | 0;
const kUSBHostReturnPipeStalled = 0xe0005000 | 0;
const kIOReturnNoDevice = 0xe00002c0 | 0;
const kIOReturnExclusiveAccess = 0xe00002c5 | 0;

/** The gadget as the registry and GetDeviceInfo show it. */
const gadgetService = {
  vendorId: 0x0525,
  productId: 0xa4a0,
  deviceRelease: 0x0100,
  interfaceNumber: 0,
  manufacturerName: 'dextio',
  productName: 'Gadget Zero (virtual)',
  serialNumber: 'dextio-virtual-0001',
};

/** A full garbage collection, for the tests of what dropped objects leave behind. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

interface Done {
  tag: number;
  status: number;
  bytes: number;
  timestamp: number;
}

/** A connection whose completions are collected, with a promise per tag. */
function connect() {
  const waiting = new Map<number, (done: Done) => void>();
  const batches: number[] = [];
  const connection = new native.Connection((batch) => {
    batches.push(batch.length / 4);
    for (let i = 0; i < batch.length; i += 4) {
      const done = { tag: batch[i]!, status: batch[i + 1]!, bytes: batch[i + 2]!, timestamp: batch[i + 3]! };
      waiting.get(done.tag)?.(done);
      waiting.delete(done.tag);
    }
  });
  const completion = (tag: number) => new Promise<Done>((resolve) => waiting.set(tag, resolve));
  return { connection, completion, batches };
}

/** The dext stops a closed client on its own queue: wait until the counts match (or time out). */
async function countsSettle(expected: (counts: Native.LiveCounts) => boolean): Promise<Native.LiveCounts> {
  const deadline = Date.now() + 5000;
  let counts = host!.liveCounts();
  while (!expected(counts) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    counts = host!.liveCounts();
  }
  return counts;
}

function pattern(offset: number): number {
  return (offset % 512) % 63;
}

describe('@dextio/native on the host runtime', function () {
  if (!host) {
    it.skip('needs the host runtime (Linux)');
    return;
  }
  let baseline: Native.LiveCounts;

  before(async function () {
    const { connection } = connect();
    connection.open();
    await connection.close();
    baseline = await countsSettle((counts) => counts.clients === 0 && counts.actions === 0);
  });

  afterEach(async function () {
    const same = (counts: Native.LiveCounts) => JSON.stringify(counts) === JSON.stringify(baseline);
    expect(await countsSettle(same)).to.deep.equal(baseline);
  });

  it('describes the device and its pipes', async function () {
    const { connection } = connect();
    connection.open();
    try {
      const info = connection.deviceInfo();
      expect(info).to.include({ abiVersion: native.limits.abiVersion, vendorId: 0x0525, productId: 0xa4a0 });
      expect(connection.pipes().map((p) => p.address)).to.have.members([0x01, 0x02, 0x81, 0x82]);
      expect(connection.slots(IN)).to.have.length(native.limits.slotsPerPipe);
      expect(connection.slots(IN)).to.equal(connection.slots(IN));
    } finally {
      await connection.close();
    }
  });

  it('validates every argument and refuses a closed connection', async function () {
    const { connection } = connect();
    expect(() => new native.Connection(42 as unknown as () => void)).to.throw(TypeError, /onCompletions/);
    expect(() => connection.submitSlot(IN, 0, 8, 0, 1)).to.throw(Error, /closed/);
    expect(() => connection.pipes()).to.throw(Error, /closed/);
    expect(() => connection.leaseSlot(IN, 0)).to.throw(Error, /closed/);
    connection.open();
    try {
      expect(() => connection.open()).to.throw(Error, /already open/);
      expect(() => connection.submitSlot(0x85, 0, 8, 0, 1)).to.throw(RangeError, /pipe/);
      expect(() => connection.submitSlot('x' as unknown as number, 0, 8, 0, 1)).to.throw(TypeError, /pipe/);
      expect(() => connection.submitSlot(IN, native.limits.slotsPerPipe, 8, 0, 1)).to.throw(RangeError, /slot/);
      expect(() => connection.submitSlot(IN, 0, 4097, 0, 1)).to.throw(RangeError, /length/);
      expect(() => connection.submitSlot(IN, 0, 1.5, 0, 1)).to.throw(TypeError, /length/);
      expect(() => connection.submitSlot(IN, 0, 8, -1, 1)).to.throw(RangeError, /timeout/);
      expect(() => connection.submitSlot(IN, 0, 8, 0, 2 ** 53)).to.throw(RangeError, /tag/);
      expect(() => connection.submitDescriptor(IN, [] as unknown as Uint8Array, 8192, 0, 1)).to.throw(TypeError, /buffer/);
      expect(() => connection.submitDescriptor(IN, new Uint8Array(8192), 4096, 0, 1)).to.throw(RangeError, /length/);
      expect(() => connection.submitDescriptor(IN, new Uint8Array(8192), 8193, 0, 1)).to.throw(RangeError, /length/);
      expect(() => connection.control(0x40, 0x5b, 0, 0, 8 as unknown as Uint8Array, 0)).to.throw(TypeError, /data/);
      expect(() => connection.control(0x1c0, 0x5c, 0, 0, 8, 0)).to.throw(RangeError, /bmRequestType/);
      expect(() => connection.control(0xc0, 0x5c, 0, 0, 65536, 0)).to.throw(RangeError, /length/);
      expect(() => connection.control(0x40, 0x5b, 0, 0, new Uint8Array(65536), 0)).to.throw(RangeError, /data/);
      expect(() => connection.leaseSlot(0x85, 0)).to.throw(RangeError, /pipe/);
      expect(() => connection.leaseSlot(IN, native.limits.slotsPerPipe)).to.throw(RangeError, /slot/);
      expect(() => connection.leaseSlot(IN, -1)).to.throw(RangeError, /slot/);
      expect(() => connection.revokeLease([] as unknown as Uint8Array)).to.throw(TypeError, /Uint8Array/);
      expect(() => connection.revokeLease(new Uint16Array(8) as unknown as Uint8Array)).to.throw(TypeError, /Uint8Array/);
      expect(() => connection.revokeLease(new Uint8Array(8))).to.throw(TypeError, /lease/);
      expect(() => connection.revokeLease(connection.slots(IN)[0]!)).to.throw(TypeError, /lease/);
      expect(() => connection.abort(0x03)).to.throw(RangeError, /pipe/);
      expect(() => connection.selectAlternate(256)).to.throw(RangeError, /alternateSetting/);
      expect(() => host.gadgetInjectStall(300)).to.throw(RangeError, /address/);
    } finally {
      await connection.close();
    }
    await connection.close();
  });

  it('moves data on both paths without a copy and batches completions', async function () {
    const { connection, completion } = connect();
    connection.open();
    try {
      const slots = connection.slots(IN);
      const mapped = completion(1);
      expect(connection.submitSlot(IN, 3, 4096, 1000, 1)).to.equal(0);
      expect(await mapped).to.deep.include({ tag: 1, status: 0, bytes: 4096 });
      for (let i = 0; i < 4096; i++) if (slots[3]![i] !== pattern(i)) throw new Error(`slot byte ${i}`);

      const buffer = new Uint8Array(65536);
      const described = completion(2);
      expect(connection.submitDescriptor(IN, buffer, 65536, 1000, 2)).to.equal(0);
      expect(connection.counters().pinned).to.equal(1);
      expect(await described).to.deep.include({ tag: 2, status: 0, bytes: 65536 });
      expect(connection.counters().pinned).to.equal(0);
      for (let i = 0; i < 65536; i++) if (buffer[i] !== pattern(i)) throw new Error(`buffer byte ${i}`);

      const outSlots = connection.slots(OUT);
      for (let i = 0; i < 4096; i++) outSlots[0]![i] = pattern(i);
      const sunk = completion(3);
      expect(connection.submitSlot(OUT, 0, 4096, 1000, 3)).to.equal(0);
      expect((await sunk).status).to.equal(0);
      const outBuffer = new Uint8Array(8192).map((_, i) => pattern(i));
      const sunkBig = completion(4);
      expect(connection.submitDescriptor(OUT, outBuffer, 8192, 1000, 4)).to.equal(0);
      expect(await sunkBig).to.deep.include({ tag: 4, status: 0, bytes: 8192 });

      const written = await connection.control(0x40, 0x5b, 0, 0, new Uint8Array([1, 2, 3]), 1000);
      expect(written.status).to.equal(0);
      const read = await connection.control(0xc0, 0x5c, 0, 0, 3, 1000);
      expect([...read.data]).to.deep.equal([1, 2, 3]);
      expect((await connection.control(0xc0, 0x7e, 0, 0, 8, 1000)).status).to.equal(kUSBHostReturnPipeStalled);
    } finally {
      await connection.close();
    }
  });

  it('rings no doorbell for completions that land while the app is still handling a batch', async function () {
    expect(host.gadgetBus()).to.equal('high-speed');
    const total = 16;
    const ipcBefore = native.ipcCounters();
    const seen: number[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const connection = new native.Connection((batch) => {
      const first = seen.length === 0;
      for (let i = 0; i < batch.length; i += 4) seen.push(batch[i]!);
      // Hold the first batch until the dext has written every completion: the ring is not yet
      // drained, so the later ones ring nothing, and this same drain hands them over.
      const deadline = Date.now() + 5000;
      while (first && connection.counters().ringCompletions! < total && Date.now() < deadline);
      if (seen.length === total) finish();
    });
    connection.open();
    try {
      // 4 KiB = 8 packets: at 13 packets per microframe the 16 complete over several microframes.
      for (let tag = 0; tag < total; tag++) expect(connection.submitSlot(IN, tag, 4096, 1000, tag)).to.equal(0);
      await finished;
      const counters = connection.counters();
      expect(seen.sort((a, b) => a - b)).to.deep.equal([...Array(total).keys()]);
      expect(counters.ringDoorbells).to.equal(1);
      expect(counters.doorbells).to.equal(1);
      const ipc = native.ipcCounters();
      // Calls: GetPipes, RegisterNotification at open, then the kicks; messages: the doorbell.
      expect(ipc.messages - ipcBefore.messages).to.equal(1);
      expect(ipc.calls - ipcBefore.calls).to.equal(2 + counters.kicks);
    } finally {
      await connection.close();
    }
  });

  it('polls the ring between kicks, yet gives the event loop back while completions keep coming', async function () {
    host.gadgetSetBus('unthrottled');
    const inFlight = 32;
    let submitted = 0;
    let completed = 0;
    let streaming = true;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const connection = new native.Connection((batch) => {
      for (let i = 0; i < batch.length; i += 4) {
        completed++;
        if (streaming) connection.submitSlot(IN, batch[i]! % inFlight, 512, 1000, inFlight * ++submitted + (batch[i]! % inFlight));
      }
      if (completed === submitted + inFlight) finish();
    });
    connection.open();
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    try {
      for (let slot = 0; slot < inFlight; slot++) connection.submitSlot(IN, slot, 512, 1000, slot);
      await new Promise((resolve) => setTimeout(resolve, 300));
      streaming = false;
      await finished;
      const counters = connection.counters();
      const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
      // A drain that kept the thread while completions kept coming left gaps of 100 ms and more.
      console.log(`      longest gap ${Math.max(...gaps).toFixed(1)} ms, ${(counters.ringDoorbells! / counters.completions).toFixed(3)} doorbells per transfer`);
      expect(Math.max(...gaps)).to.be.below(80);
      expect(ticks.length).to.be.above(50);
      // Polling took most completions without a doorbell (IPC messages are counted, not timed).
      expect(counters.ringDoorbells! / counters.completions).to.be.below(0.5);
    } finally {
      clearInterval(timer);
      host.gadgetSetBus('high-speed');
      await connection.close();
    }
  });

  it('copies slots only where external buffers are refused (the Electron-safe build)', function () {
    // DEXTIO_NATIVE_ADDON names the build-no-external-buffers addon in CI's Electron-safe run.
    const electronSafe = /no-external-buffers/.test(process.env['DEXTIO_NATIVE_ADDON'] ?? '');
    expect(native.externalBuffers).to.equal(!electronSafe);
    console.log(`      slots are ${native.externalBuffers ? 'views of the mapping' : 'copied in and out'}`);
  });

  it('refuses a second connection while one is open, with kIOReturnExclusiveAccess', async function () {
    const { connection } = connect();
    connection.open();
    try {
      const second = connect().connection;
      expect(() => second.open()).to.throw(Error).with.property('ioReturn', kIOReturnExclusiveAccess);
      expect(second.isOpen).to.equal(false);
    } finally {
      await connection.close();
    }
  });

  it('lists the services and their ids without opening them, and follows an unplug', async function () {
    expect(native.services()).to.deep.equal([gadgetService]);
    const { connection } = connect();
    connection.open();
    try {
      const info = connection.deviceInfo();
      const { vendorId, productId, deviceRelease, interfaceNumber } = info;
      expect({ vendorId, productId, deviceRelease, interfaceNumber }).to.deep.include({
        vendorId: gadgetService.vendorId,
        productId: gadgetService.productId,
        deviceRelease: gadgetService.deviceRelease,
        interfaceNumber: gadgetService.interfaceNumber,
      });
      expect(native.services(), 'while the connection holds the device').to.deep.equal([gadgetService]);
    } finally {
      await connection.close();
    }
    host.gadgetDisconnect();
    try {
      expect(native.services()).to.deep.equal([]);
    } finally {
      host.gadgetConnect();
    }
    expect(native.services()).to.deep.equal([gadgetService]);
  });

  it('switches the virtual bus between high speed and unthrottled, and refuses other names', function () {
    expect(host.gadgetBus()).to.equal('high-speed');
    host.gadgetSetBus('unthrottled');
    try {
      expect(host.gadgetBus()).to.equal('unthrottled');
    } finally {
      host.gadgetSetBus('high-speed');
    }
    expect(() => host.gadgetSetBus('full-speed' as 'high-speed')).to.throw(RangeError, /bus/);
    expect(host.gadgetBus()).to.equal('high-speed');
  });

  it('reads the device and configuration descriptors whole', async function () {
    const { connection } = connect();
    connection.open();
    try {
      const device = connection.deviceDescriptor();
      expect(device.length).to.equal(18);
      expect(device[4], 'bDeviceClass: vendor specific').to.equal(0xff);
      expect(device[17], 'bNumConfigurations').to.equal(1);
      const configuration = connection.configurationDescriptor(0);
      expect(configuration.length).to.equal(configuration[2]! | (configuration[3]! << 8));
      expect(configuration[5], 'bConfigurationValue').to.equal(connection.deviceInfo().configurationValue);
      expect(() => connection.configurationDescriptor(1)).to.throw(Error).with.property('ioReturn');
      expect(() => connection.configurationDescriptor(256)).to.throw(RangeError, /index/);
    } finally {
      await connection.close();
    }
  });

  it('keeps descriptor buffers pinned after close until the dext has stopped', async function () {
    const { connection } = connect();
    connection.open();
    host.gadgetInjectTimeout(IN, 1);
    const buffer = new Uint8Array(8192);
    expect(connection.submitDescriptor(IN, buffer, buffer.length, 0, 1)).to.equal(0);
    host.holdTerminations(true);
    let closed: Promise<boolean>;
    try {
      closed = connection.close();
      // IOServiceClose has returned, the dext has not run its Stop: it may still write the buffer.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(connection.counters()).to.include({ open: false, closing: true, pinned: 1 });
      expect(connection.close() === closed, 'the same close').to.equal(true);
    } finally {
      host.holdTerminations(false);
    }
    expect(await closed).to.equal(true);
    expect(connection.counters()).to.include({ closing: false, pinned: 0, inFlight: 0 });
    // The stop freed the device: it opens at once.
    const again = connect();
    again.connection.open();
    await again.connection.close();
  });

  it('bounds the wait for the stopped notice, and still releases the pins when it comes', async function () {
    const { connection } = connect();
    connection.open();
    host.gadgetInjectTimeout(IN, 1);
    const buffer = new Uint8Array(5000);
    expect(connection.submitDescriptor(IN, buffer, buffer.length, 0, 1)).to.equal(0);
    host.holdTerminations(true);
    try {
      expect(await connection.close(30)).to.equal(false);
      expect(connection.counters()).to.include({ closing: true, pinned: 1 });
      expect(() => connection.open()).to.throw(Error, /still closing/);
    } finally {
      host.holdTerminations(false);
    }
    const deadline = Date.now() + 5000;
    while (connection.counters().closing && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(connection.counters()).to.include({ closing: false, pinned: 0 });
  });

  it('refuses a tag in use on either path', async function () {
    const { connection, completion } = connect();
    connection.open();
    try {
      host.gadgetInjectTimeout(IN, 1);
      expect(connection.submitSlot(IN, 0, 64, 0, 5)).to.equal(0);
      expect(() => connection.submitSlot(IN, 1, 64, 0, 5)).to.throw(RangeError, /tag/);
      expect(() => connection.submitDescriptor(IN, new Uint8Array(5000), 5000, 0, 5)).to.throw(RangeError, /tag/);
      const aborted = completion(5);
      expect(connection.abort(IN)).to.equal(0);
      expect((await aborted).status).to.equal(kIOReturnAborted);
      const again = completion(5);
      expect(connection.submitSlot(IN, 1, 64, 0, 5)).to.equal(0);
      expect((await again).status).to.equal(0);
    } finally {
      await connection.close();
    }
  });

  it('runs control requests asynchronously, in order, always with a bounded timeout', async function () {
    const { connection, completion } = connect();
    connection.open();
    try {
      expect(() => connection.control(0xc0, 0x5c, 0, 0, 8, native.limits.controlTimeoutMaxMs + 1)).to.throw(
        RangeError,
        /timeout/,
      );
      // The device does not answer the first request: the second waits behind it, and transfers
      // meanwhile complete.
      host.gadgetInjectControlTimeout(1);
      const started = Date.now();
      const stuck = connection.control(0x40, 0x5b, 0, 0, new Uint8Array([9, 8, 7]), 300);
      const read = connection.control(0xc0, 0x5c, 0, 0, 3, 1000);
      const done = completion(1);
      expect(connection.submitSlot(IN, 0, 512, 0, 1)).to.equal(0);
      expect((await done).status).to.equal(0);
      expect(Date.now() - started).to.be.below(300);
      expect((await stuck).status).to.equal(kIOReturnTimeout);
      expect(Date.now() - started).to.be.at.least(290);
      expect((await read).status).to.equal(0);
    } finally {
      await connection.close();
    }
  });

  it('ends control requests that were never sent with kIOReturnAborted at close', async function () {
    const { connection } = connect();
    connection.open();
    host.gadgetInjectControlTimeout(1);
    const first = connection.control(0xc0, 0x5c, 0, 0, 8, 5000);
    const second = connection.control(0xc0, 0x5c, 0, 0, 8, 5000);
    expect(await connection.close()).to.equal(true);
    expect((await first).status, 'aborted by the dext').to.equal(kIOReturnAborted);
    expect((await second).status, 'never sent').to.equal(kIOReturnAborted);
  });

  it('finishes a control request the dext completed before its stop, when close() comes before either message', async function () {
    const { connection } = connect();
    connection.open();
    host.gadgetInjectControlTimeout(1);
    const request = connection.control(0xc0, 0x5c, 0, 0, 8, 5000);
    // The unplug stops the dext at once: the request's (aborted) completion and the stopped notice
    // are both on their way to this thread when close() is called, in the same job.
    host.gadgetDisconnect();
    try {
      const closed = connection.close();
      expect((await request).status).to.equal(kIOReturnNoDevice);
      expect(await closed).to.equal(true);
    } finally {
      host.gadgetConnect();
    }
  });

  it('reports completion timestamps in nanoseconds of the monotonic clock', async function () {
    const { connection, completion } = connect();
    connection.open();
    try {
      const before = Number(process.hrtime.bigint());
      const done = completion(1);
      expect(connection.submitSlot(IN, 0, 512, 0, 1)).to.equal(0);
      const { timestamp } = await done;
      const after = Number(process.hrtime.bigint());
      // The dext reports mach absolute time ticks; unconverted they would be far off.
      expect(timestamp).to.be.within(before - 1e6, after + 1e6);
    } finally {
      await connection.close();
    }
  });

  it('carries control data stages above 4096 bytes, up to 65535', async function () {
    const { connection } = connect();
    connection.open();
    try {
      // GET_DESCRIPTOR(configuration) answers short at any wLength: by value, then as a descriptor.
      const byValue = await connection.control(0x80, 0x06, 0x0200, 0, 4096, 1000);
      expect(byValue).to.deep.include({ status: 0, bytes: 69 });
      for (const length of [4097, 65535]) {
        const large = await connection.control(0x80, 0x06, 0x0200, 0, length, 1000);
        expect(large).to.deep.include({ status: 0, bytes: 69 });
        expect(Buffer.compare(large.data, byValue.data)).to.equal(0);
      }
      // Gadget zero's vendor requests stop at its 4096-byte ep0 buffer: a longer data stage reaches
      // the device, which stalls it.
      const long = Uint8Array.from({ length: 65535 }, (_, i) => i & 0xff);
      expect((await connection.control(0x40, 0x5b, 0, 0, long, 1000)).status).to.equal(kUSBHostReturnPipeStalled);
      expect((await connection.control(0xc0, 0x5c, 0, 0, 5000, 1000)).status).to.equal(kUSBHostReturnPipeStalled);
      expect((await connection.control(0x40, 0x5b, 0, 0, long.subarray(0, 4096), 1000)).bytes).to.equal(4096);
      const back = await connection.control(0xc0, 0x5c, 0, 0, 4096, 1000);
      expect(Buffer.compare(back.data, long.subarray(0, 4096))).to.equal(0);
    } finally {
      await connection.close();
    }
  });

  it('leases an IN slot: its own view of the transfer\'s bytes, detached by revoke and by close', async function () {
    const { connection, completion } = connect();
    connection.open();
    const message = Uint8Array.from({ length: 200 }, (_, i) => (i * 5 + 1) & 0xff);
    connection.slots(0x02)[1]!.set(message);
    const received = completion(2);
    connection.submitSlot(0x82, 3, 512, 1000, 2);
    const sent = completion(1);
    connection.submitSlot(0x02, 1, message.length, 1000, 1);
    expect((await sent).status).to.equal(0);
    expect(await received).to.deep.include({ tag: 2, status: 0, bytes: 200 });

    const lease = connection.leaseSlot(0x82, 3);
    const other = connection.leaseSlot(0x82, 3);
    const out = connection.leaseSlot(0x02, 1);
    expect(lease.length).to.equal(native.limits.slotCapacity);
    expect(lease.buffer).to.not.equal(other.buffer);
    expect(Buffer.compare(lease.subarray(0, 200), message)).to.equal(0);
    expect(connection.counters().leases).to.equal(3);

    const part = lease.subarray(0, 16);
    connection.revokeLease(part);
    expect(lease.length, 'a revoked lease reads as empty').to.equal(0);
    expect(part.length).to.equal(0);
    expect(other.length, 'other leases of the slot stay').to.equal(native.limits.slotCapacity);
    expect(connection.counters().leases).to.equal(2);
    connection.revokeLease(lease);

    await connection.close();
    for (const view of [other, out]) expect(view.length, 'detached at close').to.equal(0);
    expect(connection.counters().leases).to.equal(0);
    connection.revokeLease(other);
    const { connection: next } = connect();
    next.open();
    try {
      expect(() => next.revokeLease(other), "another connection's lease").to.throw(TypeError, /lease/);
      const fresh = next.leaseSlot(IN, 0);
      expect(fresh.length).to.equal(native.limits.slotCapacity);
      expect(next.selectAlternate(1)).to.equal(0);
      expect(fresh.length, 'detached by an alternate-setting change').to.equal(0);
      expect(next.selectAlternate(0)).to.equal(0);
    } finally {
      await next.close();
    }
  });

  it('collects leases that are never revoked', async function () {
    this.timeout(30_000);
    const { connection } = connect();
    connection.open();
    try {
      for (let slot = 0; slot < 16; slot++) connection.leaseSlot(IN, slot);
      const mappings = host.liveCounts().mappings;
      for (let i = 0; i < 20_000; i++) connection.leaseSlot(IN, i % 16);
      expect(host.liveCounts().mappings, 'a lease maps nothing new').to.equal(mappings);
      const deadline = Date.now() + 10_000;
      while (connection.counters().leases > 0 && Date.now() < deadline) {
        collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(connection.counters().leases).to.equal(0);
    } finally {
      await connection.close();
    }
  });

  it('echoes through Loopback (0x02 -> 0x82) on both paths', async function () {
    const { connection, completion } = connect();
    connection.open();
    try {
      const outSlots = connection.slots(0x02);
      const inSlots = connection.slots(0x82);
      const small = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
      outSlots[0]!.set(small);
      const received = completion(2);
      connection.submitSlot(0x82, 0, 512, 1000, 2);
      const sent = completion(1);
      connection.submitSlot(0x02, 0, small.length, 1000, 1);
      expect(await sent).to.deep.include({ tag: 1, status: 0, bytes: 300 });
      expect(await received).to.deep.include({ tag: 2, status: 0, bytes: 300 });
      expect(Buffer.compare(inSlots[0]!.subarray(0, 300), small)).to.equal(0);

      const big = Uint8Array.from({ length: 65536 }, (_, i) => (i * 13) & 0xff);
      const into = new Uint8Array(65536);
      const bigReceived = completion(4);
      connection.submitDescriptor(0x82, into, into.length, 1000, 4);
      const bigSent = completion(3);
      connection.submitDescriptor(0x02, big, big.length, 1000, 3);
      expect((await bigSent).bytes).to.equal(65536);
      expect(await bigReceived).to.deep.include({ tag: 4, status: 0, bytes: 65536 });
      expect(Buffer.compare(into, big)).to.equal(0);
    } finally {
      await connection.close();
    }
  });

  it('reports stall, babble, timeout and abort, and detaches the slot views at close', async function () {
    const { connection, completion } = connect();
    connection.open();
    const slots = connection.slots(IN);
    host.gadgetInjectStall(IN);
    let done = completion(1);
    connection.submitSlot(IN, 0, 512, 1000, 1);
    expect((await done).status).to.equal(kUSBHostReturnPipeStalled);
    expect(connection.clearHalt(IN)).to.equal(0);
    host.gadgetInjectBabble(IN);
    done = completion(2);
    connection.submitSlot(IN, 0, 512, 1000, 2);
    expect((await done).status).to.equal(kIOReturnOverrun);
    host.gadgetInjectTimeout(IN, 2);
    done = completion(3);
    connection.submitSlot(IN, 0, 512, 50, 3);
    expect((await done).status).to.equal(kIOReturnTimeout);
    done = completion(4);
    connection.submitSlot(IN, 0, 512, 0, 4);
    expect(connection.abort(IN)).to.equal(0);
    expect((await done).status).to.equal(kIOReturnAborted);
    const lease = connection.leaseSlot(IN, 0);
    expect(connection.selectAlternate(1)).to.equal(0);
    expect(slots[0]!.length, 'views detached by an alternate-setting change').to.equal(0);
    expect(lease.length, 'leases too').to.equal(0);
    expect(connection.pipes().map((p) => p.address)).to.have.members([0x01, 0x81]);
    expect(() => connection.slots(0x82)).to.throw(RangeError, /pipe/);
    const again = connection.slots(IN);
    expect(again[0]!.length).to.equal(4096);
    expect(connection.selectAlternate(0)).to.equal(0);
    await connection.close();
    expect(again[0]!.length).to.equal(0);
  });

  it('reports an unplug as kIOReturnNoDevice and opens again after a replug', async function () {
    const { connection, completion } = connect();
    connection.open();
    host.gadgetInjectTimeout(IN, 1);
    const pending = completion(1);
    connection.submitSlot(IN, 0, 512, 0, 1);
    host.gadgetDisconnect();
    try {
      expect((await pending).status).to.equal(kIOReturnNoDevice);
      expect(connection.submitSlot(IN, 0, 512, 0, 2)).to.not.equal(0);
      await connection.close();
      const again = connect().connection;
      expect(() => again.open()).to.throw(Error).with.property('ioReturn', kIOReturnNoDevice);
    } finally {
      host.gadgetConnect();
    }
    const again = connect();
    again.connection.open();
    const done = again.completion(5);
    again.connection.submitSlot(IN, 0, 512, 1000, 5);
    expect((await done).status).to.equal(0);
    await again.connection.close();
  });

  it('reports an unplug and a replug as matching notifications', async function () {
    const events: string[] = [];
    const monitor = new native.Monitor((type) => events.push(type));
    expect(() => new native.Monitor(undefined as unknown as () => void)).to.throw(TypeError, /onEvent/);
    monitor.start();
    try {
      host.gadgetDisconnect();
      host.gadgetConnect();
      const deadline = Date.now() + 2000;
      while (events.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(events).to.deep.equal(['detach', 'attach']);
    } finally {
      monitor.stop();
      monitor.stop();
    }
  });

  it('streams 100,000 transfers, closes, and leaves no live object behind', async function () {
    this.timeout(120_000);
    const total = 100_000;
    const inFlight = 16;
    let submitted = 0;
    let completed = 0;
    let failed = 0;
    let batches = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const connection = new native.Connection((batch) => {
      batches++;
      for (let i = 0; i < batch.length; i += 4) {
        completed++;
        if (batch[i + 1] !== 0 || batch[i + 2] !== 512) failed++;
        const slot = batch[i]! % inFlight;
        if (submitted < total) connection.submitSlot(IN, slot, 512, 1000, submitted++);
      }
      if (completed === total) finish();
    });
    connection.open();
    const started = process.hrtime.bigint();
    while (submitted < inFlight) connection.submitSlot(IN, submitted, 512, 1000, submitted++);
    await finished;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counters = connection.counters();
    await connection.close();
    expect(failed).to.equal(0);
    expect(counters.completions).to.equal(total);
    expect(counters.inFlight).to.equal(0);
    console.log(
      `      ${total} transfers of 512 B in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)}/s, ` +
        `${(counters.doorbells / total).toFixed(3)} doorbells per transfer, ${(total / batches).toFixed(1)} per batch`,
    );
    const counts = await countsSettle((c) => JSON.stringify(c) === JSON.stringify(baseline));
    expect(counts).to.deep.equal(baseline);
    expect(counts).to.include({ connections: 0, clients: 0, mappings: 0, actions: 0, descriptors: 0, notificationPorts: 0 });
  });
});
