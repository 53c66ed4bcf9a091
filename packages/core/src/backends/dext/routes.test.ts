import { expect } from 'chai';
import { RouteTable, type Route } from './routes.js';

describe('dext RouteTable', function () {
  it('gives tags unique among those in flight, and routes each once', function () {
    const table = new RouteTable();
    const seen: number[] = [];
    const route = (n: number): Route => () => seen.push(n);
    const inFlight = new Map<number, number>();
    for (let n = 0; n < 5000; n++) {
      const tag = table.add(route(n));
      expect(inFlight.has(tag)).to.equal(false);
      expect(Number.isSafeInteger(tag) && tag > 0).to.equal(true);
      inFlight.set(tag, n);
      // Complete an older one now and then, so that entries are reused.
      if (n % 3 === 0) {
        const [oldest, which] = inFlight.entries().next().value as [number, number];
        inFlight.delete(oldest);
        table.take(oldest)!(0, 0);
        expect(seen.at(-1)).to.equal(which);
      }
    }
    expect(table.size).to.equal(inFlight.size);
    expect(table.takeAll()).to.have.length(inFlight.size);
    expect(table.size).to.equal(0);
  });

  it('finds nothing for a stale tag whose entry was reused', function () {
    const table = new RouteTable();
    const first = table.add(() => undefined);
    expect(table.take(first)).to.be.a('function');
    const second = table.add(() => undefined);
    expect(second).to.not.equal(first);
    expect(table.take(first)).to.equal(null);
    expect(table.take(second)).to.be.a('function');
    expect(table.take(second)).to.equal(null);
  });
});
