import { expect } from 'chai';

/** Awaits `promise` and checks that it rejected with an instance of `type`. */
export async function expectRejection(promise: Promise<unknown>, type: abstract new (...args: never[]) => Error): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(type);
}
