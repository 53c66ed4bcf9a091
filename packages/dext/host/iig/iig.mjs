#!/usr/bin/env node
// A small stand-in for Apple's iig, for the host build. It turns a dext's .iig into the header
// and .iig.cpp that Apple's iig would generate, reduced to what the host runtime needs:
//   Cls_M_ID, Cls_M_Args, Cls::M_Impl, CreateActionM, super, ivars, Dispatch/_Dispatch, and the
//   M(args, OSDispatchMethod supermethod = NULL) wrappers of TYPE(...) methods.
// Which overrides are remote (dispatched by message, implemented as M_Impl) is read from the host
// headers' "iig:remote Class::Method" markers; any other override is LOCALONLY and passes through.
//
// usage: node iig.mjs --def X.iig --header out/X.h --impl out/X.iig.cpp --remote-headers <dir>

import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['def', 'header', 'impl', 'remote-headers'].includes(key) || argv[i + 1] === undefined) {
      throw new Error(`iig: bad argument ${argv[i]}`);
    }
    opts[key] = argv[i + 1];
  }
  for (const key of ['def', 'header', 'impl', 'remote-headers']) {
    if (!opts[key]) throw new Error(`iig: missing --${key}`);
  }
  return opts;
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

// method name -> declaring class, for remote methods of the host's base classes
function scanRemoteMethods(dir) {
  const remote = new Map();
  for (const file of walk(dir).filter((f) => f.endsWith('.h'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/iig:remote (\w+)::(\w+)/g)) {
      remote.set(m[2], m[1]);
    }
  }
  return remote;
}

// 64-bit FNV-1a of "Class::Method", bit 63 clear (Apple sets it only for kernel classes).
function methodID(cls, method) {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`${cls}::${method}`)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  h &= 0x7fffffffffffffffn;
  return `0x${h.toString(16).padStart(16, '0')}ULL`;
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

function matchingClose(text, open, openCh, closeCh) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === openCh) depth++;
    else if (text[i] === closeCh && --depth === 0) return i;
  }
  throw new Error(`iig: unbalanced ${openCh}${closeCh}`);
}

function splitTopLevel(text, sep) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{' || c === '<') depth++;
    else if (c === ')' || c === ']' || c === '}' || c === '>') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const ANNOTATIONS = /\b(TARGET|LOCAL|LOCALONLY|REMOTE|KERNEL|NATIVE|LOCALHOST|INVOKEREPLY|REPLY|PORTMAKESEND|PORTCOPYSEND)\b|\b(TYPE|QUEUENAME|EXTENDS)\s*\([^)]*\)/g;

function parseParam(param) {
  const clean = param.replace(ANNOTATIONS, ' ').replace(/=.*$/, '').replace(/\s+/g, ' ').trim();
  const m = clean.match(/(\w+)\s*(\[[^\]]*\])?$/);
  if (!m) throw new Error(`iig: cannot parse parameter "${param}"`);
  // arrays are lowered to pointers, as Apple's iig does
  const decl = m[2] ? `${clean.slice(0, m.index).trim()} *${m[1]}`.replace(/const\s+(\w+)\s+\*/, 'const $1 *') : clean;
  return { decl, name: m[1] };
}

function parseMember(stmt) {
  const open = stmt.indexOf('(');
  if (open < 0) return { kind: 'other', text: stmt };
  const close = matchingClose(stmt, open, '(', ')');
  const head = stmt.slice(0, open).trim();
  const params = stmt.slice(open + 1, close);
  const trailer = stmt.slice(close + 1);
  const hm = head.match(/^((?:virtual|static|inline)\s+)*(.*?)\s*\b(\w+)$/);
  if (!hm) throw new Error(`iig: cannot parse "${stmt}"`);
  const type = trailer.match(/\bTYPE\s*\(\s*(\w+)\s*::\s*(\w+)\s*\)/);
  return {
    kind: 'method',
    text: stmt,
    isStatic: /\bstatic\b/.test(head),
    returnType: hm[2].trim(),
    name: hm[3],
    params: params.trim() === '' || params.trim() === 'void' ? [] : splitTopLevel(params, ',').map(parseParam),
    isOverride: /\boverride\b/.test(trailer),
    isLocalOnly: /\bLOCALONLY\b/.test(trailer),
    type: type ? { cls: type[1], method: type[2] } : null,
  };
}

function generate(source, file, remote) {
  const clsRe = /\bclass\s+(\w+)\s*:\s*public\s+(\w+)\s*\{/;
  const m = source.match(clsRe);
  if (!m) throw new Error(`iig: no class in ${file}`);
  const [cls, base] = [m[1], m[2]];
  const bodyOpen = m.index + m[0].length - 1;
  const bodyClose = matchingClose(source, bodyOpen, '{', '}');
  const after = source.slice(bodyClose + 1).replace(/^\s*;/, '');
  const rewriteIncludes = (t) => t.replace(/#include\s*<([^>]+)\.iig>/g, '#include <$1.h>  /* .iig include */');
  const prefix = rewriteIncludes(source.slice(0, m.index));
  const suffix = rewriteIncludes(after);

  const body = stripComments(source.slice(bodyOpen + 1, bodyClose));
  const sections = [];
  let access = 'private';
  for (const piece of body.split(/\b(public|protected|private)\s*:/)) {
    if (['public', 'protected', 'private'].includes(piece)) access = piece;
    else for (const stmt of splitTopLevel(piece, ';')) sections.push({ access, member: parseMember(stmt.replace(/\s+/g, ' ')) });
  }

  const defines = [];
  const passthrough = { public: [], protected: [], private: [] };
  const wrappers = [];
  const impls = [];
  const cases = [];
  const implCpp = [];

  for (const { access: acc, member } of sections) {
    if (member.kind !== 'method') {
      passthrough[acc].push(`${member.text};`);
      continue;
    }
    const paramDecls = member.params.map((p) => p.decl).join(', ');
    const names = member.params.map((p) => p.name).join(', ');
    if (member.type) {
      const { cls: tCls, method: tMethod } = member.type;
      const id = `${cls}_${member.name}_ID`;
      defines.push(`#define ${id} ${methodID(cls, member.name)}`);
      defines.push(`#define ${cls}_${member.name}_Args ${paramDecls}`);
      wrappers.push(`    ${member.returnType} ${member.name}(${paramDecls}${paramDecls ? ', ' : ''}OSDispatchMethod supermethod = NULL);`);
      wrappers.push(`    kern_return_t CreateAction${member.name}(size_t referenceSize, OSAction **action);`);
      impls.push(`    ${member.returnType} ${member.name}_Impl(${cls}_${member.name}_Args);`);
      cases.push(`    case ${id}:\n        return ${tCls}::${tMethod}_Invoke(rpc, self, &${cls}::${member.name}_Impl);`);
      const isVoid = member.returnType === 'void';
      implCpp.push(`${member.returnType} ${cls}::${member.name}(${paramDecls}${paramDecls ? ', ' : ''}OSDispatchMethod supermethod)
{
    ${tCls}::${tMethod}_Msg msg = {${names}};
    kern_return_t ret = OSHostCall(this, ${id}, ${tCls}_${tMethod}_ID, &msg, supermethod);
    ${isVoid ? '(void)ret;' : 'return ret;'}
}

kern_return_t ${cls}::CreateAction${member.name}(size_t referenceSize, OSAction **action)
{
    return OSAction::Create(this, ${id}, ${tCls}_${tMethod}_ID, referenceSize, action);
}
`);
    } else if (member.isOverride && remote.has(member.name)) {
      const declaring = remote.get(member.name);
      defines.push(`#define ${cls}_${member.name}_Args ${paramDecls}`);
      impls.push(`    ${member.returnType} ${member.name}_Impl(${declaring}_${member.name}_Args);`);
      cases.push(`    case ${declaring}_${member.name}_ID:\n        return ${declaring}::${member.name}_Invoke(rpc, self, &${cls}::${member.name}_Impl);`);
    } else if (member.isOverride || member.isLocalOnly || member.isStatic) {
      passthrough[acc].push(`${member.text.replace(ANNOTATIONS, ' ').replace(/\s+/g, ' ').trim()};`);
    } else {
      throw new Error(`iig: ${cls}::${member.name}: new remote methods are not supported by this generator; mark it LOCALONLY`);
    }
  }

  const banner = `/* Generated by host/iig/iig.mjs from ${basename(file)}. Do not edit. */\n`;
  const guard = `_IIG_${cls.toUpperCase()}_H`;
  const header = `${banner}#ifndef ${guard}
#define ${guard}

${prefix.trim()}

${defines.join('\n')}

struct ${cls}_IVars;
struct ${cls}_LocalIVars;

class ${cls} : public ${base}
{
public:
    union {
        ${cls}_IVars *ivars;
        ${cls}_LocalIVars *lvars;
    };
    using super = ${base};

    kern_return_t Dispatch(const IORPC rpc) override;
    static kern_return_t _Dispatch(OSMetaClassBase *self, const IORPC rpc);
${wrappers.join('\n')}
${passthrough.public.map((l) => `    ${l}`).join('\n')}
protected:
    /* _Impl methods */
${impls.join('\n')}
${passthrough.protected.map((l) => `    ${l}`).join('\n')}
private:
${passthrough.private.map((l) => `    ${l}`).join('\n')}
};

${suffix.trim()}

#endif /* ${guard} */
`;

  const impl = `${banner}#include <DriverKit/OSAction.h>
#include "${basename(file).replace(/\.iig$/, '.h')}"

kern_return_t ${cls}::Dispatch(const IORPC rpc)
{
    return _Dispatch(this, rpc);
}

kern_return_t ${cls}::_Dispatch(OSMetaClassBase *self, const IORPC rpc)
{
    switch (rpc.msgid) {
${cases.join('\n')}
    default:
        return ${base}::_Dispatch(self, rpc);
    }
}

${implCpp.join('\n')}
static OSObject *${cls}_New(void)
{
    return new ${cls};
}

static OSClassRegistration ${cls}_Registration("${cls}", &${cls}_New);
`;
  return { header, impl };
}

const opts = parseArgs(process.argv.slice(2));
const { header, impl } = generate(readFileSync(opts.def, 'utf8'), opts.def, scanRemoteMethods(opts['remote-headers']));
for (const [path, text] of [[opts.header, header], [opts.impl, impl]]) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
