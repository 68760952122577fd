'use strict';
// Keys sealed at rest under a key-encryption key (§11).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const keys = require('..');
const { tempRoot, assertError, makeKek, kekId, writePrivate, tree, filesContaining } = require('./helpers');

const { KeyManager, Status } = keys;
const ALPHA = Buffer.from('alpha key one, plain');
const BETA = Buffer.from('beta key, plain on disk');

function setup(t) {
  const root = tempRoot(t);
  const dir = path.join(root, 'keys');
  const kekFile = path.join(root, 'kek');
  const kek = makeKek(kekFile);
  const sealed = (options = {}) => {
    const km = KeyManager.openWith(dir, { kekFile, ...options });
    t.after(() => km.close());
    return km;
  };
  return { root, dir, kekFile, kek, sealed };
}

test('files written with a KEK are sealed and read back', (t) => {
  const { dir, kek, sealed } = setup(t);
  const km = sealed();
  km.store('alpha', ALPHA);
  km.rotate('alpha', 'alpha key two, sealed');
  assert.deepEqual(km.get('alpha'), Buffer.from('alpha key two, sealed'));
  assert.deepEqual(km.getVersion('alpha', 1), ALPHA);
  assert.deepEqual(filesContaining(dir, ALPHA), []);
  assert.deepEqual(filesContaining(dir, Buffer.from('alpha key two, sealed')), []);
  const file = fs.readFileSync(path.join(dir, 'alpha.key'));
  assert.deepEqual(file.subarray(0, 8), Buffer.from('\x89CDXSEAL', 'latin1'));
  assert.equal(file.subarray(10, 18).toString('hex'), kekId(kek));
  assert.deepEqual(sealed({ requireSealed: true }).get('alpha'), Buffer.from('alpha key two, sealed'));
});

test('a wrong or missing KEK is CorruptError naming the KEK ids', (t) => {
  const { root, dir, kek, sealed } = setup(t);
  sealed().store('alpha', ALPHA);
  const other = makeKek(path.join(root, 'other-kek'));
  const wrong = KeyManager.openWith(dir, { kekFile: path.join(root, 'other-kek') });
  t.after(() => wrong.close());
  const err = assertError(() => wrong.get('alpha'), keys.CorruptError, Status.CORRUPT, kekId(kek));
  assert.ok(err.message.includes(kekId(other)));
  assert.ok(err.message.includes('alpha'));
  const none = KeyManager.open(dir);
  t.after(() => none.close());
  const err2 = assertError(() => none.get('alpha'), keys.CorruptError, 11, kekId(kek));
  assert.match(err2.message, /no KEK was given/);
});

test('requireSealed refuses a plain key', (t) => {
  const { dir, sealed } = setup(t);
  const plain = KeyManager.open(dir);
  plain.store('alpha', ALPHA);
  plain.close();
  assertError(() => sealed({ requireSealed: true }).get('alpha'), keys.CorruptError, 11, 'alpha');
  assert.deepEqual(sealed().get('alpha'), ALPHA);
});

test('sealAll counts the files it seals, then is idempotent', (t) => {
  const { dir, sealed } = setup(t);
  const plain = KeyManager.open(dir);
  plain.store('alpha', ALPHA);
  plain.rotate('alpha', 'alpha key two, plain');
  plain.store('beta', BETA);
  plain.stage('beta', 'beta staged, plain');
  plain.close();
  const records = Object.keys(tree(dir)).filter((name) => name !== '.lock');
  assert.equal(records.length, 5, records.join(' ')); // 2 key files, 2 version records, 1 staged record
  const km = sealed();
  assert.equal(km.sealAll(), 5);
  for (const secret of [ALPHA, BETA, 'alpha key two, plain', 'beta staged, plain']) {
    assert.deepEqual(filesContaining(dir, Buffer.from(secret)), [], String(secret));
  }
  assert.equal(km.sealAll(), 0);
  const strict = sealed({ requireSealed: true });
  assert.deepEqual(strict.get('alpha'), Buffer.from('alpha key two, plain'));
  assert.deepEqual(strict.getVersion('alpha', 1), ALPHA);
  assert.deepEqual(strict.getVersion('beta', 2), Buffer.from('beta staged, plain'));
});

test('sealAll needs a KEK; an unsafe or short KEK file is refused at open', (t) => {
  const { root, dir, kekFile, sealed } = setup(t);
  const plain = KeyManager.open(dir);
  t.after(() => plain.close());
  plain.store('alpha', ALPHA);
  assertError(() => plain.sealAll(), keys.InvalidArgumentError, 2, 'without a KEK');
  fs.chmodSync(kekFile, 0o644);
  assertError(() => sealed(), keys.InsecurePermissionsError, 10, kekFile);
  writePrivate(path.join(root, 'short-kek'), 'too short');
  assertError(() => KeyManager.openWith(dir, { kekFile: path.join(root, 'short-kek') }), keys.InvalidArgumentError, 2, 'short-kek');
});
