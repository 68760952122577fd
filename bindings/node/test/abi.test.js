'use strict';
// Drift: the binding against abi/codomyrmex_keys.abi, the one description of
// the C interface. Every function of the .abi file must be declared here
// (and nothing else) with the same return and parameter types; every
// constant and status value must be the binding's. A library of another
// major version, or of an older minor version than the functions need, is
// refused when the package loads.

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const keys = require('..');
const { PROTOTYPES, ABI_MAJOR, ABI_MINOR } = require('../lib/native');

const ABI_FILE = path.resolve(__dirname, '..', '..', '..', 'abi', 'codomyrmex_keys.abi');

// C types -> what the ABI cares about.
const KINDS = {
  void: 'void',
  bool: 'bool',
  size_t: 'size_t',
  uint32_t: 'u32',
  codomyrmex_hash_alg: 'u32',
  codomyrmex_status: 'int',
  int32_t: 'int',
};

function kind(cType) {
  const t = cType.replace(/\b(_Out_|_Inout_|const)\b/g, ' ').replace(/\s+/g, ' ').trim();
  if (t.endsWith('*')) return 'ptr';
  assert.ok(t in KINDS, `the drift test does not know the C type '${cType}': add it to KINDS`);
  return KINDS[t];
}

/** 'ret name(type a, type b)' or 'ret(type, type)' -> { ret, params } as kinds. */
function signature(ret, params, withNames) {
  const list = params.trim() === '' || params.trim() === 'void' ? [] : params.split(',');
  return {
    ret: kind(ret),
    params: list.map((p) => kind(withNames ? p.trim().replace(/\w+$/, '') : p)),
  };
}

function readAbi() {
  const abi = { major: -1, functions: new Map(), defines: new Map(), statuses: new Map() };
  for (const line of fs.readFileSync(ABI_FILE, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (line.startsWith('major ')) {
      abi.major = Number(line.split(' ')[1]);
      continue;
    }
    const [key, value] = line.split(' = ');
    const [what, name] = key.split(' ');
    if (what === 'function') {
      const m = /^(.+?)\((.*)\)$/.exec(value);
      abi.functions.set(name, signature(m[1], m[2], false));
    } else if (what === 'define') {
      abi.defines.set(name, Number(value));
    } else if (what === 'enum') {
      abi.statuses.set(name, Number(value));
    }
  }
  return abi;
}

const skip = fs.existsSync(ABI_FILE) ? false : 'abi/codomyrmex_keys.abi is not beside this copy of the binding';

test('the major version is the .abi file\'s', { skip }, () => {
  assert.equal(readAbi().major, ABI_MAJOR);
});

test('the function table matches the .abi file', { skip }, () => {
  const abi = readAbi();
  const table = new Map();
  for (const proto of PROTOTYPES) {
    const m = /^(.*?)\b(codomyrmex_\w+)\((.*)\)$/.exec(proto);
    table.set(m[2], signature(m[1], m[3], true));
  }
  const missing = [...abi.functions.keys()].filter((n) => !table.has(n));
  const extra = [...table.keys()].filter((n) => !abi.functions.has(n));
  assert.deepEqual(missing, [], 'in the .abi file, not declared here');
  assert.deepEqual(extra, [], 'declared here, not in the .abi file');
  for (const [name, sig] of abi.functions) assert.deepEqual(table.get(name), sig, name);
});

test('constants and status values match the .abi file', { skip }, () => {
  const abi = readAbi();
  for (const [name, value] of abi.defines) {
    const short = name.replace(/^CODOMYRMEX_/, '');
    const actual = short in keys.HashAlg ? keys.HashAlg[short] : keys[short];
    assert.equal(actual, value, name);
  }
  const expected = Object.fromEntries(
    [...abi.statuses].map(([name, value]) => [name.replace(/^CODOMYRMEX_(ERR_)?/, ''), value]),
  );
  assert.deepEqual({ ...keys.Status }, expected);
});

/** Loads the package in a child process over a fake library that reports `version`; null without a C compiler. */
function loadWithVersion(t, version) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-abi-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'fake.c'), `const char *codomyrmex_version(void) { return "${version}"; }\n`);
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libcodomyrmex_keys.so.1'), path.join(dir, 'fake.c')]);
  } catch {
    return null;
  }
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.resolve(__dirname, '..'))})`], {
    env: { ...process.env, CODOMYRMEX_KEYS_LIB_DIR: dir },
    encoding: 'utf8',
  });
}

test('a library of another major version is refused', (t) => {
  const run = loadWithVersion(t, '2.0.0');
  if (run === null) return t.skip('no C compiler');
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /is version 2\.0\.0 of the library, but this package needs version 1\.x/);
});

test('a library of an older minor version is refused', (t) => {
  assert.equal(ABI_MINOR, 1);
  const run = loadWithVersion(t, '1.0.3');
  if (run === null) return t.skip('no C compiler');
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /is version 1\.0\.3 of the library, but this package needs version 1\.1 or later/);
});

test('the ES module exports what the CommonJS module exports', async () => {
  const esm = await import('../index.mjs');
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(keys).sort());
  assert.equal(esm.KeyManager, keys.KeyManager);
  assert.equal(esm.default, keys);
});
