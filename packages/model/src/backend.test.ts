/**
 * The model backend with a device of its own (not gadget zero, which the fake target's tests and
 * the conformance suite cover): IN producers and data the device sends, interrupt endpoints,
 * faults on demand, state per device, unplug and replug.
 */
import { Usb, StallError, TimeoutError, DisconnectedError } from '@dextio/core';
import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { ModelBackend } from './backend.js';
import { defineDevice } from './declaration.js';

/** A thermometer: OUT 1 takes commands, IN 1 answers them, interrupt IN 2 reports readings. */
const thermometer = defineDevice<{ readings: number }>({
  vendorId: 0x1209,
  productId: 0x7e57,
  manufacturer: 'Acme',
  product: 'Thermometer',
  data: () => ({ readings: 0 }),
  configurations: [
    {
      value: 1,
      interfaces: [
        {
          number: 0,
          alternates: [
            {
              setting: 0,
              endpoints: [
                {
                  address: 0x01,
                  type: 'bulk',
                  packetSize: 512,
                  out(command, device) {
                    const text = new TextDecoder().decode(command);
                    if (text === 'PING') device.send(0x81, new TextEncoder().encode('PONG'));
                    else return 'stall';
                  },
                },
                { address: 0x81, type: 'bulk', packetSize: 512 },
                {
                  address: 0x82,
                  type: 'interrupt',
                  packetSize: 8,
                  interval: 4,
                  in: (_length, device) => Uint8Array.of(21 + device.data.readings++),
                },
              ],
            },
          ],
        },
      ],
    },
  ],
  control(request) {
    // A vendor request that names the firmware; everything else as the model answers it.
    if (request.requestType === 'vendor' && request.request === 0x01) return new TextEncoder().encode('fw 1.2');
    return undefined;
  },
});

describe('ModelBackend', function () {
  async function open() {
    const backend = new ModelBackend();
    const plugged = backend.attach(thermometer, { serialNumber: 'T-1' });
    const usb = new Usb(backend);
    const device = await usb.open({ vendorId: 0x1209, productId: 0x7e57 });
    await device.claimInterface(0);
    return { backend, plugged, usb, device };
  }

  it('shows the declared descriptors and strings through @dextio/core', async function () {
    const { device } = await open();
    expect(device.descriptor).to.include({ manufacturerName: 'Acme', productName: 'Thermometer', serialNumber: 'T-1' });
    expect(device.alternate(0).endpoints.map((e) => `${e.direction}${e.endpointNumber}:${e.type}`)).to.deep.equal([
      'out1:bulk',
      'in1:bulk',
      'in2:interrupt',
    ]);
    expect(await device.getString(2)).to.equal('Thermometer');
    await device.close();
  });

  it('runs OUT handlers, IN producers and control handlers, with state per device', async function () {
    const { backend, device } = await open();
    const commands = await device.openPipe('out', 1);
    const replies = await device.openPipe('in', 1);
    const readings = await device.openPipe('in', 2);
    const reply = replies.transferIn(512); // waits: nothing to send yet
    await commands.transferOut(new TextEncoder().encode('PING'));
    expect(new TextDecoder().decode((await reply).data)).to.equal('PONG');
    const values = await lastValueFrom(readings.stream({ transferSize: 8, inFlight: 2 }).pipe(take(3), toArray()));
    expect(values.map((v) => v[0])).to.deep.equal([21, 22, 23]);
    const firmware = await device.controlTransferIn({ requestType: 'vendor', recipient: 'device', request: 0x01, value: 0, index: 0 }, 64);
    expect(new TextDecoder().decode(firmware.data)).to.equal('fw 1.2');
    // A second device of the same model starts from its own state.
    await device.close();
    backend.attach(thermometer);
    const [first, second] = await Promise.all((await new Usb(backend).list()).map((info) => new Usb(backend).open(info)));
    expect(first).to.not.equal(undefined);
    await first!.close();
    await second!.claimInterface(0);
    expect((await (await second!.openPipe('in', 2)).transferIn(8)).data[0]).to.equal(21);
    await second!.close();
  });

  it('stalls what a handler refuses, and injects stall, timeout and short-packet faults', async function () {
    const { plugged, device } = await open();
    const commands = await device.openPipe('out', 1);
    expect((await commands.transferOut(new TextEncoder().encode('NONSENSE'))).status).to.equal('stall');
    await commands.clearHalt();
    const readings = await device.openPipe('in', 2);
    plugged.inject(0x82, 'stall');
    await expectError(lastValueFrom(readings.stream({ transferSize: 8, inFlight: 1 })), StallError);
    await readings.clearHalt();
    plugged.inject(0x81, 'timeout');
    const replies = await device.openPipe('in', 1);
    await expectError(replies.transferIn(512, { timeout: 30 }), TimeoutError);
    plugged.inject(0x81, 'short');
    plugged.send(0x81, new Uint8Array(1024));
    expect((await replies.transferIn(1024)).data.length).to.equal(256);
    await device.close();
  });

  it('unplugs: transfers end with DisconnectedError and hotplug says detach; a replug is a new device', async function () {
    const { backend, plugged, usb, device } = await open();
    const replies = await device.openPipe('in', 1);
    const detached = firstValueFrom(usb.hotplug());
    const waiting = replies.transferIn(512);
    backend.unplug(plugged);
    await expectError(waiting, DisconnectedError);
    expect((await detached).type).to.equal('detach');
    await device.close();
    const again = backend.attach(thermometer);
    expect(again.id).to.not.equal(plugged.id);
    await (await usb.open({ vendorId: 0x1209, productId: 0x7e57 })).close();
  });
});

async function expectError(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(type);
}
