'use strict';
// Keyrings: every version of a key in memory (§10).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const keys = require('..');
const { tempRoot, assertError, tagged } = require('./helpers');

const { KeyManager, Keyring, HashAlg, Status } = keys;

function setup(t) {
  const dir = path.join(tempRoot(t), 'keys');
  const km = KeyManager.open(dir);
  t.after(() => km.close());
  km.store('api', 'api key one');
  const load = (alg = 'sha256', refreshMs = 0) => {
    const ring = km.load('api', alg, refreshMs);
    t.after(() => ring.close());
    return ring;
  };
  return { dir, km, load };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('the same bytes as the key manager, for every algorithm', (t) => {
  const { km, load } = setup(t);
  km.rotate('api', 'api key two');
  for (const alg of [HashAlg.SHA256, HashAlg.SHA384, HashAlg.SHA512, 'sha384']) {
    const ring = load(alg);
    assert.equal(ring.alg, typeof alg === 'string' ? keys.hashAlgFromName(alg) : alg);
    assert.equal(ring.keyId, 'api');
    for (const data of ['', 'message', Buffer.alloc(1000, 'x'), new Uint8Array([1, 2, 3])]) {
      const mac = ring.hmac(data);
      assert.deepEqual(mac, km.hmac('api', alg, data));
      assert.deepEqual(mac, keys.hmac(alg, 'api key two', data));
      const tag = ring.hmacTagged(data);
      assert.deepEqual(tag, km.hmacTagged('api', alg, data));
      assert.deepEqual(tag.subarray(0, 5), Buffer.from([1, 0, 0, 0, 2]));
      ring.hmacVerify(data, mac);
      ring.hmacVerifyTagged(data, tag);
      km.hmacVerifyTagged('api', alg, data, tag);
    }
  }
});

test('verify and verifyTagged reject', (t) => {
  const { km, load } = setup(t);
  const ring = load();
  const mac = ring.hmac('data');
  const tag = ring.hmacTagged('data');
  const flipped = Buffer.from(mac);
  flipped[31] ^= 1;
  for (const bad of [
    () => ring.hmacVerify('datA', mac),
    () => ring.hmacVerify('data', flipped),
    () => ring.hmacVerify('data', mac.subarray(0, 16)),
    () => ring.hmacVerify('data', ''),
    () => ring.hmacVerifyTagged('datA', tag),
    () => ring.hmacVerifyTagged('data', tag.subarray(0, -1)),
    () => ring.hmacVerifyTagged('data', Buffer.concat([Buffer.from([2]), tag.subarray(1)])),
    () => ring.hmacVerifyTagged('data', tagged(9, 'api key one', 'data')),
    () => ring.hmacVerifyTagged('data', mac),
  ]) {
    assertError(bad, keys.VerifyFailedError, Status.VERIFY_FAILED, 'MAC');
  }
  km.rotate('api', 'api key two');
  ring.refresh();
  ring.hmacVerifyTagged('data', tag); // version 1 is still held
  assertError(() => ring.hmacVerify('data', mac), keys.VerifyFailedError, 8, 'MAC');
});

test('refresh and currentVersion through rotate, stage, promote and prune', (t) => {
  const { km, load } = setup(t);
  const ring = load();
  assert.equal(ring.currentVersion(), 1);
  assert.equal(ring.refresh(), false);
  km.rotate('api', 'api key two');
  assert.equal(ring.currentVersion(), 1); // refreshMs 0: only refresh() reloads
  assert.deepEqual(ring.hmac('m'), keys.hmac('sha256', 'api key one', 'm'));
  assert.equal(ring.refresh(), true);
  assert.equal(ring.refresh(), false);
  assert.equal(ring.currentVersion(), 2);
  const staged = km.stage('api', 'api key three');
  assert.equal(ring.refresh(), true);
  assert.equal(ring.currentVersion(), 2);
  ring.hmacVerifyTagged('m', tagged(staged, 'api key three', 'm'));
  km.promote('api', staged);
  assert.equal(ring.refresh(), true);
  assert.deepEqual(ring.hmacTagged('m'), tagged(3, 'api key three', 'm'));
  km.prune('api', 1);
  assert.equal(ring.refresh(), true);
  assertError(() => ring.hmacVerifyTagged('m', tagged(1, 'api key one', 'm')), keys.VerifyFailedError, 8, 'MAC');
});

test('refreshMs sees a rotation without refresh()', async (t) => {
  const { km, load } = setup(t);
  const ring = load('sha256', 20);
  assert.equal(ring.currentVersion(), 1);
  km.rotate('api', 'api key two');
  const deadline = Date.now() + 5000;
  while (ring.currentVersion() !== 2) {
    assert.ok(Date.now() < deadline, 'the rotation was not seen within 5 s');
    await sleep(5);
  }
  assert.deepEqual(ring.hmac('m'), keys.hmac('sha256', 'api key two', 'm'));
});

test('a deleted key is NotFoundError until it exists again', (t) => {
  const { km, load } = setup(t);
  const ring = load();
  const tag = ring.hmacTagged('m');
  km.delete('api');
  assertError(() => ring.refresh(), keys.NotFoundError, Status.NOT_FOUND, "'api'");
  for (const call of [
    () => ring.currentVersion(),
    () => ring.hmac('m'),
    () => ring.hmacTagged('m'),
    () => ring.hmacVerify('m', Buffer.alloc(32)),
    () => ring.hmacVerifyTagged('m', tag),
  ]) {
    // The library's message says the keyring's key was deleted (it does not repeat the id).
    assertError(call, keys.NotFoundError, Status.NOT_FOUND, 'deleted');
  }
  km.store('api', 'api key again');
  assert.equal(ring.refresh(), true);
  assert.equal(ring.currentVersion(), 1);
  assert.deepEqual(ring.hmac('m'), keys.hmac('sha256', 'api key again', 'm'));
});

test('load errors', (t) => {
  const { km } = setup(t);
  assertError(() => km.load('absent', 'sha256'), keys.NotFoundError, 6, 'absent');
  assertError(() => km.load('a/b', 'sha256'), keys.InvalidKeyIdError, 3, 'a/b');
  assertError(() => km.load('api', 99), keys.UnsupportedAlgorithmError, 4, '99');
  assertError(() => km.load('api', 'sha256', -1), keys.InvalidArgumentError, 2, 'refreshMs');
  assert.throws(() => new Keyring(), TypeError);
});

test('a keyring keeps working after its key manager is closed', (t) => {
  const { dir, km } = setup(t);
  const other = KeyManager.open(dir);
  const ring = other.load('api', 'sha512', 10);
  t.after(() => ring.close());
  other.close();
  assert.equal(other.closed, true);
  assert.deepEqual(ring.hmac('m'), keys.hmac('sha512', 'api key one', 'm'));
  km.rotate('api', 'api key two');
  assert.equal(ring.refresh(), true);
  assert.equal(ring.currentVersion(), 2);
  ring.hmacVerifyTagged('m', km.hmacTagged('api', 'sha512', 'm'));
});

test('a closed keyring throws NullPointerError, not a crash', (t) => {
  const { km } = setup(t);
  const ring = km.load('api', 'sha256');
  ring.close();
  ring.close();
  assert.equal(ring.closed, true);
  for (const call of [() => ring.refresh(), () => ring.currentVersion(), () => ring.hmac('m'), () => ring.hmacVerifyTagged('m', 't')]) {
    const err = assertError(call, keys.NullPointerError, Status.NULL_POINTER, 'keyring is closed');
    assert.equal(err.errno, undefined);
  }
  if (typeof Symbol.dispose === 'symbol') {
    const disposed = km.load('api', 'sha256');
    disposed[Symbol.dispose]();
    assert.equal(disposed.closed, true);
  }
});
