/**
 * The app's module that talks to the sensor: what your application would ship. It takes a Device
 * from @dextio/core and knows nothing of where it came from (the model, or the real sensor).
 */
import { StallError, type Device, type Pipe } from '@dextio/core';
import { map, type Observable } from 'rxjs';

export interface SensorStatus {
  readonly alarm: boolean;
  readonly celsius: number;
}

export class Sensor {
  private constructor(
    private readonly commands: Pipe,
    private readonly replies: Pipe,
    private readonly statusPipe: Pipe,
  ) {}

  /** Claims the sensor's interface and opens its pipes. */
  static async on(device: Device): Promise<Sensor> {
    await device.claimInterface(0);
    return new Sensor(await device.openPipe('out', 1), await device.openPipe('in', 1), await device.openPipe('in', 2));
  }

  /** Sends one command and returns the sensor's reply; a command it refuses throws StallError. */
  async command(line: string): Promise<string> {
    const sent = await this.commands.transferOut(new TextEncoder().encode(line));
    if (sent.status === 'stall') {
      await this.commands.clearHalt();
      throw new StallError(`the sensor refused '${line}'`);
    }
    // The sensor holds its reply until the host reads it.
    const reply = await this.replies.transferIn(512, { timeout: 1000 });
    return new TextDecoder().decode(reply.data);
  }

  /** The temperature, in degrees Celsius. */
  async temperature(): Promise<number> {
    const reply = await this.command('READ');
    const match = /^T=(-?\d+(\.\d+)?)$/.exec(reply);
    if (!match) throw new Error(`unexpected reply '${reply}'`);
    return Number(match[1]);
  }

  /** Sets the alarm threshold. */
  async alarmAt(celsius: number): Promise<void> {
    const reply = await this.command(`ALARM ${celsius}`);
    if (reply !== 'OK') throw new Error(`unexpected reply '${reply}'`);
  }

  /** The status reports, as they come; unsubscribing stops reading them. */
  status(): Observable<SensorStatus> {
    return this.statusPipe.stream({ transferSize: 8, inFlight: 2 }).pipe(
      map((bytes) => ({ alarm: bytes[0] === 1, celsius: (bytes[1]! | (bytes[2]! << 8)) / 10 })),
    );
  }
}
