/**
 * A target: a place where a gadget-zero-compatible device can be opened. The conformance suite
 * runs unchanged against every target; targets differ only in the features they declare.
 */
import type { Device, Pipe, Usb } from '@dextio/core';

/** What a target can do beyond the basics (open, descriptors, SourceSink IN). */
export type Feature =
  /** The Loopback function is reachable (its own configuration or interface). */
  | 'loopback'
  /** SourceSink OUT checks the pattern and halts on a mismatch. */
  | 'sink'
  /** Vendor control requests 0x5b (write) and 0x5c (read back). */
  | 'vendorControl'
  /** SET_FEATURE(ENDPOINT_HALT) from the host, then clearHalt. */
  | 'halt'
  /** A write with `zlp` reaches the device as a zero-length packet. */
  | 'zlp'
  /** The target can remove the device while transfers run, and bring it back. */
  | 'disconnect'
  /** Hotplug events arrive for a removal and a return. */
  | 'hotplug';

export const ALL_FEATURES: readonly Feature[] = ['loopback', 'sink', 'vendorControl', 'halt', 'zlp', 'disconnect', 'hotplug'];

/** Where one gadget-zero function lives on the device. */
export interface FunctionLocation {
  readonly configurationValue: number;
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  /** The bulk endpoints, where the function's are not the alternate setting's first IN/OUT pair. */
  readonly endpoints?: { readonly in: number; readonly out: number };
}

export interface GadgetZeroFixture {
  readonly usb: Usb;
  readonly device: Device;
  readonly sourceSink: FunctionLocation;
  readonly loopback: FunctionLocation;
}

export interface Target {
  readonly name: string;
  /** Features this target has; for each missing one, the reason printed when its cases skip. */
  readonly features: Readonly<Partial<Record<Feature, true | string>>>;
  /** Opens the device afresh; the suite closes it after each case. */
  open(): Promise<GadgetZeroFixture>;
  /**
   * A second, independent client of the same system (another backend instance), as another
   * process would be: it must see a device that the first holds as busy.
   */
  otherClient(): Promise<Usb>;
  /** With `disconnect`: removes the device as a cable pull would. */
  disconnect?(): Promise<void>;
  /** With `disconnect`: brings it back and resolves once it can be opened. */
  reconnect?(): Promise<void>;
  /** Checks that the target holds nothing after a case (open devices, live native objects). */
  leaks?(): Promise<string[]>;
  /** Releases the target after the whole suite. */
  dispose?(): Promise<void>;
}

/** The reason a feature is missing, or `null` when the target has it. */
export function missingReason(target: Target, feature: Feature): string | null {
  const entry = target.features[feature];
  if (entry === true) return null;
  return entry ?? `the ${target.name} target does not declare '${feature}'`;
}

/** A function's device and its two bulk pipes. */
export interface OpenFunction {
  readonly device: Device;
  readonly in: Pipe;
  readonly out: Pipe;
}

/**
 * Selects the configuration of a function of an opened fixture, claims its interface and opens its
 * bulk pipes. Targets put the functions on different endpoints: the location names them where
 * they are not the alternate setting's first bulk pair.
 */
export async function openFunction(fixture: GadgetZeroFixture, which: 'sourceSink' | 'loopback'): Promise<OpenFunction> {
  const { device } = fixture;
  const location = fixture[which];
  if (device.configuration?.configurationValue !== location.configurationValue) {
    await device.selectConfiguration(location.configurationValue);
  }
  await device.claimInterface(location.interfaceNumber);
  if (location.alternateSetting !== 0) {
    await device.selectAlternateInterface(location.interfaceNumber, location.alternateSetting);
  }
  const endpoints = device.alternate(location.interfaceNumber).endpoints.filter((e) => e.type === 'bulk');
  const find = (direction: 'in' | 'out') => {
    const wanted = location.endpoints?.[direction];
    const endpoint = endpoints.find((e) => e.direction === direction && (wanted ?? e.endpointNumber) === e.endpointNumber);
    if (!endpoint) throw new Error(`${which} has no bulk ${direction.toUpperCase()} endpoint in interface ${location.interfaceNumber}`);
    return endpoint.endpointNumber;
  };
  return { device, in: await device.openPipe('in', find('in')), out: await device.openPipe('out', find('out')) };
}
