/**
 * The sensor's model: what the device does, declared with @dextio/model. Its tests run against
 * this model in process; on a bench, against the real sensor.
 *
 * - Bulk OUT 0x01 takes a command, one ASCII line: `READ` (the temperature), `ALARM <celsius>`
 *   (the alarm threshold). Anything else stalls the endpoint.
 * - Bulk IN 0x81 sends the reply: `T=21.5`, `OK`.
 * - Interrupt IN 0x82 reports the status every 8 ms: byte 0 the alarm flag, bytes 1-2 the
 *   temperature in tenths of a degree (little endian).
 */
import { defineDevice, type DeviceContext } from '@dextio/model';

interface SensorState {
  /** Tenths of a degree; the model warms up by a tenth on every reading. */
  tenths: number;
  alarmAt: number;
}

type Context = DeviceContext<SensorState>;

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const reply = (device: Context, line: string) => device.send(0x81, new TextEncoder().encode(line));

function command(data: Uint8Array, device: Context): void | 'stall' {
  const [verb, argument] = text(data).trim().split(' ');
  if (verb === 'READ' && argument === undefined) return reply(device, `T=${(device.data.tenths / 10).toFixed(1)}`);
  if (verb === 'ALARM' && argument !== undefined && Number.isFinite(Number(argument))) {
    device.data.alarmAt = Math.round(Number(argument) * 10);
    return reply(device, 'OK');
  }
  return 'stall';
}

function status(_length: number, device: Context): Uint8Array {
  const tenths = device.data.tenths++;
  return Uint8Array.of(tenths >= device.data.alarmAt ? 1 : 0, tenths & 0xff, tenths >> 8);
}

export const sensor = defineDevice<SensorState>({
  vendorId: 0x1209,
  productId: 0x5e50,
  manufacturer: 'Example Instruments',
  product: 'USB Sensor',
  data: () => ({ tenths: 215, alarmAt: 300 }),
  configurations: [
    {
      value: 1,
      interfaces: [
        {
          number: 0,
          alternates: [
            {
              setting: 0,
              endpoints: [
                { address: 0x01, type: 'bulk', packetSize: 512, out: command },
                { address: 0x81, type: 'bulk', packetSize: 512 },
                { address: 0x82, type: 'interrupt', packetSize: 8, interval: 4, in: status },
              ],
            },
          ],
        },
      ],
    },
  ],
});
