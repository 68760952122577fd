'use strict';
// KeyManager.openWith: locations, open options and mounted sources (§9).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const keys = require('..');
const { tempRoot, assertError, secretVolume, tagged, tree } = require('./helpers');

const { KeyManager, Status } = keys;

test('openWith: a path, no options, a file: URL', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  const km = KeyManager.openWith(dir);
  km.store('k', 'key');
  assert.equal(km.dir, fs.realpathSync(dir));
  km.close();
  const again = KeyManager.openWith(pathToFileURL(dir), {});
  assert.deepEqual(again.get('k'), Buffer.from('key'));
  again.close();
});

test('openWith: unknown schemes are invalid and create nothing', (t) => {
  const root = tempRoot(t);
  process.chdir(root);
  t.after(() => process.chdir(__dirname));
  for (const location of ['consul://127.0.0.1:8500', 'vault:secret/app', 'a:b']) {
    assertError(() => KeyManager.openWith(location), keys.InvalidArgumentError, Status.INVALID_ARGUMENT, location.split(':')[0]);
  }
  assert.deepEqual(fs.readdirSync(root), []);
  KeyManager.openWith('./a:b').close(); // the documented way to name such a directory
  assert.ok(fs.statSync(path.join(root, 'a:b')).isDirectory());
});

test('readOnly: every write fails and touches nothing', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  const writer = KeyManager.open(dir);
  writer.store('k', 'version one');
  writer.rotate('k', 'version two');
  writer.stage('k', 'staged three');
  writer.close();
  const before = tree(dir);
  const km = KeyManager.openWith(dir, { readOnly: true });
  t.after(() => km.close());
  const writes = {
    store: () => km.store('k', 'x'),
    create: () => km.create('new', 'x'),
    generate: () => km.generate('new'),
    rotate: () => km.rotate('k', 'x'),
    delete: () => km.delete('k'),
    prune: () => km.prune('k', 1),
    stage: () => km.stage('k', 'x'),
    stageGenerate: () => km.stageGenerate('k'),
    promote: () => km.promote('k', 3),
  };
  for (const [name, write] of Object.entries(writes)) {
    const err = assertError(write, keys.InvalidArgumentError, Status.INVALID_ARGUMENT, 'read-only key source');
    assert.match(err.message, /'(k|new)'/, name);
  }
  assertError(() => km.sealAll(), keys.InvalidArgumentError, 2, 'read-only key source');
  assert.deepEqual(km.get('k'), Buffer.from('version two'));
  assert.deepEqual(km.listVersions('k'), [1, 2, 3]);
  assert.deepEqual(tree(dir), before);
});

test('open options are checked here and by the library', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  assert.throws(() => KeyManager.openWith(dir, { readonly: true }), /unknown open option 'readonly'/);
  assert.throws(() => KeyManager.openWith(dir, { readOnly: 1 }), /readOnly must be a boolean/);
  assert.throws(() => KeyManager.openWith(dir, 'readOnly'), TypeError);
  assertError(() => KeyManager.openWith(dir, { lockTimeoutMs: -1 }), keys.InvalidArgumentError, 2, 'lockTimeoutMs');
  assertError(() => KeyManager.openWith(dir, { trustedUid: 2 ** 32 }), keys.InvalidArgumentError, 2, 'trustedUid');
  assertError(() => KeyManager.openWith(dir, { kekFile: 'a\0b' }), keys.InvalidArgumentError, 2, 'kekFile');
  assertError(() => KeyManager.openWith(dir, { kekCredential: 'a\0b' }), keys.InvalidArgumentError, 2, 'kekCredential');
  const err = assertError(() => KeyManager.openWith(dir, { kekCredential: '../kek' }), keys.InvalidArgumentError, 2, '../kek');
  assert.match(err.message, /credential/);
  assert.equal(fs.existsSync(dir), false);
  const km = KeyManager.openWith(dir, { trustedUid: 65534, lockTimeoutMs: 0, readOnly: undefined });
  km.store('k', 'key'); // a private directory ignores trustedUid; 0 waits forever
  km.close();
});

const OLD = Buffer.from('api key, version 1');
const NEW = Buffer.from('api key, version 2');

function mounted(t, options) {
  const root = tempRoot(t);
  const mount = path.join(root, 'secret');
  const dataDir = secretVolume(mount, { api: [OLD, NEW], db: [Buffer.from('database key')] });
  const open = (opts = options) => {
    const km = KeyManager.openWith(`mounted:${mount}`, opts);
    t.after(() => km.close());
    return km;
  };
  return { root, mount, dataDir, open };
}

test('mounted: a Kubernetes Secret volume, older versions as <id>.key.v<N>', (t) => {
  const { mount, open } = mounted(t);
  const km = open();
  assert.equal(km.dir, mount);
  assert.deepEqual(km.list(), ['api', 'db']);
  assert.deepEqual(km.get('api'), NEW);
  assert.equal(km.currentVersion('api'), 2);
  assert.deepEqual(km.listVersions('api'), [1, 2]);
  assert.deepEqual(km.getVersion('api', 1), OLD);
  assert.deepEqual(km.hmac('api', 'sha512', 'm'), keys.hmac('sha512', NEW, 'm'));
  km.hmacVerifyTagged('api', 'sha256', 'message', tagged(1, OLD, 'message')); // made before the rollout
  assert.deepEqual(km.hmacTagged('api', 'sha256', 'message'), tagged(2, NEW, 'message'));
  assertError(() => km.hmacVerifyTagged('api', 'sha256', 'message', tagged(1, NEW, 'message')), keys.VerifyFailedError, 8, 'MAC');
});

test('mounted: writes are refused', (t) => {
  const { mount, open } = mounted(t);
  const km = open();
  const before = tree(mount);
  for (const write of [
    () => km.store('api', 'x'),
    () => km.create('new', 'x'),
    () => km.rotate('api', 'x'),
    () => km.delete('db'),
    () => km.prune('api', 1),
    () => km.stage('api', 'x'),
    () => km.promote('api', 2),
  ]) {
    assertError(write, keys.InvalidArgumentError, Status.INVALID_ARGUMENT, 'read-only key source');
  }
  assert.deepEqual(tree(mount), before);
});

test('mounted: an update is seen by the next call and by a keyring refresh', (t) => {
  const { mount, open } = mounted(t);
  const km = open();
  const ring = km.load('api', 'sha256');
  t.after(() => ring.close());
  secretVolume(mount, { api: [OLD, NEW, Buffer.from('api key, version 3')] }, '2024_06_01_00_00_00.0');
  assert.deepEqual(km.get('api'), Buffer.from('api key, version 3'));
  assert.equal(km.currentVersion('api'), 3);
  assert.equal(ring.refresh(), true);
  assert.equal(ring.currentVersion(), 3);
});

test('mounted: an untrusted owner unless trustedUid names it', (t) => {
  const { dataDir, open } = mounted(t);
  fs.chownSync(path.join(dataDir, 'db.key'), 65534, 65534);
  const err = assertError(() => open().get('db'), keys.InsecurePermissionsError, Status.INSECURE_PERMISSIONS, 'db');
  assert.match(err.message, /65534/);
  assert.deepEqual(open({ trustedUid: 65534 }).get('db'), Buffer.from('database key'));
});

test('mounted: a link leading outside is refused, with the kernel\'s EXDEV', (t) => {
  const { root, dataDir, open } = mounted(t);
  fs.writeFileSync(path.join(root, 'outside.key'), 'not in the source');
  fs.symlinkSync(path.join(root, 'outside.key'), path.join(dataDir, 'evil.key'));
  const err = assertError(() => open().get('evil'), keys.InsecurePermissionsError, 10, 'evil');
  assert.match(err.message, /leads outside the mounted source/);
  assert.equal(err.code, 'EXDEV');
  assert.equal(err.statusName, 'CODOMYRMEX_ERR_INSECURE_PERMISSIONS');
});
