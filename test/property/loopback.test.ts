/**
 * Property-based tests of Loopback over the public API, on each target of `DEXTIO_TARGET`
 * (default `fake,embedded`). See README.md beside this file for the invariants and how to replay a
 * failure.
 */
import { missingReason, type Target } from '../conformance/target.js';
import { createTarget } from '../targets/index.js';
import { RUN_MS } from './bounded.js';
import { ProcessGuard } from './process-guard.js';
import { checkLoopbackProperty } from './property.js';
import { propertySettings, propertyTargets } from './settings.js';

for (const name of propertyTargets()) {
  describe(`Loopback properties on the ${name} target`, function () {
    let target: Target;
    const guard = new ProcessGuard();
    const settings = propertySettings(name);

    before(async function () {
      target = await createTarget(name);
      const reason = missingReason(target, 'loopback');
      if (reason !== null) {
        console.log(`      skipped on ${name}: ${reason}`);
        this.skip();
      }
    });

    after(async function () {
      await target?.dispose?.();
    });

    const properties = [
      { chaos: false, title: 'echoes every write to its read, in call order, over any mix of paths, streams and writeFrom' },
      { chaos: true, title: 'fails only with typed errors, settles, and leaks nothing when cancelled, closed or unplugged at any point' },
    ];
    for (const { chaos, title } of properties) {
      it(title, async function () {
        // Shrinking may run right up to the time limit, and then one more run.
        this.timeout(settings.timeLimitMs + 2 * RUN_MS);
        guard.install();
        try {
          await checkLoopbackProperty(target, guard, chaos, settings);
        } finally {
          guard.uninstall();
        }
      });
    }
  });
}
