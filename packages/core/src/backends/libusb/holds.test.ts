import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { AccessError } from '../../errors.js';
import { heldHere, hold, type HotplugEmitter } from './holds.js';

describe('the libusb backend holds', function () {
  const events = new EventEmitter();
  const emitter = events as unknown as HotplugEmitter;
  const detach = (busNumber: number, portNumbers: number[], deviceAddress: number) =>
    events.emit('detach', { busNumber, portNumbers, deviceAddress });

  it('refuses a second hold on a device in this process, and gives it back once', function () {
    const first = hold('9-1-5', emitter);
    expect(heldHere('9-1-5')).to.equal(true);
    expect(() => hold('9-1-5', emitter)).to.throw(AccessError, /held by this process/);
    first.release();
    expect(heldHere('9-1-5')).to.equal(false);
    const second = hold('9-1-5', emitter);
    first.release();
    expect(heldHere('9-1-5'), 'a stale release leaves a newer hold alone').to.equal(true);
    second.release();
  });

  it('watches for detach only while it holds a device, and tells the owner', function () {
    expect(events.listenerCount('detach')).to.equal(0);
    const a = hold('9-1-5', emitter);
    const b = hold('9-2-6', emitter);
    expect(events.listenerCount('detach')).to.equal(1);
    let lost = 0;
    a.own({ lost: () => lost++ });
    detach(9, [1], 5);
    expect(lost).to.equal(1);
    expect(heldHere('9-1-5')).to.equal(false);
    expect(events.listenerCount('detach')).to.equal(1);
    b.release();
    expect(events.listenerCount('detach')).to.equal(0);
  });

  it('tells an owner of an unplug that came while its open was under way', function () {
    const reserved = hold('9-3-7', emitter);
    detach(9, [3], 7);
    let lost = 0;
    reserved.own({ lost: () => lost++ });
    expect(lost).to.equal(1);
    expect(events.listenerCount('detach')).to.equal(0);
  });
});
