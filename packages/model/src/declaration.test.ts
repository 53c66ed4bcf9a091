import { expect } from 'chai';
import { DeclarationError, defineDevice, type DeviceDeclaration } from './declaration.js';

/** A small valid device: commands in on OUT 1, replies on IN 1, status on interrupt IN 2. */
function widget(): DeviceDeclaration {
  return {
    vendorId: 0x1209,
    productId: 0x0001,
    product: 'Widget',
    configurations: [
      {
        value: 1,
        interfaces: [
          {
            number: 0,
            alternates: [
              {
                setting: 0,
                class: 0xff,
                endpoints: [
                  { address: 0x01, type: 'bulk', packetSize: 512 },
                  { address: 0x81, type: 'bulk', packetSize: 512 },
                  { address: 0x82, type: 'interrupt', packetSize: 16, interval: 4 },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

/** `widget()` with one change, made by `edit` on a deep copy. */
function changed(edit: (d: any) => void): DeviceDeclaration {
  const copy = structuredClone(widget()) as any;
  edit(copy);
  return copy;
}

function refusal(declaration: DeviceDeclaration): DeclarationError {
  try {
    defineDevice(declaration);
  } catch (error) {
    expect(error).to.be.instanceOf(DeclarationError).and.instanceOf(TypeError);
    return error as DeclarationError;
  }
  throw new Error('the declaration was accepted');
}

const ENDPOINTS = 'configurations[0].interfaces[0].alternates[0].endpoints';

describe('defineDevice', function () {
  it('accepts a device that keeps USB\'s rules', function () {
    expect(defineDevice(widget()).declaration.product).to.equal('Widget');
  });

  it('names the field of a packet size the speed does not allow', function () {
    const bulk = refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[1].packetSize = 64)));
    expect(bulk.field).to.equal(`${ENDPOINTS}[1].packetSize`);
    expect(bulk.message).to.match(/high-speed bulk endpoint's packet size is 512, not 64/);
    const full = refusal(changed((d) => ((d.speed = 'full'), (d.configurations[0].interfaces[0].alternates[0].endpoints[0].packetSize = 512))));
    expect(full.message).to.match(/^configurations\[0\].*endpoints\[0\]\.packetSize: a full-speed bulk endpoint's packet size is 8, 16, 32, 64, not 512/);
    const interrupt = refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[2].packetSize = 2048)));
    expect(interrupt.field).to.equal(`${ENDPOINTS}[2].packetSize`);
  });

  it('refuses duplicate endpoints, interfaces, settings and configurations', function () {
    expect(refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[2].address = 0x81))).field).to.equal(`${ENDPOINTS}[2]`);
    expect(refusal(changed((d) => d.configurations.push(structuredClone(d.configurations[0])))).field).to.equal('configurations[1]');
    expect(refusal(changed((d) => d.configurations[0].interfaces.push(structuredClone(d.configurations[0].interfaces[0])))).field).to.equal(
      'configurations[0].interfaces[1]',
    );
    expect(refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].setting = 1))).message).to.match(/no setting 0/);
  });

  it('refuses addresses, types, intervals and handlers that are not USB\'s', function () {
    expect(refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[0].address = 0x80))).field).to.equal(`${ENDPOINTS}[0].address`);
    expect(refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[0].type = 'isochronous'))).message).to.match(
      /isochronous endpoints are not supported/,
    );
    expect(refusal(changed((d) => delete d.configurations[0].interfaces[0].alternates[0].endpoints[2].interval)).field).to.equal(`${ENDPOINTS}[2].interval`);
    expect(refusal(changed((d) => (d.configurations[0].interfaces[0].alternates[0].endpoints[0].interval = 1))).message).to.match(/only interrupt/);
    const inHandlerOnOut = changed(() => undefined) as any;
    inHandlerOnOut.configurations[0].interfaces[0].alternates[0].endpoints[0].in = () => undefined;
    expect(refusal(inHandlerOnOut).field).to.equal(`${ENDPOINTS}[0].in`);
  });

  it('refuses ids, values and strings out of range', function () {
    expect(refusal(changed((d) => (d.vendorId = 0x10000))).field).to.equal('vendorId');
    expect(refusal(changed((d) => (d.configurations[0].value = 0))).field).to.equal('configurations[0].value');
    expect(refusal(changed((d) => (d.product = 'x'.repeat(127)))).message).to.match(/^product: is 127 characters/);
    expect(refusal(changed((d) => (d.configurations = []))).field).to.equal('configurations');
  });
});
