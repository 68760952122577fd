'use strict';
// A KeyManager or Keyring dropped without close() is freed when collected,
// with a process warning; a closed one never warns.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const keys = require('..');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

async function collectUntil(done) {
  for (let i = 0; i < 50 && !done(); i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('an unclosed KeyManager warns when it is collected', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-gc-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'keys');
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));

  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const before = fds();
  (() => {
    keys.KeyManager.open(dir).store('x', 'key'); // dropped, never closed
    const closed = keys.KeyManager.open(dir);
    closed.close();
  })();
  await collectUntil(() => warnings.some((w) => w.code === 'CODOMYRMEX_KEYS_UNCLOSED'));
  await new Promise((resolve) => setImmediate(resolve));

  const leaks = warnings.filter((w) => w.code === 'CODOMYRMEX_KEYS_UNCLOSED');
  assert.equal(leaks.length, 1, 'one warning: the closed manager does not warn');
  assert.equal(leaks[0].name, 'ResourceWarning');
  assert.match(leaks[0].message, new RegExp(`A KeyManager for "${dir}" was garbage-collected without close\\(\\)`));
  assert.equal(fds(), before, 'its descriptor was released');
});

test('an unclosed Keyring warns when it is collected', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-gc-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const km = keys.KeyManager.open(path.join(root, 'keys'));
  t.after(() => km.close());
  km.store('leaky', 'key');
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));

  (() => {
    km.load('leaky', 'sha256').hmac('m'); // dropped, never closed
    km.load('leaky', 'sha256').close();
  })();
  const mine = () => warnings.filter((w) => w.code === 'CODOMYRMEX_KEYS_UNCLOSED' && /Keyring/.test(w.message));
  await collectUntil(() => mine().length > 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(mine().length, 1, 'one warning: the closed keyring does not warn');
  assert.equal(mine()[0].name, 'ResourceWarning');
  assert.match(mine()[0].message, /A Keyring for key "leaky" was garbage-collected without close\(\)/);
});
