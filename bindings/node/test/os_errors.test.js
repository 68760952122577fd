'use strict';
// The errno behind a failure (codomyrmex_last_os_error), carried as Node's
// own fs errors carry it: err.code 'ENOTDIR', err.errno -20.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const keys = require('..');
const { tempRoot, assertError, holdLock } = require('./helpers');

const { KeyManager, Status } = keys;
const { errno } = os.constants;

function sysfsWritable() {
  try {
    return fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => {
        const f = line.split(' ');
        return f[1] === '/sys' && f[2] === 'sysfs' && f[3].split(',').includes('rw');
      });
  } catch {
    return false;
  }
}

test('a path through a regular file: ENOTDIR, as fs reports it', (t) => {
  const root = tempRoot(t);
  fs.writeFileSync(path.join(root, 'plain-file'), 'x');
  const dir = path.join(root, 'plain-file', 'keys');
  for (const open of [() => KeyManager.open(dir), () => KeyManager.openWith(dir)]) {
    const err = assertError(open, keys.IoError, Status.IO, 'plain-file');
    assert.equal(err.code, 'ENOTDIR');
    assert.equal(err.errno, -errno.ENOTDIR);
    assert.equal(err.statusName, 'CODOMYRMEX_ERR_IO');
    assert.equal(keys.lastOsError(), errno.ENOTDIR);
  }
  // The same fields as Node's own error for the same path:
  assert.throws(() => fs.mkdirSync(dir), { code: 'ENOTDIR', errno: -errno.ENOTDIR });
});

test('a read-only open of a missing directory: ENOENT, and nothing is created', (t) => {
  const root = tempRoot(t);
  const err = assertError(
    () => KeyManager.openWith(path.join(root, 'missing', 'keys'), { readOnly: true }),
    keys.IoError,
    Status.IO,
    'missing',
  );
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.errno, -errno.ENOENT);
  assert.deepEqual(fs.readdirSync(root), []);
});

test('a directory nobody may create: EPERM or EACCES', { skip: sysfsWritable() ? false : '/sys is not a read-write sysfs' }, () => {
  // sysfs refuses mkdir to every user, root included.
  const err = assertError(() => KeyManager.open('/sys/codomyrmex-keys-test/keys'), keys.IoError, 9, '/sys/codomyrmex-keys-test');
  assert.ok(['EPERM', 'EACCES'].includes(err.code), err.code);
  assert.ok([-errno.EPERM, -errno.EACCES].includes(err.errno));
});

test('the lock timeout: ETIMEDOUT after lockTimeoutMs', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  const km = KeyManager.openWith(dir, { lockTimeoutMs: 100 });
  t.after(() => km.close());
  km.store('k', 'first');
  const release = holdLock(dir);
  let waited;
  let err;
  try {
    const started = process.hrtime.bigint();
    err = assertError(() => km.store('k', 'second'), keys.IoError, Status.IO, 'timed out waiting for the lock');
    waited = Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    release();
  }
  assert.ok(err.message.includes("'k'"));
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.errno, -errno.ETIMEDOUT);
  assert.ok(waited >= 90 && waited < 10000, `waited ${waited} ms`);
  assert.deepEqual(km.get('k'), Buffer.from('first'));
  km.store('k', 'second');
  assert.deepEqual(km.get('k'), Buffer.from('second'));
});

test('the library\'s own verdicts carry no errno', (t) => {
  const km = KeyManager.open(path.join(tempRoot(t), 'keys'));
  t.after(() => km.close());
  const err = assertError(() => km.get('absent'), keys.NotFoundError, Status.NOT_FOUND, 'absent');
  assert.equal(err.errno, undefined);
  assert.equal(err.code, 'CODOMYRMEX_ERR_NOT_FOUND');
  assert.equal(keys.lastOsError(), 0);
});
