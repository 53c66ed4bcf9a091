import { expect } from 'chai';
import { Fifo } from './fifo.js';

describe('Fifo', function () {
  it('keeps order across growth and wrap-around', function () {
    const fifo = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    // Pushes and shifts in uneven runs, so the ring wraps and grows several times.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < (round % 7) + 3; i++) {
        fifo.push(next);
        model.push(next++);
      }
      for (let i = 0; i < (round % 5) + 1; i++) expect(fifo.shift()).to.equal(model.shift());
      expect(fifo.size).to.equal(model.length);
      expect(fifo.peek()).to.equal(model[0]);
    }
    expect(fifo.takeAll()).to.deep.equal(model);
    expect(fifo.size).to.equal(0);
    expect(fifo.shift()).to.equal(undefined);
    expect(fifo.peek()).to.equal(undefined);
  });

  it('removes an item from the middle, the front or the back, and nothing absent', function () {
    const fifo = new Fifo<string>();
    for (let i = 0; i < 14; i++) fifo.shift(), fifo.push('x'); // the head sits near the ring's end
    fifo.takeAll();
    for (const item of ['a', 'b', 'c', 'd', 'e']) fifo.push(item);
    expect(fifo.remove('c')).to.equal(true);
    expect(fifo.remove('a')).to.equal(true);
    expect(fifo.remove('e')).to.equal(true);
    expect(fifo.remove('z')).to.equal(false);
    expect(fifo.takeAll()).to.deep.equal(['b', 'd']);
  });
});
