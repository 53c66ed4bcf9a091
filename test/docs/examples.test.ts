/**
 * The runnable examples (test/docs/examples/), run as a reader would run them against the
 * embedded virtual gadget zero, so that what the guides and the reference show keeps working. The
 * guides include their code with `{@includeCode}`, the reference's `@example`s too. Every line an
 * example prints is written under the statement that prints it, as a `// → ` comment: the test
 * holds the output to those comments, line for line.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const EXAMPLES = join(ROOT, 'test/docs/examples');

async function run(name: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=dextio-source', '--import', 'tsx', join(EXAMPLES, name)],
    { cwd: ROOT, timeout: 60_000 },
  );
  return stdout.trimEnd().split('\n');
}

/** The `// → ` lines of an example, in order: what it promises to print. */
function promised(name: string): string[] {
  return [...readFileSync(join(EXAMPLES, name), 'utf8').matchAll(/^\s*\/\/ → (.*)$/gm)].map((m) => m[1]!);
}

describe('the examples of the guides and the reference', function () {
  for (const name of readdirSync(EXAMPLES).filter((file) => file.endsWith('.ts')).sort()) {
    it(`${name} prints what its comments say`, async function () {
      this.timeout(90_000);
      const expected = promised(name);
      expect(expected, 'an example says what it prints').to.not.be.empty;
      expect(await run(name)).to.deep.equal(expected);
    });
  }
});

describe('the reference\'s examples', function () {
  const SOURCES = join(ROOT, 'packages/core/src');
  /** What must have an example: the classes' public members, the classes, and these functions. */
  const documented: Record<string, string[]> = {
    'usb.ts': ['Usb'],
    'device.ts': ['Device'],
    'pipe.ts': ['Pipe'],
    'errors.ts': ['*'],
    'backends/auto.ts': ['auto'],
    'backends/dext/index.ts': ['dext'],
    'backends/libusb/index.ts': ['libusb'],
  };

  it('every public member of Usb, Device and Pipe, the backends and the errors includes a runnable example', async function () {
    const ts = (await import('typescript')).default;
    const missing: string[] = [];
    for (const [file, names] of Object.entries(documented)) {
      const path = join(SOURCES, file);
      const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
      const check = (node: import('typescript').Node, what: string): void => {
        const docs = ts.getJSDocCommentsAndTags(node).map((doc) => doc.getText()).join('\n');
        if (/@internal/.test(docs)) return;
        const include = /@example\s*\*?\s*\{@includeCode ([^#}]+)#([^}]+)\}/.exec(docs);
        if (!include) return void missing.push(`${file}: ${what} has no @example with {@includeCode}`);
        const example = readFileSync(resolve(dirname(path), include[1]!), 'utf8');
        if (!example.includes(`// #region ${include[2]}\n`)) missing.push(`${file}: ${what}'s region ${include[2]} does not exist`);
      };
      for (const statement of source.statements) {
        const name = (statement as { name?: import('typescript').Identifier }).name?.text;
        const exported = ts.getCombinedModifierFlags(statement as unknown as import('typescript').Declaration) & ts.ModifierFlags.Export;
        if (!name || !exported || !(names.includes('*') || names.includes(name))) continue;
        if (!ts.isClassDeclaration(statement) && !ts.isFunctionDeclaration(statement)) continue;
        check(statement, name);
        if (!ts.isClassDeclaration(statement) || names.includes('*')) continue;
        for (const member of statement.members) {
          const memberName = member.name && ts.isIdentifier(member.name) ? member.name.text : undefined;
          const flags = ts.getCombinedModifierFlags(member);
          if (!memberName || ts.isConstructorDeclaration(member) || flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
          check(member, `${name}.${memberName}`);
        }
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
