/**
 * One property: random command sequences against one target, each run checked by {@link Run}
 * and bounded by a watchdog, so that a hang fails with the sequence instead of timing out mocha.
 */
import fc from 'fast-check';
import { missingReason, type Target } from '../conformance/target.js';
import { RUN_MS, within } from './bounded.js';
import { commandArbitrary } from './commands.js';
import type { ProcessGuard } from './process-guard.js';
import { Run } from './run.js';
import type { PropertySettings } from './settings.js';

export async function checkLoopbackProperty(target: Target, guard: ProcessGuard, chaos: boolean, settings: PropertySettings): Promise<void> {
  const commands = fc.commands([commandArbitrary({ chaos, disconnect: missingReason(target, 'disconnect') === null })], {
    maxCommands: settings.maxCommands,
    // Up to the maximum, not fast-check's small default: interleavings need length.
    size: 'max',
    ...(settings.replayPath === undefined ? {} : { replayPath: settings.replayPath }),
  });
  const property = fc.asyncProperty(commands, async (sequence) => {
    const run = new Run(target, guard);
    try {
      await within(
        RUN_MS,
        (async () => {
          await run.start();
          await fc.asyncModelRun(() => ({ model: run.model, real: run }), sequence);
          await run.finish();
        })(),
        () => `the run did not end; ${run.pending()}`,
      );
    } catch (error) {
      throw run.failure(error);
    } finally {
      await run.cleanup();
    }
  });
  await fc.assert(property, {
    numRuns: settings.numRuns,
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    ...(settings.path === undefined ? {} : { path: settings.path }),
    plugins: [fc.interruptAfterTimeLimit(settings.timeLimitMs)],
  });
}
