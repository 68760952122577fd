'use strict';
// Staged rotation: stage, stageGenerate, promote (§12).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const keys = require('..');
const { tempRoot, assertError, tagged } = require('./helpers');

function openTemp(t) {
  const km = keys.KeyManager.open(path.join(tempRoot(t), 'keys'));
  t.after(() => km.close());
  return km;
}

test('a staged version verifies tagged MACs but signs only once promoted', (t) => {
  const km = openTemp(t);
  km.store('k', 'current key');
  const staged = km.stage('k', 'staged key');
  assert.equal(staged, 2);
  assert.deepEqual(km.listVersions('k'), [1, 2]);
  assert.equal(km.currentVersion('k'), 1);
  assert.deepEqual(km.get('k'), Buffer.from('current key'));
  assert.deepEqual(km.getVersion('k', 2), Buffer.from('staged key'));
  assert.deepEqual(km.hmac('k', 'sha256', 'm'), keys.hmac('sha256', 'current key', 'm'));
  assert.deepEqual(km.hmacTagged('k', 'sha256', 'm'), tagged(1, 'current key', 'm'));
  km.hmacVerifyTagged('k', 'sha256', 'm', tagged(2, 'staged key', 'm'));

  km.promote('k', staged);
  assert.equal(km.currentVersion('k'), 2);
  assert.deepEqual(km.get('k'), Buffer.from('staged key'));
  assert.deepEqual(km.hmacTagged('k', 'sha256', 'm'), tagged(2, 'staged key', 'm'));
  km.hmacVerifyTagged('k', 'sha256', 'm', tagged(1, 'current key', 'm'));
});

test('stageGenerate', (t) => {
  const km = openTemp(t);
  km.generate('k');
  assert.equal(km.stageGenerate('k', 48), 2);
  assert.equal(km.getVersion('k', 2).length, 48);
  assert.equal(km.stageGenerate('k'), 3);
  assert.equal(km.getVersion('k', 3).length, 32);
  assert.equal(km.currentVersion('k'), 1);
  km.promote('k', 3);
  assert.equal(km.currentVersion('k'), 3);
});

test('staging errors', (t) => {
  const km = openTemp(t);
  km.store('k', 'key');
  assertError(() => km.stage('absent', 'x'), keys.NotFoundError, keys.Status.NOT_FOUND, 'absent');
  assertError(() => km.stageGenerate('absent'), keys.NotFoundError, 6, 'absent');
  assertError(() => km.promote('k', 1), keys.NotFoundError, 6, "'k'");
  assertError(() => km.promote('k', 7), keys.NotFoundError, 6, "'k'");
  assertError(() => km.promote('absent', 2), keys.NotFoundError, 6, 'absent');
  assertError(() => km.stage('k', ''), keys.InvalidArgumentError, 2, 'key_len');
  assertError(() => km.stageGenerate('k', 0), keys.InvalidArgumentError, 2, 'key_len');
  assertError(() => km.stageGenerate('k', -1), keys.InvalidArgumentError, 2, 'length');
  assertError(() => km.promote('k', -1), keys.InvalidArgumentError, 2, 'version');
  assertError(() => km.stage('../k', 'x'), keys.InvalidKeyIdError, 3, '../k');
  assert.deepEqual(km.listVersions('k'), [1]);
});
