'use strict';
// Shared test helpers: temporary directories, error checks, KEKs, a
// Kubernetes Secret volume, the writers' lock.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { getSystemErrorName } = require('node:util');
const koffi = require('koffi');
const keys = require('..');

/** A fresh temporary directory, removed after the test. */
function tempRoot(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codomyrmex-node-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

/**
 * Asserts that `fn` throws `Cls` with `status`, a one-line message that
 * contains `names` (when given), and a `code` that is the errno's name if
 * there is an errno, else the status name. Returns the error.
 */
function assertError(fn, Cls, status, names) {
  let caught = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected ${Cls.name}`);
  assert.ok(caught instanceof Cls, `expected ${Cls.name}, got ${caught.name}: ${caught.message}`);
  assert.ok(caught instanceof keys.CodomyrmexError);
  assert.equal(caught.status, status);
  assert.equal(caught.statusName, keys.statusName(status));
  assert.equal(caught.code, caught.errno === undefined ? caught.statusName : getSystemErrorName(caught.errno));
  assert.ok(caught.message.length > 0, 'empty message');
  assert.ok(!caught.message.includes('\n'));
  if (names !== undefined) assert.ok(caught.message.includes(names), `'${names}' not in: ${caught.message}`);
  return caught;
}

/** Writes `data` to a new file of mode 0600. */
function writePrivate(file, data) {
  fs.writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
}

/** A key-encryption key: 32 random bytes in a private file. */
function makeKek(file) {
  const kek = crypto.randomBytes(32);
  writePrivate(file, kek);
  return kek;
}

/** The id the library gives a KEK: HMAC-SHA256(KEK, "codomyrmex_keys kek id v1"), 8 bytes, in hex. */
function kekId(kek) {
  return keys.hmac('sha256', kek, 'codomyrmex_keys kek id v1').subarray(0, 8).toString('hex');
}

/** The tagged MAC (HMAC-SHA256) of `data` with version `version` of `key`, computed here. */
function tagged(version, key, data) {
  const head = Buffer.alloc(5);
  head[0] = 1;
  head.writeUInt32BE(version, 1);
  return Buffer.concat([head, keys.hmac('sha256', key, data)]);
}

/**
 * Fills `mount` as the kubelet fills a Secret volume, then swaps `..data`
 * to it: `versions[id]` lists a key's versions, oldest first; the last is
 * `<id>.key`, the others `<id>.key.v<N>`, 0644 files in a `..<stamp>`
 * directory; every name at the top links through `..data`.
 */
function secretVolume(mount, versions, stamp = '2024_05_01_12_00_00.000000001') {
  fs.mkdirSync(mount, { recursive: true });
  fs.chmodSync(mount, 0o1777); // a tmpfs mount point: world-writable with the sticky bit
  const dataDir = path.join(mount, `..${stamp}`);
  fs.mkdirSync(dataDir, { mode: 0o755 });
  const names = [];
  for (const [id, list] of Object.entries(versions)) {
    list.forEach((key, i) => {
      const name = i === list.length - 1 ? `${id}.key` : `${id}.key.v${i + 1}`;
      fs.writeFileSync(path.join(dataDir, name), key, { mode: 0o644 });
      names.push(name);
    });
  }
  fs.symlinkSync(path.basename(dataDir), path.join(mount, '..data_tmp'));
  fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data')); // the atomic swap
  for (const name of names) {
    const link = path.join(mount, name);
    if (!fs.existsSync(link)) fs.symlinkSync(`..data/${name}`, link);
  }
  return dataDir;
}

let fcntl = null;

/**
 * Holds the writers' lock of `keyDir` (a record lock over the whole
 * `.lock` file, through libc's fcntl) until the returned function is
 * called.
 */
function holdLock(keyDir) {
  fcntl ??= koffi.load('libc.so.6').func('int fcntl(int fd, int cmd, ...)');
  const F_SETLK = 6;
  const F_WRLCK = 1;
  const F_UNLCK = 2;
  const flock = (type) => {
    const s = Buffer.alloc(32); // struct flock: l_type, l_whence, l_start, l_len (0: to the end), l_pid
    s.writeInt16LE(type, 0);
    return s;
  };
  const fd = fs.openSync(path.join(keyDir, '.lock'), 'r+');
  assert.equal(fcntl(fd, F_SETLK, 'uint8_t *', flock(F_WRLCK)), 0, 'could not lock .lock');
  return () => {
    fcntl(fd, F_SETLK, 'uint8_t *', flock(F_UNLCK));
    fs.closeSync(fd);
  };
}

/** Every regular file under `root`: relative path -> content and mtime. */
function tree(root) {
  const out = {};
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) {
        out[path.relative(root, file)] = [fs.readFileSync(file).toString('hex'), fs.statSync(file, { bigint: true }).mtimeNs];
      }
    }
  };
  walk(root);
  return out;
}

/** The files under `root` whose bytes contain `secret`. */
function filesContaining(root, secret) {
  return Object.entries(tree(root))
    .filter(([, [hex]]) => Buffer.from(hex, 'hex').includes(secret))
    .map(([name]) => name);
}

module.exports = {
  tempRoot,
  assertError,
  writePrivate,
  makeKek,
  kekId,
  tagged,
  secretVolume,
  holdLock,
  tree,
  filesContaining,
};
