import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device as UsbDevice } from 'usb';
import { usbfsClaims } from './usbfs.js';

describe('usbfs claims from sysfs', function () {
  let sysfs: string;

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    sysfs = await mkdtemp(join(tmpdir(), 'dextio-sysfs-'));
    // Device 1-1.4 with three interfaces: 0 claimed through usbfs, 1 bound to a kernel driver, 2 free.
    const device = join(sysfs, '1-1.4');
    for (const iface of ['1-1.4:1.0', '1-1.4:1.1', '1-1.4:1.2']) await mkdir(join(device, iface), { recursive: true });
    await mkdir(join(device, 'power'));
    await symlink('../../../../../bus/usb/drivers/usbfs', join(device, '1-1.4:1.0', 'driver'));
    await symlink('../../../../../bus/usb/drivers/cdc_acm', join(device, '1-1.4:1.1', 'driver'));
  });

  after(async function () {
    if (sysfs) await rm(sysfs, { recursive: true, force: true });
  });

  const device = (portNumbers: number[]) => ({ busNumber: 1, portNumbers }) as unknown as UsbDevice;

  it('reports the interfaces bound to usbfs, and no other driver', async function () {
    expect(await usbfsClaims(device([1, 4]), sysfs)).to.deep.equal([0]);
  });

  it('reports nothing for a device sysfs does not show, or a root hub', async function () {
    expect(await usbfsClaims(device([2]), sysfs)).to.deep.equal([]);
    expect(await usbfsClaims(device([]), sysfs)).to.deep.equal([]);
  });
});
