#!/usr/bin/env bash
# Installs dextio as a user would and uses it: the packed tarballs of every package go into an
# empty project with a plain `npm install`, then `npx dextio bench --backend dext` runs there, and
# a small TypeScript program with the documented imports is type-checked with tsc and run.
# Needs the addon's prebuild for this platform (npm run prebuild -w @dextio/native).
#
#   bash test/install/check.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ls "$REPO"/packages/native/prebuilds/*/*.node >/dev/null 2>&1 ||
  { echo "install check: no prebuild of the addon; run npm run prebuild -w @dextio/native" >&2; exit 1; }

mkdir "$WORK/tarballs" "$WORK/app"
(cd "$REPO" && npm pack --silent -w @dextio/core -w @dextio/native -w @dextio/dext -w @dextio/model --pack-destination "$WORK/tarballs" >/dev/null)
echo "install check: packed $(cd "$WORK/tarballs" && echo *.tgz)"

cd "$WORK/app"
cat > package.json <<'JSON'
{ "name": "dextio-install-check", "private": true, "type": "module" }
JSON
npm install --no-audit --no-fund --loglevel=error "$WORK"/tarballs/*.tgz typescript@~5.9.3 @types/node@^20

echo "install check: npx dextio bench --backend dext"
npx dextio bench --backend dext --sizes 512,4096,4097,65536 --transfer-sizes 512,65536 --bytes 262144

cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "outDir": "dist", "types": ["node"], "skipLibCheck": false
  },
  "files": ["main.ts"]
}
JSON
# The imports and calls of the Getting started guide.
cat > main.ts <<'TS'
import { Usb, dext, type InResult } from '@dextio/core';
import { defineDevice, ModelBackend } from '@dextio/model';
import { firstValueFrom, lastValueFrom, reduce, take } from 'rxjs';

// A model device in this process, as a test of an app would use one.
const echo = defineDevice({
  vendorId: 0x1209,
  productId: 0x0002,
  configurations: [{ value: 1, interfaces: [{ number: 0, alternates: [{ setting: 0, endpoints: [
    { address: 0x01, type: 'bulk', packetSize: 512, out: (data, device) => device.send(0x81, data) },
    { address: 0x81, type: 'bulk', packetSize: 512 },
  ] }] }] }],
});
const models = new ModelBackend();
models.attach(echo);
const modelDevice = await new Usb(models).open({ vendorId: 0x1209, productId: 0x0002 });
await modelDevice.claimInterface(0);
const echoed = (await modelDevice.openPipe('in', 1)).transferIn(512);
await (await modelDevice.openPipe('out', 1)).transferOut(Uint8Array.of(1, 2, 3));
console.log(`the model echoed ${(await echoed).data.length} bytes`);
await modelDevice.close();

const usb = new Usb(await dext());
const device = await usb.open({ vendorId: 0x0525, productId: 0xa4a0 });
try {
  await device.claimInterface(0);
  const source = await device.openPipe('in', 1);
  const first: InResult = await firstValueFrom(source.read(512));
  const bytes = await lastValueFrom(
    source.stream({ transferSize: 65536, inFlight: 4 }).pipe(take(16), reduce((sum, chunk) => sum + chunk.length, 0)),
  );
  console.log(`read ${first.data.length} bytes on the ${first.path} path, then streamed ${bytes}`);
  if (first.data.length !== 512 || bytes !== 16 * 65536) process.exitCode = 1;
} finally {
  await device.close();
}
TS
echo "install check: tsc"
npx tsc -p tsconfig.json
node dist/main.js
echo "install check: passed"
