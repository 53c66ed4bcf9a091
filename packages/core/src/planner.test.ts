import { expect } from 'chai';
import { MAPPED_TRANSFER_MAX, planPath } from './planner.js';

describe('planPath', function () {
  it('keeps 4096 bytes and less on the mapped path and sends more as a descriptor', function () {
    expect(MAPPED_TRANSFER_MAX).to.equal(4096);
    expect(planPath(0)).to.equal('mapped');
    expect(planPath(4095)).to.equal('mapped');
    expect(planPath(4096)).to.equal('mapped');
    expect(planPath(4097)).to.equal('descriptor');
  });

  it('honours an override that can carry the length', function () {
    expect(planPath(100, 'mapped')).to.equal('mapped');
    expect(planPath(100, 'descriptor', 1)).to.equal('descriptor');
    expect(planPath(5000, 'descriptor')).to.equal('descriptor');
  });

  it('refuses an override that cannot', function () {
    expect(() => planPath(4097, 'mapped')).to.throw(RangeError, /at most 4096/);
    expect(() => planPath(4096, 'descriptor')).to.throw(RangeError, /at least 4097/);
    expect(() => planPath(10, 'other' as 'mapped')).to.throw(TypeError);
  });
});
