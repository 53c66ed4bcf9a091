import { expect } from 'chai';
import {
  AbortedError,
  AccessError,
  ClosedError,
  DisconnectedError,
  errorForStatus,
  OverflowError,
  StallError,
  TimeoutError,
  UsbError,
} from './errors.js';

describe('errorForStatus', function () {
  const cases = [
    ['stall', StallError],
    ['babble', OverflowError],
    ['timeout', TimeoutError],
    ['aborted', AbortedError],
    ['disconnected', DisconnectedError],
    ['access', AccessError],
  ] as const;

  for (const [status, ErrorClass] of cases) {
    it(`maps '${status}' to ${ErrorClass.name}`, function () {
      const error = errorForStatus(status);
      expect(error).to.be.instanceOf(ErrorClass);
      expect(error).to.be.instanceOf(UsbError);
      expect(error.name).to.equal(ErrorClass.name);
      expect(error.message).to.be.a('string').and.not.empty;
    });
  }

  it("keeps the backend's message for 'error'", function () {
    const error = errorForStatus('error', 'LIBUSB_ERROR_IO');
    expect(error.constructor).to.equal(UsbError);
    expect(error.message).to.equal('LIBUSB_ERROR_IO');
  });

  it('makes use after close a TypeError, not a USB failure', function () {
    const error = new ClosedError('closed');
    expect(error).to.be.instanceOf(TypeError);
    expect(error).not.to.be.instanceOf(UsbError);
  });
});
