/**
 * A USB device declared in TypeScript: its descriptors and its behaviour. {@link defineDevice}
 * checks a declaration against USB's rules before anything runs.
 *
 * @module
 */

/** The bus speed the device runs at: it decides which packet sizes and intervals are legal. */
export type Speed = 'full' | 'high';

/** What an OUT handler, an IN producer or a control handler can do to the device while it runs. */
export interface DeviceContext<S = undefined> {
  /** This device's own state, as the declaration's `data` made it when the device was plugged in. */
  readonly data: S;
  /** Queues `data` on IN endpoint `address`, to be sent in packets as the host reads. */
  send(address: number, data: Uint8Array): void;
  /** Halts endpoint `address`: its transfers end with a stall until the host clears it. */
  stall(address: number): void;
  /** The configuration the host selected (`bConfigurationValue`), or null before it did. */
  readonly configuration: number | null;
  /** The alternate setting of interface `interfaceNumber`. */
  alternate(interfaceNumber: number): number;
  /** The answer the model gives a standard request by itself (descriptors, endpoint halts), or a stall. */
  standard(request: ControlRequest): ControlReply;
}

/** A control request, as the device receives it. */
export interface ControlRequest {
  /** The data stage's direction: `'in'` is device to host. */
  readonly direction: 'in' | 'out';
  /** The type bits of bmRequestType. */
  readonly requestType: 'standard' | 'class' | 'vendor';
  /** The recipient bits of bmRequestType. */
  readonly recipient: 'device' | 'interface' | 'endpoint' | 'other';
  /** bRequest. */
  readonly request: number;
  /** wValue. */
  readonly value: number;
  /** wIndex. */
  readonly index: number;
  /** wLength: for IN, the most the host takes. */
  readonly length: number;
  /** OUT: the data stage. */
  readonly data: Uint8Array;
}

/** A control handler's answer: the IN data stage (cut to wLength), `'ok'` for OUT, or a stall. */
export type ControlReply = Uint8Array | 'ok' | 'stall';

/** A bulk or interrupt endpoint, and what the device does with its transfers. */
export interface EndpointDeclaration<S = undefined> {
  /** bEndpointAddress: the number, 1 to 15, with 0x80 for IN. */
  readonly address: number;
  /** The transfer type; isochronous endpoints are not supported. */
  readonly type: 'bulk' | 'interrupt';
  /** wMaxPacketSize. High speed: bulk 512, interrupt 1 to 1024. Full speed: bulk 8, 16, 32 or 64, interrupt 1 to 64. */
  readonly packetSize: number;
  /** bInterval, interrupt endpoints only: 1 to 16 at high speed (2^(n-1) microframes), 1 to 255 ms at full speed. */
  readonly interval?: number;
  /** OUT endpoints: called with each transfer's data; `'stall'` halts the endpoint. */
  readonly out?: (data: Uint8Array, device: DeviceContext<S>) => void | 'stall';
  /**
   * IN endpoints: called when the host reads and nothing is queued; returns what to send (the
   * backend splits it into packets), or undefined to send nothing yet (the host's read waits).
   */
  readonly in?: (length: number, device: DeviceContext<S>) => Uint8Array | undefined;
}

/** One alternate setting of an interface. */
export interface AlternateDeclaration<S = undefined> {
  /** bAlternateSetting. */
  readonly setting: number;
  /** bInterfaceClass; 0xff (vendor specific) unless given. */
  readonly class?: number;
  /** bInterfaceSubClass. */
  readonly subclass?: number;
  /** bInterfaceProtocol. */
  readonly protocol?: number;
  /** iInterface's string. */
  readonly name?: string;
  /** Its endpoints, endpoint 0 excluded. */
  readonly endpoints: readonly EndpointDeclaration<S>[];
}

/** An interface and its alternate settings. */
export interface InterfaceDeclaration<S = undefined> {
  /** bInterfaceNumber. */
  readonly number: number;
  /** Setting 0 first; every interface has one. */
  readonly alternates: readonly AlternateDeclaration<S>[];
}

/** A configuration and its interfaces. */
export interface ConfigurationDeclaration<S = undefined> {
  /** bConfigurationValue, 1 to 255. */
  readonly value: number;
  /** iConfiguration's string. */
  readonly name?: string;
  /** Its interfaces. */
  readonly interfaces: readonly InterfaceDeclaration<S>[];
}

/**
 * A whole device: its descriptors and its behaviour. `S` is the type of the device's own state,
 * which `data` makes and the handlers get as `device.data`.
 */
export interface DeviceDeclaration<S = undefined> {
  /** idVendor. */
  readonly vendorId: number;
  /** idProduct. */
  readonly productId: number;
  /** bcdDevice; 0x0100 unless given. */
  readonly deviceVersion?: number;
  /** High speed unless given. */
  readonly speed?: Speed;
  /** bDeviceClass; 0 (defined per interface) unless given. */
  readonly class?: number;
  /** bDeviceSubClass. */
  readonly subclass?: number;
  /** bDeviceProtocol. */
  readonly protocol?: number;
  /** iManufacturer's string. */
  readonly manufacturer?: string;
  /** iProduct's string. */
  readonly product?: string;
  /** iSerialNumber's string (ModelBackend.attach can give each device its own). */
  readonly serialNumber?: string;
  /** Its configurations; the first is selected when the device is plugged in, as an operating system does. */
  readonly configurations: readonly ConfigurationDeclaration<S>[];
  /**
   * Every control request on endpoint 0. Return undefined to let the model answer: the standard
   * requests it knows (descriptors, endpoint halts), a stall for anything else.
   */
  readonly control?: (request: ControlRequest, device: DeviceContext<S>) => ControlReply | undefined;
  /** Makes the device's own state (`device.data` in the handlers), each time it is plugged in. */
  readonly data?: () => S;
}

/** A declaration that breaks USB's rules. The message starts with the field's path. */
export class DeclarationError extends TypeError {
  /** Always `'DeclarationError'`. */
  override name = 'DeclarationError';
  constructor(
    /** Where in the declaration, e.g. `configurations[0].interfaces[0].alternates[0].endpoints[1].packetSize`. */
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** A checked declaration, ready for a backend to run. */
export interface DeviceModel<S = unknown> {
  /** The declaration, as given. */
  readonly declaration: DeviceDeclaration<S>;
}

const STRING_MAX = 126; // a string descriptor holds 126 UTF-16 code units (bLength is one byte)

/**
 * Checks `declaration` against USB's rules and returns the model to run.
 *
 * @throws DeclarationError naming the first field that breaks a rule.
 */
export function defineDevice<S = undefined>(declaration: DeviceDeclaration<S>): DeviceModel<S> {
  check(declaration as DeviceDeclaration<unknown>);
  return { declaration };
}

function integer(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DeclarationError(field, `must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
}

function optionalInteger(field: string, value: unknown, min: number, max: number): void {
  if (value !== undefined) integer(field, value, min, max);
}

function text(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new DeclarationError(field, `must be a string, not ${typeof value}`);
  if (value.length > STRING_MAX) throw new DeclarationError(field, `is ${value.length} characters; a string descriptor holds ${STRING_MAX}`);
}

function unique<T>(field: string, values: readonly T[], what: string): void {
  const seen = new Set<T>();
  values.forEach((value, i) => {
    if (seen.has(value)) throw new DeclarationError(`${field}[${i}]`, `${what} ${String(value)} appears twice`);
    seen.add(value);
  });
}

function check(d: DeviceDeclaration<unknown>): void {
  if (typeof d !== 'object' || d === null) throw new DeclarationError('device', 'must be an object');
  integer('vendorId', d.vendorId, 0, 0xffff);
  integer('productId', d.productId, 0, 0xffff);
  optionalInteger('deviceVersion', d.deviceVersion, 0, 0xffff);
  optionalInteger('class', d.class, 0, 0xff);
  optionalInteger('subclass', d.subclass, 0, 0xff);
  optionalInteger('protocol', d.protocol, 0, 0xff);
  if (d.speed !== undefined && d.speed !== 'full' && d.speed !== 'high') {
    throw new DeclarationError('speed', `must be 'full' or 'high', not ${String(d.speed)}`);
  }
  text('manufacturer', d.manufacturer);
  text('product', d.product);
  text('serialNumber', d.serialNumber);
  if (d.control !== undefined && typeof d.control !== 'function') throw new DeclarationError('control', 'must be a function');
  if (d.data !== undefined && typeof d.data !== 'function') throw new DeclarationError('data', 'must be a function that makes the state');
  if (!Array.isArray(d.configurations) || d.configurations.length === 0) {
    throw new DeclarationError('configurations', 'must list at least one configuration');
  }
  const speed = d.speed ?? 'high';
  d.configurations.forEach((c, ci) => {
    const at = `configurations[${ci}]`;
    integer(`${at}.value`, c.value, 1, 255);
    text(`${at}.name`, c.name);
    if (!Array.isArray(c.interfaces) || c.interfaces.length === 0) throw new DeclarationError(`${at}.interfaces`, 'must list at least one interface');
    c.interfaces.forEach((i: InterfaceDeclaration<unknown>, ii: number) => checkInterface(`${at}.interfaces[${ii}]`, i, speed));
    unique(`${at}.interfaces`, c.interfaces.map((i: InterfaceDeclaration<unknown>) => i.number), 'interface number');
  });
  unique('configurations', d.configurations.map((c) => c.value), 'configuration value');
}

function checkInterface(at: string, i: InterfaceDeclaration<unknown>, speed: Speed): void {
  integer(`${at}.number`, i.number, 0, 255);
  if (!Array.isArray(i.alternates) || i.alternates.length === 0) throw new DeclarationError(`${at}.alternates`, 'must list at least setting 0');
  i.alternates.forEach((a, ai) => {
    const aat = `${at}.alternates[${ai}]`;
    integer(`${aat}.setting`, a.setting, 0, 255);
    optionalInteger(`${aat}.class`, a.class, 0, 0xff);
    optionalInteger(`${aat}.subclass`, a.subclass, 0, 0xff);
    optionalInteger(`${aat}.protocol`, a.protocol, 0, 0xff);
    text(`${aat}.name`, a.name);
    if (!Array.isArray(a.endpoints)) throw new DeclarationError(`${aat}.endpoints`, 'must be an array');
    a.endpoints.forEach((e: EndpointDeclaration<unknown>, ei: number) => checkEndpoint(`${aat}.endpoints[${ei}]`, e, speed));
    unique(`${aat}.endpoints`, a.endpoints.map((e: EndpointDeclaration<unknown>) => e.address), 'endpoint address');
  });
  unique(`${at}.alternates`, i.alternates.map((a) => a.setting), 'alternate setting');
  if (!i.alternates.some((a) => a.setting === 0)) throw new DeclarationError(`${at}.alternates`, 'has no setting 0, which every interface starts in');
}

function checkEndpoint(at: string, e: EndpointDeclaration<unknown>, speed: Speed): void {
  integer(`${at}.address`, e.address, 0, 0xff);
  const number = e.address & 0x0f;
  if ((e.address & 0x70) !== 0 || number === 0) {
    throw new DeclarationError(`${at}.address`, `0x${e.address.toString(16)} is not an endpoint address: 0x01 to 0x0f OUT, 0x81 to 0x8f IN (endpoint 0 is control)`);
  }
  const isIn = (e.address & 0x80) !== 0;
  if (e.type !== 'bulk' && e.type !== 'interrupt') {
    throw new DeclarationError(`${at}.type`, `must be 'bulk' or 'interrupt', not ${String(e.type)} (isochronous endpoints are not supported)`);
  }
  if (e.type === 'bulk') {
    const legal = speed === 'high' ? [512] : [8, 16, 32, 64];
    if (!legal.includes(e.packetSize)) {
      throw new DeclarationError(`${at}.packetSize`, `a ${speed}-speed bulk endpoint's packet size is ${legal.join(', ')}, not ${String(e.packetSize)}`);
    }
    if (e.interval !== undefined) throw new DeclarationError(`${at}.interval`, 'only interrupt endpoints have an interval');
  } else {
    integer(`${at}.packetSize`, e.packetSize, 1, speed === 'high' ? 1024 : 64);
    integer(`${at}.interval`, e.interval, 1, speed === 'high' ? 16 : 255);
  }
  if (e.out !== undefined && (isIn || typeof e.out !== 'function')) {
    throw new DeclarationError(`${at}.out`, isIn ? 'an IN endpoint has no OUT handler (use in)' : 'must be a function');
  }
  if (e.in !== undefined && (!isIn || typeof e.in !== 'function')) {
    throw new DeclarationError(`${at}.in`, !isIn ? 'an OUT endpoint has no IN producer (use out)' : 'must be a function');
  }
}
