import { expect } from 'chai';
import { AccessError, DisconnectedError, UsbError } from '../../errors.js';
import { callError, completionStatus } from './status.js';

describe('libusb status', function () {
  it('maps call errors to the typed errors, with a hint where one helps', function () {
    expect(callError('open', { errno: -4, message: 'LIBUSB_ERROR_NO_DEVICE' })).to.be.instanceOf(DisconnectedError);
    expect(callError('claim', { errno: -6, message: 'LIBUSB_ERROR_BUSY' })).to.be.instanceOf(AccessError);
    expect(callError('open', { errno: -3, message: 'LIBUSB_ERROR_ACCESS' })).to.be.instanceOf(AccessError);
    const windows = callError('open device', { errno: -12, message: 'LIBUSB_ERROR_NOT_SUPPORTED' });
    expect(windows).to.be.instanceOf(AccessError);
    expect(windows.message).to.match(/WinUSB/).and.match(/Zadig/);
    const other = callError('open', { errno: -99, message: 'LIBUSB_ERROR_OTHER' });
    expect(other).to.be.instanceOf(UsbError).and.not.instanceOf(AccessError);
  });

  it('maps transfer outcomes to the contract\'s statuses', function () {
    expect(completionStatus(undefined)).to.equal('ok');
    expect(completionStatus({ errno: 4 })).to.equal('stall');
    expect(completionStatus({ errno: 6 })).to.equal('babble');
    expect(completionStatus({ errno: -4 })).to.equal('disconnected');
    expect(completionStatus({ errno: -3 })).to.equal('access');
  });
});
