// Tests of the iig generator: the names dext code relies on, and what it refuses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const iig = join(here, 'iig.mjs');
const hostInclude = join(here, '..', 'include');

function generate(source) {
  const dir = mkdtempSync(join(tmpdir(), 'iig-'));
  try {
    const def = join(dir, 'Sample.iig');
    writeFileSync(def, source);
    execFileSync(process.execPath, [iig, '--def', def, '--header', join(dir, 'Sample.h'), '--impl',
      join(dir, 'Sample.iig.cpp'), '--remote-headers', hostInclude], { stdio: 'pipe' });
    return { header: readFileSync(join(dir, 'Sample.h'), 'utf8'), impl: readFileSync(join(dir, 'Sample.iig.cpp'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sample = `#include <DriverKit/IOService.iig>
#include <USBDriverKit/IOUSBHostPipe.iig>
class Sample : public IOService
{
public:
    virtual bool init() override;
    virtual kern_return_t Start(IOService *provider) override;
    virtual void ReadComplete(OSAction *action TARGET, IOReturn status, uint32_t actualByteCount,
                              uint64_t completionTimestamp) TYPE(IOUSBHostPipe::CompleteAsyncIO);
    void Helper(const char name[16]) LOCALONLY;
};
`;

test('emits the names DriverKit code uses', () => {
  const { header, impl } = generate(sample);
  assert.match(header, /#include <DriverKit\/IOService\.h>  \/\* \.iig include \*\//);
  assert.match(header, /#define Sample_Start_Args IOService \*provider/);
  assert.match(header, /#define Sample_ReadComplete_ID 0x[0-9a-f]{16}ULL/);
  assert.match(header, /#define Sample_ReadComplete_Args OSAction \*action, IOReturn status, uint32_t actualByteCount, uint64_t completionTimestamp/);
  assert.match(header, /using super = IOService;/);
  assert.match(header, /Sample_IVars \*ivars;/);
  assert.match(header, /kern_return_t Start_Impl\(IOService_Start_Args\);/);
  assert.match(header, /void ReadComplete_Impl\(Sample_ReadComplete_Args\);/);
  assert.match(header, /void ReadComplete\(OSAction \*action, IOReturn status, uint32_t actualByteCount, uint64_t completionTimestamp, OSDispatchMethod supermethod = NULL\);/);
  assert.match(header, /kern_return_t CreateActionReadComplete\(size_t referenceSize, OSAction \*\*action\);/);
  assert.match(header, /virtual bool init\(\) override;/);
  assert.match(header, /void Helper\(const char name\[16\]\);/);
  assert.doesNotMatch(header, /virtual kern_return_t Start\(/);
  assert.match(impl, /case IOService_Start_ID:\s+return IOService::Start_Invoke\(rpc, self, &Sample::Start_Impl\);/);
  assert.match(impl, /OSAction::Create\(this, Sample_ReadComplete_ID, IOUSBHostPipe_CompleteAsyncIO_ID, referenceSize, action\)/);
  assert.match(impl, /OSClassRegistration Sample_Registration\("Sample", &Sample_New\)/);
});

test('message IDs are stable and distinct', () => {
  const a = generate(sample).header.match(/Sample_ReadComplete_ID (0x[0-9a-f]+)ULL/)[1];
  const b = generate(sample.replace('ReadComplete', 'WriteComplete').replace('ReadComplete', 'WriteComplete'))
    .header.match(/Sample_WriteComplete_ID (0x[0-9a-f]+)ULL/)[1];
  assert.equal(a, generate(sample).header.match(/Sample_ReadComplete_ID (0x[0-9a-f]+)ULL/)[1]);
  assert.notEqual(a, b);
  assert.ok(BigInt(a) < 1n << 63n, 'dext method IDs have bit 63 clear');
});

test('refuses a new remote method it cannot marshal', () => {
  assert.throws(() => generate(sample.replace('void Helper(const char name[16]) LOCALONLY;', 'kern_return_t Remote(uint32_t x);')),
    /new remote methods are not supported/);
});
