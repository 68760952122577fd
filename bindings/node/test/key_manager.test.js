'use strict';
// The key manager on a temporary directory: the whole §7 and §8 surface.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const keys = require('..');

const { HashAlg } = keys;

function tempKeyDir(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return path.join(root, 'keys');
}

function openTemp(t) {
  const km = keys.KeyManager.open(tempKeyDir(t));
  t.after(() => km.close());
  return km;
}

test('open creates a private directory; dir reports it', (t) => {
  const dir = tempKeyDir(t);
  const km = keys.KeyManager.open(dir);
  try {
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(km.dir, fs.realpathSync(dir));
    assert.deepEqual(km.list(), []);
  } finally {
    km.close();
  }
  assert.throws(() => new keys.KeyManager(), TypeError);
});

test('store, get, exists, list, create, generate, delete', (t) => {
  const km = openTemp(t);
  const k1 = Buffer.from('first secret key');
  km.store('alpha', k1);
  assert.equal(km.exists('alpha'), true);
  assert.equal(km.exists('missing'), false);
  assert.deepEqual(km.get('alpha'), k1);
  assert.equal(km.currentVersion('alpha'), 1);
  assert.equal(fs.statSync(path.join(km.dir, 'alpha.key')).mode & 0o777, 0o600);

  km.create('beta', 'beta key as a string');
  assert.deepEqual(km.get('beta'), Buffer.from('beta key as a string'));
  assert.throws(() => km.create('beta', 'other'), keys.AlreadyExistsError);

  km.generate('gamma', 48);
  assert.equal(km.get('gamma').length, 48);
  km.generate('delta');
  assert.equal(km.get('delta').length, 32);
  assert.throws(() => km.generate('gamma', 16), keys.AlreadyExistsError);

  assert.deepEqual(km.list(), ['alpha', 'beta', 'delta', 'gamma']);
  km.delete('beta');
  assert.equal(km.exists('beta'), false);
  assert.throws(() => km.delete('beta'), keys.NotFoundError);
  assert.throws(() => km.get('beta'), keys.NotFoundError);
  assert.deepEqual(km.list(), ['alpha', 'delta', 'gamma']);
});

test('list: many ids, sorted bytewise', (t) => {
  const km = openTemp(t);
  const ids = [];
  for (let i = 0; i < 60; i++) ids.push(`k-${(i * 37) % 60}.${'x'.repeat(i)}`);
  ids.push('Z', 'a', '_', '0', 'x'.repeat(128));
  for (const id of ids) km.store(id, `key ${id}`);
  const sorted = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(km.list(), sorted);
});

test('key sizes: 1 to 65536 bytes', (t) => {
  const km = openTemp(t);
  const big = keys.randomBytes(keys.MAX_KEY_LEN);
  km.store('big', big);
  assert.deepEqual(km.get('big'), big);
  km.store('one', Buffer.from([7]));
  assert.deepEqual(km.get('one'), Buffer.from([7]));
  assert.throws(() => km.store('huge', Buffer.alloc(keys.MAX_KEY_LEN + 1, 1)), keys.InvalidArgumentError);
  assert.throws(() => km.store('empty', Buffer.alloc(0)), keys.InvalidArgumentError);
  assert.throws(() => km.generate('g0', 0), keys.InvalidArgumentError);
  assert.equal(km.exists('huge'), false);
  assert.equal(km.exists('empty'), false);
  // rotate returns an old key of the largest size.
  assert.deepEqual(km.rotate('big', 'small'), big);
});

test('hmac, hmacVerify and derive with stored keys match the one-shot functions', (t) => {
  const km = openTemp(t);
  const key = keys.randomBytes(40);
  km.store('mac-key', key);
  for (const alg of [HashAlg.SHA256, HashAlg.SHA384, HashAlg.SHA512, 'sha384']) {
    const mac = km.hmac('mac-key', alg, 'message');
    assert.deepEqual(mac, keys.hmac(alg, key, 'message'));
    km.hmacVerify('mac-key', alg, 'message', mac);
    assert.throws(() => km.hmacVerify('mac-key', alg, 'messagE', mac), keys.VerifyFailedError);
    assert.throws(() => km.hmacVerify('mac-key', alg, 'message', mac.subarray(1)), keys.VerifyFailedError);
    const okm = km.derive('mac-key', alg, 'salt', 'info', 77);
    assert.deepEqual(okm, keys.hkdf(alg, key, 'salt', 'info', 77));
    assert.deepEqual(km.derive('mac-key', alg, null, null, 16), keys.hkdf(alg, key, null, null, 16));
  }
  assert.throws(() => km.derive('mac-key', HashAlg.SHA256, null, null, 0), keys.InvalidArgumentError);
});

test('rotate, versions, get/hmac/derive by version, prune', (t) => {
  const km = openTemp(t);
  const k1 = Buffer.from('version one');
  const k2 = Buffer.from('version two');
  const k3 = Buffer.from('version three');

  assert.equal(km.rotate('fresh', k1), null); // no previous key: stored as version 1
  assert.equal(km.currentVersion('fresh'), 1);

  km.store('r', k1);
  assert.deepEqual(km.rotate('r', k2), k1);
  assert.equal(km.currentVersion('r'), 2);
  km.store('r', k3); // store over an existing key also keeps the old version
  assert.equal(km.currentVersion('r'), 3);
  assert.deepEqual(km.listVersions('r'), [1, 2, 3]);
  assert.deepEqual(km.get('r'), k3);
  assert.deepEqual(km.getVersion('r', 0), k3);
  assert.deepEqual(km.getVersion('r', 1), k1);
  assert.deepEqual(km.getVersion('r', 2), k2);
  assert.throws(() => km.getVersion('r', 4), keys.NotFoundError);
  assert.deepEqual(km.hmacVersion('r', 1, 'sha256', 'm'), keys.hmac('sha256', k1, 'm'));
  assert.deepEqual(km.hmacVersion('r', 0, 'sha256', 'm'), keys.hmac('sha256', k3, 'm'));
  assert.deepEqual(km.deriveVersion('r', 2, 'sha512', 's', 'i', 99), keys.hkdf('sha512', k2, 's', 'i', 99));
  // Only the versioned file of the current key is listed.
  assert.deepEqual(km.list(), ['fresh', 'r']);

  km.prune('r', 2);
  assert.deepEqual(km.listVersions('r'), [2, 3]);
  assert.throws(() => km.getVersion('r', 1), keys.NotFoundError);
  assert.throws(() => km.hmacVersion('r', 1, 'sha256', 'm'), keys.NotFoundError);
  assert.throws(() => km.prune('r', 0), keys.InvalidArgumentError);
  km.prune('r', 1);
  assert.deepEqual(km.listVersions('r'), [3]);
  assert.equal(km.currentVersion('r'), 3);
  assert.deepEqual(km.get('r'), k3);

  km.delete('r');
  assert.throws(() => km.listVersions('r'), keys.NotFoundError);
  assert.throws(() => km.currentVersion('r'), keys.NotFoundError);
  km.store('r', k1); // a new id after delete starts again at version 1
  assert.equal(km.currentVersion('r'), 1);
});

test('tagged MACs verify across rotations until pruned', (t) => {
  const km = openTemp(t);
  km.store('tk', 'tagged key one');
  const tag1 = km.hmacTagged('tk', HashAlg.SHA256, 'data');
  assert.equal(tag1.length, keys.TAG_OVERHEAD + 32);
  assert.equal(tag1[0], 0x01);
  assert.equal(tag1.readUInt32BE(1), 1);
  assert.deepEqual(tag1.subarray(5), keys.hmac('sha256', 'tagged key one', 'data'));
  km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag1);

  km.rotate('tk', 'tagged key two');
  const tag2 = km.hmacTagged('tk', HashAlg.SHA256, 'data');
  assert.equal(tag2.readUInt32BE(1), 2);
  km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag1); // old version still kept
  km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag2);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'other', tag2), keys.VerifyFailedError);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA512, 'data', tag2), keys.VerifyFailedError);

  const t512 = km.hmacTagged('tk', 'sha512', 'data');
  assert.equal(t512.length, keys.TAG_OVERHEAD + 64);
  km.hmacVerifyTagged('tk', 'sha512', 'data', t512);

  // Malformed tags: format byte, version 0, unknown version, truncated.
  const bad = Buffer.from(tag2);
  bad[0] = 0x02;
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', bad), keys.VerifyFailedError);
  const v0 = Buffer.from(tag2);
  v0.writeUInt32BE(0, 1);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', v0), keys.VerifyFailedError);
  const v9 = Buffer.from(tag2);
  v9.writeUInt32BE(9, 1);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', v9), keys.VerifyFailedError);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag2.subarray(0, 20)), keys.VerifyFailedError);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', Buffer.alloc(0)), keys.VerifyFailedError);

  km.prune('tk', 1);
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag1), keys.VerifyFailedError);
  km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag2);

  km.delete('tk');
  assert.throws(() => km.hmacVerifyTagged('tk', HashAlg.SHA256, 'data', tag2), keys.NotFoundError);
});

test('close: idempotent; a closed manager throws NullPointerError; dispose closes', (t) => {
  const km = keys.KeyManager.open(tempKeyDir(t));
  km.store('x', 'key');
  assert.equal(km.closed, false);
  km.close();
  assert.equal(km.closed, true);
  km.close();
  for (const call of [() => km.get('x'), () => km.list(), () => km.dir, () => km.store('y', 'k')]) {
    assert.throws(call, (err) => err instanceof keys.NullPointerError && err.code === 'CODOMYRMEX_ERR_NULL_POINTER');
  }
  if (typeof Symbol.dispose === 'symbol') {
    const km2 = keys.KeyManager.open(path.dirname(tempKeyDir(t)) + '/other');
    km2[Symbol.dispose]();
    assert.equal(km2.closed, true);
  }
});

test('two managers on one directory see each other and reopen sees stored keys', (t) => {
  const dir = tempKeyDir(t);
  const a = keys.KeyManager.open(dir);
  const b = keys.KeyManager.open(Buffer.from(dir));
  try {
    a.store('shared', 'shared key');
    assert.deepEqual(b.get('shared'), Buffer.from('shared key'));
    assert.deepEqual(b.rotate('shared', 'second'), Buffer.from('shared key'));
    assert.deepEqual(a.listVersions('shared'), [1, 2]);
  } finally {
    a.close();
    b.close();
  }
  const c = keys.KeyManager.open(dir);
  try {
    assert.deepEqual(c.get('shared'), Buffer.from('second'));
  } finally {
    c.close();
  }
});
