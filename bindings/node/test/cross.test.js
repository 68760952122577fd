'use strict';
// The cross-language check (cross.sh write/verify) on a temporary directory.
// With python3 present, the Python binding's writer and verifier join in, so
// Node verifies Python's MACs and the other way round.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const NODE_DIR = path.resolve(__dirname, '..');
const PYTHON_DIR = path.resolve(NODE_DIR, '..', 'python');

function tempKeyDir(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-cross-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return path.join(root, 'keys');
}

function cross(bindingDir, mode, dir) {
  const r = spawnSync('bash', [path.join(bindingDir, 'cross.sh'), mode, dir], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function expectedHex(lang) {
  return crypto
    .createHmac('sha256', `cross-language key from ${lang}`)
    .update('cross-language message')
    .digest('hex');
}

const havePython =
  spawnSync('python3', ['--version']).status === 0 && fs.existsSync(path.join(PYTHON_DIR, 'cross.sh'));

test('cross.sh: node writes and verifies its own MAC and tag', (t) => {
  const dir = tempKeyDir(t);
  assert.notEqual(cross(NODE_DIR, 'verify', dir).status, 0, 'verify must fail without any .mac file');
  const w = cross(NODE_DIR, 'write', dir);
  assert.equal(w.status, 0, w.out + w.err);
  assert.equal(fs.readFileSync(path.join(dir, 'cross-node.mac'), 'utf8'), `${expectedHex('node')}\n`);
  assert.equal(fs.readFileSync(path.join(dir, 'cross-node.tag'), 'utf8'), `0100000001${expectedHex('node')}\n`);
  assert.equal(fs.readFileSync(path.join(dir, 'cross-node.ktag'), 'utf8'), `0100000001${expectedHex('node')}\n`);
  // A second write replaces the key (as its next version) and the files.
  assert.equal(cross(NODE_DIR, 'write', dir).status, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'cross-node.tag'), 'utf8').startsWith('0100000002'));
  const v = cross(NODE_DIR, 'verify', dir);
  assert.equal(v.status, 0, v.out + v.err);
  assert.match(v.out, /^ok +node: /);
  assert.equal(v.out.trim().split('\n').length, 1);
});

test('cross.sh: verify reports a wrong MAC and a missing tag', (t) => {
  const dir = tempKeyDir(t);
  assert.equal(cross(NODE_DIR, 'write', dir).status, 0);
  const macFile = path.join(dir, 'cross-node.mac');
  const text = fs.readFileSync(macFile, 'utf8');
  fs.writeFileSync(macFile, (text[0] === '0' ? '1' : '0') + text.slice(1));
  const v = cross(NODE_DIR, 'verify', dir);
  assert.notEqual(v.status, 0);
  assert.match(v.out, /FAIL node: .*hmacVerify.*keyring/);
  fs.unlinkSync(path.join(dir, 'cross-node.tag'));
  assert.notEqual(cross(NODE_DIR, 'verify', dir).status, 0);
});

test('cross.sh: verify reports a wrong or missing keyring tag', (t) => {
  const dir = tempKeyDir(t);
  assert.equal(cross(NODE_DIR, 'write', dir).status, 0);
  const ktag = path.join(dir, 'cross-node.ktag');
  const text = fs.readFileSync(ktag, 'utf8');
  fs.writeFileSync(ktag, `${text.slice(0, -2)}${text.at(-2) === '0' ? '1' : '0'}\n`);
  const v = cross(NODE_DIR, 'verify', dir);
  assert.notEqual(v.status, 0);
  assert.match(v.out, /FAIL node: hmacVerifyTagged \.ktag: .*; keyring: /);
  fs.unlinkSync(ktag);
  assert.match(cross(NODE_DIR, 'verify', dir).out, /FAIL node: read \.ktag: /);
});

test('cross.sh: node and python verify each other', { skip: havePython ? false : 'python3 not found' }, (t) => {
  const dir = tempKeyDir(t);
  for (const binding of [NODE_DIR, PYTHON_DIR]) {
    const w = cross(binding, 'write', dir);
    assert.equal(w.status, 0, w.out + w.err);
  }
  for (const binding of [NODE_DIR, PYTHON_DIR]) {
    const v = cross(binding, 'verify', dir);
    assert.equal(v.status, 0, v.out + v.err);
    const lines = v.out.trim().split('\n');
    assert.equal(lines.length, 2, v.out);
    assert.match(lines[0], /^ok +node: /);
    assert.match(lines[1], /^ok +python: /);
  }
});
