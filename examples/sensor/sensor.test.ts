/**
 * The app's tests. They run unchanged on the sensor's model in process (the default) and on a real
 * sensor: DEXTIO_HIL_TARGET=hardware npx mocha 'examples/sensor/*.test.ts'.
 */
import { DisconnectedError, StallError } from '@dextio/core';
import { deviceFixture } from '@dextio/model/mocha';
import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, filter, take, toArray } from 'rxjs';
import { sensor } from './device.js';
import { Sensor } from './sensor.js';

describe('Sensor', function () {
  // #region fixture
  const fixture = deviceFixture({ model: sensor }); // opens the sensor for each test, checks after it

  it('reads the temperature', async function () {
    const app = await Sensor.on(fixture.device);
    expect(await app.temperature()).to.be.within(-40, 125);
  });
  // #endregion fixture

  it('reports status, and raises the alarm above its threshold', async function () {
    const app = await Sensor.on(fixture.device);
    const first = await firstValueFrom(app.status());
    await app.alarmAt(first.celsius + 0.5); // the model warms up by 0.1 degrees a report
    const reports = await lastValueFrom(app.status().pipe(take(10), toArray()));
    expect(reports.some((r) => !r.alarm)).to.equal(true);
    expect(reports.at(-1)!.alarm).to.equal(true);
  });

  it('throws StallError for a command the sensor refuses, and goes on working', async function () {
    const app = await Sensor.on(fixture.device);
    const error = await app.command('SELF-DESTRUCT').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StallError);
    expect(await app.temperature()).to.be.a('number');
  });

  it('fails with DisconnectedError when the sensor is unplugged mid-stream', async function () {
    if (fixture.target !== 'model') {
      console.log('      skipped: unplugging needs the model target');
      this.skip();
    }
    const app = await Sensor.on(fixture.device);
    const reading = lastValueFrom(app.status().pipe(filter(() => false)));
    fixture.backend!.unplug(fixture.attached!);
    const error = await reading.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DisconnectedError);
  });

  it('surfaces a stalled status endpoint as StallError (a fault injected on the model)', async function () {
    if (fixture.target !== 'model') {
      console.log('      skipped: injecting faults needs the model target');
      this.skip();
    }
    const app = await Sensor.on(fixture.device);
    fixture.attached!.inject(0x82, 'stall');
    const error = await firstValueFrom(app.status()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StallError);
  });
});
