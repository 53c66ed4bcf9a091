// Builds the addon. On Linux it links the dext's host runtime, so that is built first when its
// archive is missing. `--if-missing` builds only when there is no addon yet (used by `npm test`).
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });
if (process.argv.includes('--if-missing') && existsSync(join(root, 'build/Release/dextio_native.node'))) process.exit(0);
if (process.platform === 'linux' && !existsSync(join(root, '../dext/build/libdextio_host.a'))) {
  run('npm --prefix ../dext run build');
}
run('node-gyp rebuild');
