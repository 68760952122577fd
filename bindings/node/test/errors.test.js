'use strict';
// Statuses become errors with the library's message, read on the same thread.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { getSystemErrorName } = require('node:util');
const keys = require('..');

function tempRoot(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-err-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

/** Asserts that `fn` throws `Cls` with the given status, its name, and a message. */
function assertError(fn, Cls, status) {
  let caught = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected ${Cls.name}`);
  assert.ok(caught instanceof Cls, `expected ${Cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  assert.ok(caught instanceof keys.CodomyrmexError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.status, status);
  assert.equal(caught.statusName, keys.statusName(status));
  const errnoName = caught.errno === undefined ? null : getSystemErrorName(caught.errno);
  assert.equal(caught.code, errnoName?.startsWith('E') ? errnoName : caught.statusName);
  assert.equal(caught.name, Cls.name);
  assert.ok(caught.message.length > 0);
  assert.ok(!caught.message.includes('\n'));
  return caught;
}

test('invalid key ids', (t) => {
  const km = keys.KeyManager.open(path.join(tempRoot(t), 'keys'));
  t.after(() => km.close());
  const bad = ['', '/', 'a/b', '..', '.hidden', '.', 'a b', 'a\\b', 'é', 'k\u00e9y', 'x'.repeat(129), 'a\0b', 'tab\t'];
  for (const id of bad) {
    const err = assertError(() => km.store(id, 'k'), keys.InvalidKeyIdError, keys.Status.INVALID_KEY_ID);
    assert.ok(!err.message.includes('k\0'));
    assertError(() => km.get(id), keys.InvalidKeyIdError, 3);
    assertError(() => km.exists(id), keys.InvalidKeyIdError, 3);
    assertError(() => km.hmac(id, 'sha256', 'd'), keys.InvalidKeyIdError, 3);
  }
  // The message names the id and comes from the library.
  const err = assertError(() => km.get('a/b'), keys.InvalidKeyIdError, 3);
  assert.match(err.message, /a\/b/);
  assert.equal(keys.lastErrorMessage(), err.message);
  // The longest valid id and every allowed character.
  km.store('x'.repeat(128), 'k');
  km.store('AZaz09._-', 'k');
  assert.deepEqual(km.list(), ['AZaz09._-', 'x'.repeat(128)]);
  assert.deepEqual(fs.readdirSync(km.dir).filter((f) => !f.startsWith('.')).sort(), ['AZaz09._-.key', `${'x'.repeat(128)}.key`]);
  assert.throws(() => km.get(42), TypeError);
});

test('unknown algorithms', (t) => {
  const km = keys.KeyManager.open(path.join(tempRoot(t), 'keys'));
  t.after(() => km.close());
  km.store('k', 'key');
  const err = assertError(() => keys.hmac(99, 'k', 'd'), keys.UnsupportedAlgorithmError, keys.Status.UNSUPPORTED_ALGORITHM);
  assert.match(err.message, /99/);
  assertError(() => keys.hmac(0, 'k', 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hmac(-1, 'k', 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hmac(2 ** 32, 'k', 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hmac('md5', 'k', 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hmacVerify(99, 'k', 'd', Buffer.alloc(32)), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hkdf(99, 'ikm', null, null, 10), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hkdfExtract(99, null, 'ikm'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => keys.hkdfExpand(99, Buffer.alloc(64), null, 10), keys.UnsupportedAlgorithmError, 4);
  assertError(() => new keys.Hmac(99, 'k'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.hmac('k', 99, 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.hmacVerify('k', 99, 'd', Buffer.alloc(32)), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.derive('k', 99, null, null, 10), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.hmacTagged('k', 99, 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.hmacVerifyTagged('k', 99, 'd', Buffer.alloc(37)), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.hmacVersion('k', 1, 99, 'd'), keys.UnsupportedAlgorithmError, 4);
  assertError(() => km.deriveVersion('k', 1, 99, null, null, 10), keys.UnsupportedAlgorithmError, 4);
});

test('not found, already exists, verify failed', (t) => {
  const km = keys.KeyManager.open(path.join(tempRoot(t), 'keys'));
  t.after(() => km.close());
  for (const call of [
    () => km.get('nope'),
    () => km.delete('nope'),
    () => km.hmac('nope', 'sha256', 'd'),
    () => km.hmacVerify('nope', 'sha256', 'd', Buffer.alloc(32)),
    () => km.derive('nope', 'sha256', null, null, 8),
    () => km.currentVersion('nope'),
    () => km.getVersion('nope', 1),
    () => km.listVersions('nope'),
    () => km.prune('nope', 1),
    () => km.hmacTagged('nope', 'sha256', 'd'),
    () => km.hmacVerifyTagged('nope', 'sha256', 'd', Buffer.alloc(37)),
  ]) {
    const err = assertError(call, keys.NotFoundError, keys.Status.NOT_FOUND);
    assert.match(err.message, /nope/);
  }
  km.create('here', 'k');
  const err = assertError(() => km.create('here', 'k2'), keys.AlreadyExistsError, keys.Status.ALREADY_EXISTS);
  assert.match(err.message, /here/);
  assertError(() => km.generate('here', 16), keys.AlreadyExistsError, 7);
  assert.deepEqual(km.get('here'), Buffer.from('k'));

  const mac = keys.hmac('sha256', 'k', 'd');
  const flipped = Buffer.from(mac);
  flipped[31] ^= 1;
  assertError(() => keys.hmacVerify('sha256', 'k', 'd', flipped), keys.VerifyFailedError, keys.Status.VERIFY_FAILED);
  assertError(() => keys.hmacVerify('sha256', 'k', 'd', Buffer.alloc(0)), keys.VerifyFailedError, 8);
  assertError(() => keys.hmacVerify('sha256', 'k', 'd', Buffer.concat([mac, Buffer.alloc(1)])), keys.VerifyFailedError, 8);
  assertError(() => km.hmacVerify('here', 'sha256', 'd', flipped), keys.VerifyFailedError, 8);
  const h = new keys.Hmac('sha256', 'k');
  assertError(() => h.update('d').finishVerify(flipped), keys.VerifyFailedError, 8);
  h.close();
});

test('directory and file problems: IO, insecure permissions, corrupt', (t) => {
  const root = tempRoot(t);
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'x');
  const io = assertError(() => keys.KeyManager.open(file), keys.IoError, keys.Status.IO);
  assert.match(io.message, /a-file/);
  assert.equal(io.code, 'ENOTDIR'); // the library found a regular file where a directory was needed
  assertError(() => keys.KeyManager.open(''), keys.InvalidArgumentError, keys.Status.INVALID_ARGUMENT);
  assertError(() => keys.KeyManager.open('a\0b'), keys.InvalidArgumentError, 2);

  const loose = path.join(root, 'loose');
  fs.mkdirSync(loose, { mode: 0o700 });
  fs.chmodSync(loose, 0o777);
  assertError(() => keys.KeyManager.open(loose), keys.InsecurePermissionsError, keys.Status.INSECURE_PERMISSIONS);
  const link = path.join(root, 'link');
  fs.mkdirSync(path.join(root, 'target'), { mode: 0o700 });
  fs.symlinkSync(path.join(root, 'target'), link);
  assertError(() => keys.KeyManager.open(link), keys.InsecurePermissionsError, 10);

  const km = keys.KeyManager.open(path.join(root, 'keys'));
  t.after(() => km.close());
  km.store('open', 'k');
  fs.chmodSync(path.join(km.dir, 'open.key'), 0o644);
  assertError(() => km.get('open'), keys.InsecurePermissionsError, 10);
  fs.writeFileSync(path.join(km.dir, 'empty.key'), '', { mode: 0o600 });
  assertError(() => km.get('empty'), keys.CorruptError, keys.Status.CORRUPT);
  fs.mkdirSync(path.join(km.dir, 'dir.key'), { mode: 0o700 });
  assertError(() => km.get('dir'), keys.CorruptError, 11);
});

test('error objects: classes, codes, last error message', () => {
  const e = new keys.CodomyrmexError(6, 'some message');
  assert.equal(e.code, 'CODOMYRMEX_ERR_NOT_FOUND');
  assert.equal(e.statusName, 'CODOMYRMEX_ERR_NOT_FOUND');
  assert.equal(e.errno, undefined);
  assert.equal(e.status, 6);
  assert.equal(e.name, 'CodomyrmexError');
  const u = new keys.CodomyrmexError(77, 'odd');
  assert.equal(u.code, 'CODOMYRMEX_UNKNOWN_STATUS');
  const io = new keys.IoError(9, 'disk full', 28);
  assert.deepEqual([io.code, io.errno, io.statusName], ['ENOSPC', -28, 'CODOMYRMEX_ERR_IO']);
  const odd = new keys.IoError(9, 'unknown errno', 99999);
  assert.deepEqual([odd.code, odd.errno], ['CODOMYRMEX_ERR_IO', -99999]);
  try {
    keys.hmac(42, '', '');
    assert.fail('expected an error');
  } catch (err) {
    assert.equal(err.code, 'CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM');
    assert.ok(String(err.stack).startsWith('UnsupportedAlgorithmError: '));
    // The message stays readable after later successful calls.
    keys.hmac('sha256', '', '');
    assert.equal(keys.lastErrorMessage(), err.message);
  }
});
