import { createTarget, targetNames } from '../targets/index.js';
import { describeConformance } from './suite.js';

for (const name of targetNames()) describeConformance(name, () => createTarget(name));
