import { expect } from 'chai';
import { cpuSince, cpuTimes, threadGroup } from './threads.js';

describe('bench per-thread CPU', function () {
  it('groups threads by the names the host runtime gives them', function () {
    expect(threadGroup(100, 100, 'node')).to.equal('js');
    expect(threadGroup(101, 100, 'dext Default')).to.equal('dext');
    expect(threadGroup(102, 100, 'dextio-bus')).to.equal('bus');
    expect(threadGroup(103, 100, 'notifications')).to.equal('other');
  });

  it('counts this thread\'s own CPU time as the JavaScript thread\'s', function () {
    if (process.platform !== 'linux') this.skip();
    const before = cpuTimes();
    const until = performance.now() + 30;
    while (performance.now() < until);
    const spent = cpuSince(before);
    expect(spent.js).to.be.above(20e6); // nanoseconds
    expect(spent.dext + spent.bus).to.be.below(spent.js);
  });
});
