import { expect } from 'chai';
import { SlotPool } from './slot-pool.js';

describe('SlotPool', function () {
  it('hands out the lowest free slot first and takes slots back', function () {
    const pool = new SlotPool(3);
    const taken: number[] = [];
    pool.take((slot) => taken.push(slot));
    pool.take((slot) => taken.push(slot));
    expect(taken).to.deep.equal([0, 1]);
    expect(pool.freeCount).to.equal(1);
    pool.release(0);
    expect(pool.freeCount).to.equal(2);
  });

  it('makes callers wait in order when every slot is out', function () {
    const pool = new SlotPool(1);
    const order: string[] = [];
    pool.take(() => order.push('first'));
    pool.take((slot) => order.push(`second:${slot}`));
    pool.take((slot) => order.push(`third:${slot}`));
    expect(order).to.deep.equal(['first']);
    pool.release(0);
    expect(order).to.deep.equal(['first', 'second:0']);
    pool.release(0);
    expect(order).to.deep.equal(['first', 'second:0', 'third:0']);
  });

  it('lets a waiter give up, and hands its turn to the next', function () {
    const pool = new SlotPool(1);
    const got: string[] = [];
    pool.take(() => undefined);
    const giveUp = pool.take(() => got.push('gave up'));
    pool.take(() => got.push('next'));
    giveUp();
    pool.release(0);
    expect(got).to.deep.equal(['next']);
  });

  it('returns the waiters it drops so they can be failed', function () {
    const pool = new SlotPool(1);
    pool.take(() => undefined);
    pool.take(() => undefined);
    expect(pool.clearWaiters()).to.have.length(1);
    pool.release(0);
    expect(pool.freeCount).to.equal(1);
  });
});
