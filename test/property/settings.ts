/**
 * How hard the properties push, from environment variables, so that a failure seen once can be
 * replayed and a long soak can run without editing code.
 *
 * - `DEXTIO_TARGET`: targets, comma-separated (default here `fake,embedded`).
 * - `DEXTIO_PROPERTY_RUNS`: runs per property and target (default 100 on fake, 30 elsewhere:
 *   the embedded target is the whole native stack, and CI machines have two cores).
 * - `DEXTIO_PROPERTY_COMMANDS`: the most commands in one run (default 30).
 * - `DEXTIO_PROPERTY_SEED`, `DEXTIO_PROPERTY_PATH` and `DEXTIO_PROPERTY_REPLAY`: replay a failure
 *   from the seed and path it printed and the `replayPath` in its counterexample's comment.
 * - `DEXTIO_PROPERTY_TIME_MS`: the time one property may take on one target, shrinking included;
 *   past it fast-check stops and reports what it has (default 25 s).
 */
import { targetNames } from '../targets/index.js';

export interface PropertySettings {
  readonly numRuns: number;
  readonly maxCommands: number;
  readonly seed?: number;
  readonly path?: string;
  /** fast-check's `replayPath` of the command sequence. */
  readonly replayPath?: string;
  readonly timeLimitMs: number;
}

export function propertyTargets(): string[] {
  return process.env['DEXTIO_TARGET'] ? targetNames() : ['fake', 'embedded'];
}

export function propertySettings(targetName: string): PropertySettings {
  const env = process.env;
  const seed = integer('DEXTIO_PROPERTY_SEED');
  const path = env['DEXTIO_PROPERTY_PATH'];
  const replayPath = env['DEXTIO_PROPERTY_REPLAY'];
  return {
    numRuns: integer('DEXTIO_PROPERTY_RUNS') ?? (targetName === 'fake' ? 100 : 30),
    maxCommands: integer('DEXTIO_PROPERTY_COMMANDS') ?? 30,
    timeLimitMs: integer('DEXTIO_PROPERTY_TIME_MS') ?? 25_000,
    ...(seed === undefined ? {} : { seed }),
    ...(path ? { path } : {}),
    ...(replayPath ? { replayPath } : {}),
  };
}

function integer(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, not ${text}`);
  return value;
}
