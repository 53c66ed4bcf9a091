/**
 * The targets the conformance suite can run against, chosen with `DEXTIO_TARGET`
 * (a comma-separated list; default `fake`).
 */
import type { Target } from '../conformance/target.js';
import { embeddedTarget } from './embedded/target.js';
import { fakeTarget } from './fake/target.js';
import { libusbTarget } from './libusb/target.js';

const factories: Record<string, () => Promise<Target>> = {
  embedded: embeddedTarget,
  fake: async () => fakeTarget(),
  libusb: libusbTarget,
};

export function targetNames(): string[] {
  const names = (process.env['DEXTIO_TARGET'] ?? 'fake').split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!factories[name]) throw new Error(`unknown DEXTIO_TARGET '${name}'; known: ${Object.keys(factories).join(', ')}`);
  }
  return names;
}

export function createTarget(name: string): Promise<Target> {
  return factories[name]!();
}
