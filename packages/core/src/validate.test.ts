import { expect } from 'chai';
import { TRANSFER_LENGTH_MAX } from './planner.js';
import { checkBytes, checkLength, checkSetup, checkTimeout } from './validate.js';

describe('argument checks', function () {
  it('accepts lengths from 0 to the maximum and nothing else', function () {
    expect(checkLength('length', 0)).to.equal(0);
    expect(checkLength('length', TRANSFER_LENGTH_MAX)).to.equal(TRANSFER_LENGTH_MAX);
    expect(() => checkLength('length', TRANSFER_LENGTH_MAX + 1)).to.throw(RangeError, /length/);
    expect(() => checkLength('length', -1)).to.throw(RangeError);
    expect(() => checkLength('length', 2.5)).to.throw(TypeError, /integer/);
    expect(() => checkLength('length', Number.NaN)).to.throw(TypeError);
    expect(() => checkLength('length', 10n)).to.throw(TypeError);
  });

  it('defaults a missing timeout and refuses a negative one', function () {
    expect(checkTimeout(undefined, 5000)).to.equal(5000);
    expect(checkTimeout(0, 5000)).to.equal(0);
    expect(() => checkTimeout(-5, 0)).to.throw(RangeError);
    // A control transfer's range: a request always ends.
    expect(checkTimeout(undefined, 5000, 1, 30000)).to.equal(5000);
    expect(() => checkTimeout(0, 5000, 1, 30000)).to.throw(RangeError, /timeout must be from 1 to 30000, not 0/);
    expect(() => checkTimeout(30001, 5000, 1, 30000)).to.throw(RangeError);
  });

  it('views any ArrayBufferView or ArrayBuffer as bytes without copying', function () {
    const buffer = new ArrayBuffer(8);
    const words = new Uint16Array(buffer, 2, 2);
    const bytes = checkBytes('data', words);
    expect(bytes.buffer).to.equal(buffer);
    expect([bytes.byteOffset, bytes.byteLength]).to.deep.equal([2, 4]);
    expect(checkBytes('data', buffer).byteLength).to.equal(8);
    expect(() => checkBytes('data', [1, 2, 3])).to.throw(TypeError, /data/);
  });

  it('checks every field of a control setup', function () {
    const setup = { requestType: 'vendor', recipient: 'device', request: 1, value: 2, index: 3 };
    expect(checkSetup(setup)).to.equal(setup);
    expect(() => checkSetup({ ...setup, recipient: 'host' })).to.throw(TypeError, /recipient/);
    expect(() => checkSetup({ ...setup, request: 256 })).to.throw(RangeError, /request/);
    expect(() => checkSetup({ ...setup, index: -1 })).to.throw(RangeError, /index/);
    expect(() => checkSetup('setup')).to.throw(TypeError);
  });
});
