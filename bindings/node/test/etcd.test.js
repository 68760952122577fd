'use strict';
// The etcd open options (timeoutMs, tls, auth) and an etcd source (§12).
// The argument rules are tested everywhere; the source itself on the real
// 3-member cluster that bindings/test.sh starts (TLS with a client
// certificate, authentication) and names in the CODOMYRMEX_TEST_ETCD_*
// variables. Without them those tests are skipped.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const keys = require('..');
const { tempRoot, assertError } = require('./helpers');

const { KeyManager, Status } = keys;

const ENV = 'CODOMYRMEX_TEST_ETCD_';
const endpoints = process.env[`${ENV}ENDPOINTS`] ?? '';
const noCluster = endpoints
  ? false
  : `no etcd cluster: ${ENV}ENDPOINTS is not set (bindings/test.sh starts one and sets it)`;

/** The cluster's TLS files and credentials, from the CODOMYRMEX_TEST_ETCD_* variables. */
function cluster() {
  const v = (name) => {
    const value = process.env[`${ENV}${name}`];
    assert.ok(value, `${ENV}ENDPOINTS is set but ${ENV}${name} is not`);
    return value;
  };
  return {
    tls: { caFile: v('CA_FILE'), certFile: v('CERT_FILE'), keyFile: v('KEY_FILE') },
    auth: { user: v('USER'), passwordFile: v('PASSWORD_FILE') },
    location: `etcd://${endpoints}/bindings-node-${keys.randomBytes(8).toString('hex')}`,
  };
}

test('etcd options: a timeout of 0 is invalid', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  assertError(() => KeyManager.openWith(dir, { timeoutMs: 0 }), keys.InvalidArgumentError, Status.INVALID_ARGUMENT, 'timeout');
  assertError(() => KeyManager.openWith(dir, { timeoutMs: -1 }), keys.InvalidArgumentError, 2, 'timeoutMs');
  assertError(() => KeyManager.openWith(dir, { timeoutMs: 2 ** 32 }), keys.InvalidArgumentError, 2, 'timeoutMs');
  assert.equal(fs.existsSync(dir), false);
});

test('etcd options: a client certificate needs its key', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  for (const tls of [{ certFile: 'client.crt' }, { caFile: 'ca.crt', keyFile: 'client.key' }]) {
    assertError(() => KeyManager.openWith(dir, { tls }), keys.InvalidArgumentError, 2, 'cert_file, key_file');
  }
  assert.equal(fs.existsSync(dir), false);
});

test('etcd options: an empty user is invalid', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  assertError(() => KeyManager.openWith(dir, { auth: { user: '', passwordFile: 'password' } }), keys.InvalidArgumentError, 2, 'user');
  assert.equal(fs.existsSync(dir), false);
});

test('etcd options: values are checked here', (t) => {
  const dir = path.join(tempRoot(t), 'keys');
  assert.throws(() => KeyManager.openWith(dir, { tls: 'ca.crt' }), /tls must be an object/);
  assert.throws(() => KeyManager.openWith(dir, { tls: { ca: 'ca.crt' } }), /unknown field 'ca' of tls/);
  assert.throws(() => KeyManager.openWith(dir, { auth: { user: 'u' } }), /auth.passwordFile must be/);
  assert.throws(() => KeyManager.openWith(dir, { auth: { passwordFile: 'p' } }), /auth.user must be a string/);
  assert.throws(() => KeyManager.openWith(dir, { timeoutMs: '5' }), /timeoutMs must be a number/);
  assertError(() => KeyManager.openWith(dir, { tls: { caFile: 'a\0b' } }), keys.InvalidArgumentError, 2, 'tls.caFile');
  assertError(() => KeyManager.openWith(dir, { tls: { certFile: 'c', keyFile: 'k\0' } }), keys.InvalidArgumentError, 2, 'tls.keyFile');
  assertError(() => KeyManager.openWith(dir, { auth: { user: 'u\0', passwordFile: 'p' } }), keys.InvalidArgumentError, 2, 'auth.user');
  assertError(() => KeyManager.openWith(dir, { auth: { user: 'u', passwordFile: 'p\0' } }), keys.InvalidArgumentError, 2, 'auth.passwordFile');
  assert.equal(fs.existsSync(dir), false);
});

test('etcd options: a private directory ignores them', (t) => {
  const root = tempRoot(t);
  const km = KeyManager.openWith(path.join(root, 'keys'), {
    timeoutMs: 1,
    tls: {},
    auth: { user: 'someone', passwordFile: path.join(root, 'no-such-file') },
  });
  t.after(() => km.close());
  km.store('k', 'key');
  assert.deepEqual(km.get('k'), Buffer.from('key'));
});

test('etcd: a member that never answers is IoError within the timeout', async (t) => {
  // A listening socket nobody answers on: the kernel completes the
  // connection (even while this thread is blocked in the call), and no
  // answer ever comes.
  const silent = net.createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => silent.close(resolve)));
  const endpoint = `127.0.0.1:${silent.address().port}`;
  const km = KeyManager.openWith(`etcd://${endpoint}/bindings-node`, { timeoutMs: 600 });
  t.after(() => km.close());
  const started = performance.now();
  const err = assertError(() => km.list(), keys.IoError, Status.IO, endpoint);
  const took = performance.now() - started;
  assert.match(err.message, /600 ms/);
  assert.ok(took >= 300 && took < 2600, `took ${took} ms with a timeout of 600 ms`);
});

test('etcd: keys on a cluster with TLS and authentication', { skip: noCluster }, (t) => {
  const { tls, auth, location } = cluster();
  const km = KeyManager.openWith(location, { timeoutMs: 5000, tls, auth });
  t.after(() => km.close());
  assert.equal(km.dir, location);
  km.generate('api', 32);
  const first = km.get('api');
  km.store('db', 'database key');
  assert.deepEqual(km.rotate('api', 'rotated over tls'), first);
  assert.equal(first.length, 32);
  assert.equal(km.currentVersion('api'), 2);
  const message = Buffer.from('a message MACed on etcd');
  const mac = km.hmac('api', 'sha384', message);
  assert.deepEqual(mac, keys.hmac('sha384', 'rotated over tls', message));
  km.hmacVerify('api', 'sha384', message, mac);
  assertError(() => km.hmacVerify('api', 'sha384', 'another message', mac), keys.VerifyFailedError, Status.VERIFY_FAILED);
  km.hmacVerifyTagged('api', 'sha256', message, km.hmacTagged('api', 'sha256', message));
  assert.deepEqual(km.list(), ['api', 'db']);
  km.delete('db');
  assert.deepEqual(km.list(), ['api']);
  assert.equal(km.exists('db'), false);
  assertError(() => km.get('db'), keys.NotFoundError, Status.NOT_FOUND, 'db');
  // Another manager (another host) sees the same keys.
  const other = KeyManager.openWith(location, { tls, auth });
  t.after(() => other.close());
  assert.deepEqual(other.get('api'), Buffer.from('rotated over tls'));
});

test('etcd: without auth the cluster refuses', { skip: noCluster }, (t) => {
  const { tls, location } = cluster();
  const km = KeyManager.openWith(location, { timeoutMs: 5000, tls }); // opening sends nothing
  t.after(() => km.close());
  assertError(() => km.list(), keys.InvalidArgumentError, Status.INVALID_ARGUMENT, 'authentication');
});
