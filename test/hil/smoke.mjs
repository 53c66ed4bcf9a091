// Smoke test of the HIL fixture, run inside the guest:
//   test/hil/run.sh -- node test/hil/smoke.mjs
// Talks to gadget zero and the FunctionFS echo device with the npm `usb` 2.x
// legacy API directly (no dextio code), prints each check, exits 1 on failure.
// Hotplug (attach/detach) is checked by unbinding and rebinding gadget zero's
// UDC; set DEXTIO_HIL_SMOKE_HOTPLUG=0 to skip that part.
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { usb, findByIds } from 'usb';

const usbVersion = createRequire(import.meta.url)('usb/package.json').version;

const ZERO = { vid: 0x0525, pid: 0xa4a0 };
const FFS = { vid: 0x1209, pid: 0x0001 };
const TIMEOUT_MS = 5000;

let failures = 0;
const t0 = performance.now();
const ms = () => `${(performance.now() - t0).toFixed(0)} ms`;
function pass(what) { console.log(`ok    ${what}`); }
function fail(what, err) {
  failures++;
  console.log(`FAIL  ${what}${err ? `: ${err.message ?? err}` : ''}`);
}
async function check(what, fn) {
  try {
    const detail = await fn();
    pass(detail ? `${what} (${detail})` : what);
    return true;
  } catch (err) {
    fail(what, err);
    return false;
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function withTimeout(promise, msLimit, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result in ${msLimit} ms`)), msLimit); }),
  ]);
}

const watchdog = setTimeout(() => {
  console.log('FAIL  watchdog: the smoke test did not finish in 120 s');
  process.exit(2);
}, 120_000);
watchdog.unref();

// ---- hotplug listeners first, so that libusb's hotplug thread is running
const events = [];
const waiters = [];
function onEvent(kind, dev) {
  const d = dev.deviceDescriptor;
  const ev = { kind, vid: d.idVendor, pid: d.idProduct, at: performance.now() };
  events.push(ev);
  for (const w of [...waiters]) if (w.match(ev)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev); }
}
const hotplugMode = process.env.DEXTIO_HIL_SMOKE_HOTPLUG ?? 'events'; // events | poll | 0
const hotplugWanted = hotplugMode !== '0';
// Without udevd, libusb built with udev (the usb 2.x prebuilds) gets no events:
// report that rather than fail.
const hotplugExpected = hotplugMode === 'poll' || process.env.DEXTIO_HIL_UDEV !== '0';
if (hotplugMode === 'poll') usb.pollHotplug = true;
const onAttach = (dev) => onEvent('attach', dev);
const onDetach = (dev) => onEvent('detach', dev);
if (hotplugWanted) {
  usb.on('attach', onAttach);
  usb.on('detach', onDetach);
}
function waitEvent(kind, ids, limit) {
  const found = events.find((e) => e.kind === kind && e.vid === ids.vid && e.pid === ids.pid);
  if (found) return Promise.resolve(found);
  return withTimeout(new Promise((resolve) => {
    waiters.push({ match: (e) => e.kind === kind && e.vid === ids.vid && e.pid === ids.pid, resolve });
  }), limit, `${kind} event`);
}

// ---- helpers over the legacy API
const ctrl = (dev, ...args) => promisify(dev.controlTransfer.bind(dev))(...args);
const xfer = (ep, arg) => promisify(ep.transfer.bind(ep))(arg);
const clearHalt = (ep) => promisify(ep.clearHalt.bind(ep))();
const setConfiguration = (dev, n) => promisify(dev.setConfiguration.bind(dev))(n);
const release = (intf) => promisify(intf.release.bind(intf))(true);
const getString = (dev, i) => promisify(dev.getStringDescriptor.bind(dev))(i);

function bulkEndpoints(intf) {
  const ins = intf.endpoints.find((e) => e.direction === 'in' && e.transferType === usb.LIBUSB_TRANSFER_TYPE_BULK);
  const outs = intf.endpoints.find((e) => e.direction === 'out' && e.transferType === usb.LIBUSB_TRANSFER_TYPE_BULK);
  assert(ins && outs, 'no bulk IN/OUT pair');
  ins.timeout = TIMEOUT_MS;
  outs.timeout = TIMEOUT_MS;
  return { in: ins, out: outs };
}
const ssByte = (i, mps) => (i % mps) % 63; // SourceSink pattern 1 restarts every max-size packet
const ffsByte = (i) => i % 251;

function ffsHeader(cmd, len) {
  const h = Buffer.alloc(8);
  h[0] = 0x44; h[1] = 0x58; h[2] = cmd; h[3] = 0;
  h.writeUInt32LE(len, 4);
  return h;
}

function openDevice(ids, name) {
  const dev = findByIds(ids.vid, ids.pid);
  assert(dev, `${name} ${ids.vid.toString(16)}:${ids.pid.toString(16)} not found`);
  dev.open();
  dev.timeout = TIMEOUT_MS;
  return dev;
}

// ---------------------------------------------------------------- gadget zero
async function gadgetZero() {
  let dev;
  if (!await check('gadget zero: found and opened', () => {
    dev = openDevice(ZERO, 'gadget zero');
    const d = dev.deviceDescriptor;
    return `bus ${dev.busNumber} address ${dev.deviceAddress}, ${d.bNumConfigurations} configurations`;
  })) return;
  try {
    await check('gadget zero: strings', async () => {
      const m = await getString(dev, dev.deviceDescriptor.iManufacturer);
      const p = await getString(dev, dev.deviceDescriptor.iProduct);
      assert(m === 'dextio', `manufacturer "${m}"`);
      return `"${m}" / "${p}"`;
    });

    let eps;
    let mps;
    await check('gadget zero: configuration 1 (SourceSink), claim interface 0', async () => {
      if (dev.configDescriptor.bConfigurationValue !== 1) await setConfiguration(dev, 1);
      const intf = dev.interface(0);
      intf.claim();
      eps = bulkEndpoints(intf);
      mps = eps.in.descriptor.wMaxPacketSize;
      return `IN 0x${eps.in.address.toString(16)} OUT 0x${eps.out.address.toString(16)}, max packet ${mps}`;
    });
    if (!eps) return;

    // A read shorter than the max packet would overflow (1024 at SuperSpeed).
    for (const size of [mps, 4096, 65536]) {
      await check(`SourceSink IN ${size} bytes, pattern (offset % ${mps}) % 63`, async () => {
        const data = await xfer(eps.in, size);
        assert(data.length === size, `got ${data.length} bytes`);
        for (let i = 0; i < size; i++) {
          if (data[i] !== ssByte(i, mps)) throw new Error(`byte ${i} is ${data[i]}, expected ${ssByte(i, mps)}`);
        }
      });
    }
    await check('SourceSink OUT 4096 bytes of the pattern (the sink checks it)', async () => {
      const buf = Buffer.alloc(4096);
      for (let i = 0; i < buf.length; i++) buf[i] = ssByte(i, mps);
      await xfer(eps.out, buf);
    });
    await check('vendor control 0x5b write / 0x5c read back', async () => {
      const buf = Buffer.alloc(64);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 3) & 0xff;
      await ctrl(dev, 0x40, 0x5b, 0, 0, buf);
      const back = await ctrl(dev, 0xc0, 0x5c, 0, 0, buf.length);
      assert(Buffer.compare(back, buf) === 0, `read back ${back.toString('hex')}`);
    });

    await check('gadget zero: configuration 2 (Loopback)', async () => {
      await release(dev.interface(0));
      await setConfiguration(dev, 2);
      assert(dev.configDescriptor.bConfigurationValue === 2, 'configuration did not change');
      const intf = dev.interface(0);
      intf.claim();
      eps = bulkEndpoints(intf);
    });
    for (const size of [512, 4096, 65536]) {
      await check(`Loopback round trip ${size} bytes (IN and OUT in flight together)`, async () => {
        const out = Buffer.alloc(size);
        for (let i = 0; i < size; i++) out[i] = (i * 13 + size) & 0xff;
        const [back] = await Promise.all([xfer(eps.in, size), xfer(eps.out, out)]);
        assert(back.length === size, `got ${back.length} bytes`);
        assert(Buffer.compare(back, out) === 0, 'data differs');
      });
    }
    await release(dev.interface(0)).catch(() => {});
    await setConfiguration(dev, 1).catch(() => {});
  } finally {
    try { dev.close(); } catch { /* already gone */ }
  }
}

// ---------------------------------------------------------------- FunctionFS device
async function ffsDevice() {
  let dev;
  if (!await check('ffs device: found and opened', () => {
    dev = openDevice(FFS, 'FunctionFS device');
    return `bus ${dev.busNumber} address ${dev.deviceAddress}`;
  })) return;
  try {
    await check('ffs: vendor IN request 0x01 identify', async () => {
      const id = (await ctrl(dev, 0xc0, 0x01, 0, 0, 64)).toString('latin1');
      assert(id === 'dextio-ffs-echo 1', `identify returned "${id}"`);
      return `"${id}"`;
    });
    await check('ffs: unknown vendor request stalls', async () => {
      const err = await ctrl(dev, 0xc0, 0x7f, 0, 0, 8).then(() => null, (e) => e);
      assert(err && err.errno === usb.LIBUSB_TRANSFER_STALL, `expected a stall, got ${err ? err.message : 'data'}`);
    });
    let eps;
    await check('ffs: claim interface 0', () => {
      const intf = dev.interface(0);
      intf.claim();
      eps = bulkEndpoints(intf);
      return `IN 0x${eps.in.address.toString(16)} OUT 0x${eps.out.address.toString(16)}, max packet ${eps.in.descriptor.wMaxPacketSize}`;
    });
    if (!eps) return;
    const echo = async (size) => {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
      await xfer(eps.out, Buffer.concat([ffsHeader(0x01, size), payload]));
      const back = await xfer(eps.in, size);
      assert(back.length === size, `got ${back.length} bytes`);
      assert(Buffer.compare(back, payload) === 0, 'data differs');
    };
    for (const size of [1, 100, 512, 4099, 65536, 200000]) {
      await check(`ffs: echo ${size} bytes`, () => echo(size));
    }
    await check('ffs: echo with header and payload in separate transfers', async () => {
      const payload = Buffer.from('split header and payload');
      await xfer(eps.out, ffsHeader(0x01, payload.length));
      await xfer(eps.out, payload);
      const back = await xfer(eps.in, payload.length);
      assert(back.equals(payload), 'data differs');
    });
    for (const size of [10, 10000, 300000]) {
      await check(`ffs: source ${size} bytes, pattern i % 251`, async () => {
        await xfer(eps.out, ffsHeader(0x02, size));
        const data = await xfer(eps.in, size);
        assert(data.length === size, `got ${data.length} bytes`);
        for (let i = 0; i < size; i++) {
          if (data[i] !== ffsByte(i)) throw new Error(`byte ${i} is ${data[i]}`);
        }
      });
    }
    await check('ffs: sink 100000 bytes', async () => {
      await xfer(eps.out, Buffer.concat([ffsHeader(0x03, 100000), Buffer.alloc(100000, 0xa5)]));
    });
    await check('ffs: stall command halts IN, CLEAR_FEATURE clears it', async () => {
      await xfer(eps.out, ffsHeader(0x04, 0));
      const err = await xfer(eps.in, 512).then(() => null, (e) => e);
      assert(err && err.errno === usb.LIBUSB_TRANSFER_STALL, `expected a stall, got ${err ? err.message : 'data'}`);
      await clearHalt(eps.in);
      await echo(777);
      return 'stalled, cleared, echo works again';
    });
    await release(dev.interface(0)).catch(() => {});
  } finally {
    try { dev.close(); } catch { /* already gone */ }
  }
}

// ---------------------------------------------------------------- hotplug
async function hotplug() {
  const gadget = process.env.DEXTIO_HIL_GADGET_ZERO;
  const udc = process.env.DEXTIO_HIL_GADGET_ZERO_UDC;
  if (!gadget || !udc) { console.log('skip  hotplug: not in the HIL guest (DEXTIO_HIL_GADGET_ZERO unset)'); return; }
  const support = usb._supportedHotplugEvents?.();
  console.log(`info  hotplug: mode ${hotplugMode}, libusb hotplug capability ${support}, `
    + `udevd ${process.env.DEXTIO_HIL_UDEV === '1' ? 'running' : 'not running'}`);
  // Without udevd the events are not expected: record what happens, do not fail.
  const run = hotplugExpected ? check : async (what, fn) => {
    try { console.log(`info  ${what}: ${await fn() ?? 'ok'} (unexpectedly)`); } catch (err) { console.log(`info  ${what}: ${err.message}`); }
  };
  const limit = hotplugExpected ? 1 : 0.3;
  events.length = 0;
  await run('hotplug: unbind gadget zero -> detach event', async () => {
    const t = performance.now();
    writeFileSync(`${gadget}/UDC`, '\n');
    const ev = await waitEvent('detach', ZERO, 10_000 * limit);
    return `after ${(ev.at - t).toFixed(0)} ms`;
  });
  let attached = false;
  await run('hotplug: rebind gadget zero -> attach event', async () => {
    const t = performance.now();
    writeFileSync(`${gadget}/UDC`, `${udc}\n`);
    const ev = await waitEvent('attach', ZERO, 15_000 * limit);
    attached = true;
    return `after ${(ev.at - t).toFixed(0)} ms`;
  });
  await run('gadget zero usable again after the rebind', async () => {
    // The attach event may precede the configuration being set: retry briefly.
    let lastErr;
    for (let i = 0; i < (hotplugExpected ? 100 : 10); i++) {
      try {
        const dev = openDevice(ZERO, 'gadget zero');
        const m = await getString(dev, dev.deviceDescriptor.iManufacturer);
        dev.close();
        assert(m === 'dextio', `manufacturer "${m}"`);
        return `${attached ? 'after the attach event' : 'found'}, ${i} retries`;
      } catch (err) { lastErr = err; await new Promise((r) => setTimeout(r, 100)); }
    }
    throw lastErr;
  });

  const ffsGadget = process.env.DEXTIO_HIL_FFS_GADGET;
  const ffsUdc = process.env.DEXTIO_HIL_FFS_UDC;
  if (!ffsGadget || !ffsUdc) return;
  await run('hotplug: FunctionFS device unbind/rebind -> detach, attach, identify and echo work', async () => {
    writeFileSync(`${ffsGadget}/UDC`, '\n');
    await waitEvent('detach', FFS, 10_000 * limit);
    writeFileSync(`${ffsGadget}/UDC`, `${ffsUdc}\n`);
    await waitEvent('attach', FFS, 15_000 * limit);
    let lastErr;
    for (let i = 0; i < 100; i++) {
      let dev;
      try {
        dev = openDevice(FFS, 'FunctionFS device');
        const id = (await ctrl(dev, 0xc0, 0x01, 0, 0, 64)).toString('latin1');
        assert(id === 'dextio-ffs-echo 1', `identify returned "${id}"`);
        const intf = dev.interface(0);
        intf.claim();
        const eps = bulkEndpoints(intf);
        const payload = Buffer.from('after a surprise removal');
        await xfer(eps.out, Buffer.concat([ffsHeader(0x01, payload.length), payload]));
        assert((await xfer(eps.in, payload.length)).equals(payload), 'echo differs');
        await release(intf);
        return `${i} retries`;
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        try { dev?.close(); } catch { /* gone */ }
      }
    }
    throw lastErr;
  });
}

console.log(`smoke: npm usb ${usbVersion} legacy API, node ${process.version}, HIL ${process.env.DEXTIO_HIL ?? 'no'}`);
try {
  await gadgetZero();
  await ffsDevice();
  if (hotplugWanted) await hotplug();
} catch (err) {
  fail('unexpected error', err);
} finally {
  usb.removeListener('attach', onAttach);
  usb.removeListener('detach', onDetach);
}
console.log(failures ? `smoke: ${failures} check(s) FAILED in ${ms()}` : `smoke: all checks passed in ${ms()}`);
process.exitCode = failures ? 1 : 0;
