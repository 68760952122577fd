'use strict';
// HMAC (one-shot, verify, streaming), HKDF and library-wide functions.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const keys = require('..');
const { RFC4231, RFC5869 } = require('./vectors');

const ALGS = [
  [keys.HashAlg.SHA256, 'sha256', 32],
  [keys.HashAlg.SHA384, 'sha384', 48],
  [keys.HashAlg.SHA512, 'sha512', 64],
];

test('library: version, status names, constants', () => {
  assert.match(keys.version(), /^\d+\.\d+\.\d+/);
  assert.equal(keys.version().split('.')[0], '1');
  assert.equal(keys.statusName(0), 'CODOMYRMEX_OK');
  assert.equal(keys.statusName(6), 'CODOMYRMEX_ERR_NOT_FOUND');
  assert.equal(keys.statusName(12), 'CODOMYRMEX_ERR_INTERNAL');
  assert.equal(keys.statusName(13), 'CODOMYRMEX_UNKNOWN_STATUS');
  assert.equal(keys.statusName(-1), 'CODOMYRMEX_UNKNOWN_STATUS');
  for (const [name, value] of Object.entries(keys.Status)) {
    const expected = value === 0 ? 'CODOMYRMEX_OK' : `CODOMYRMEX_ERR_${name}`;
    assert.equal(keys.statusName(value), expected);
  }
  assert.equal(keys.MAX_DIGEST_LEN, keys.digestLength(keys.HashAlg.SHA512));
  assert.equal(keys.MAX_KEY_LEN, 65536);
  assert.equal(keys.MAX_KEY_ID_LEN, 128);
  assert.equal(keys.TAG_OVERHEAD, 5);
  assert.ok(keys.libraryPath.includes('libcodomyrmex_keys'));
});

test('algorithms: names and digest lengths', () => {
  for (const [alg, name, len] of ALGS) {
    assert.equal(keys.digestLength(alg), len);
    assert.equal(keys.digestLength(name), len);
    assert.equal(keys.hashAlgFromName(name), alg);
    assert.equal(keys.hashAlgFromName(name.toUpperCase()), alg);
    assert.equal(keys.hashAlgFromName(`SHA-${len * 8}`), alg);
  }
  assert.throws(() => keys.hashAlgFromName('md5'), keys.UnsupportedAlgorithmError);
  assert.throws(() => keys.digestLength(99), keys.UnsupportedAlgorithmError);
});

test('random bytes and secure zero', () => {
  const a = keys.randomBytes(32);
  const b = keys.randomBytes(32);
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  assert.equal(keys.randomBytes(0).length, 0);
  keys.secureZero(a);
  assert.deepEqual(a, Buffer.alloc(32));
  const view = new Uint32Array([1, 2, 3]);
  keys.secureZero(view);
  assert.deepEqual(Array.from(view), [0, 0, 0]);
  keys.secureZero(null);
});

for (const tc of RFC4231) {
  test(`RFC 4231 case ${tc.n}: one-shot, verify and stream for SHA-256/384/512`, () => {
    ALGS.forEach(([alg, name, len], i) => {
      const expected = Buffer.from(tc.mac[i], 'hex');
      const mac = keys.hmac(alg, tc.key, tc.data);
      assert.equal(mac.length, len);
      assert.deepEqual(keys.hmac(name, tc.key, tc.data), mac);
      if (tc.truncated) {
        assert.deepEqual(mac.subarray(0, 16), expected);
        // A correct prefix never verifies.
        assert.throws(() => keys.hmacVerify(alg, tc.key, tc.data, expected), keys.VerifyFailedError);
      } else {
        assert.equal(mac.toString('hex'), tc.mac[i]);
        keys.hmacVerify(alg, tc.key, tc.data, expected);
      }
      keys.hmacVerify(alg, tc.key, tc.data, mac);
      for (const chunk of [1, 7, 64, 1000]) {
        const h = new keys.Hmac(alg, tc.key);
        try {
          for (let off = 0; off < tc.data.length; off += chunk) h.update(tc.data.subarray(off, off + chunk));
          assert.deepEqual(h.finish(), mac);
          // finish reset the stream to its keyed start: same message again.
          h.update(tc.data).finishVerify(mac);
        } finally {
          h.close();
        }
      }
    });
  });
}

for (const tc of RFC5869) {
  test(`RFC 5869 case ${tc.n}: derive, extract, expand`, () => {
    const okmLen = tc.okm.length / 2;
    const salt = tc.salt.length === 0 ? null : tc.salt;
    assert.equal(keys.hkdf(keys.HashAlg.SHA256, tc.ikm, salt, tc.info, okmLen).toString('hex'), tc.okm);
    assert.equal(keys.hkdf('sha256', tc.ikm, tc.salt, tc.info, okmLen).toString('hex'), tc.okm);
    const prk = keys.hkdfExtract(keys.HashAlg.SHA256, salt, tc.ikm);
    assert.equal(prk.toString('hex'), tc.prk);
    assert.equal(keys.hkdfExpand(keys.HashAlg.SHA256, prk, tc.info, okmLen).toString('hex'), tc.okm);
  });
}

test('HMAC and HKDF agree with node:crypto on random inputs', () => {
  for (let i = 0; i < 40; i++) {
    const key = crypto.randomBytes(i * 7);
    const data = crypto.randomBytes(i * 13);
    for (const [alg, name] of ALGS) {
      const expected = crypto.createHmac(name, key).update(data).digest();
      assert.deepEqual(keys.hmac(alg, key, data), expected, `hmac ${name} #${i}`);
      const salt = crypto.randomBytes(i);
      const info = crypto.randomBytes(i % 5);
      const len = 1 + i * 11;
      const okm = Buffer.from(crypto.hkdfSync(name, key, salt, info, len));
      assert.deepEqual(keys.hkdf(alg, key, salt, info, len), okm, `hkdf ${name} #${i}`);
    }
  }
});

test('inputs: strings as UTF-8, typed arrays, ArrayBuffer, empty', () => {
  const mac = keys.hmac('sha256', Buffer.from('k'), Buffer.from('héllo'));
  assert.deepEqual(keys.hmac('sha256', 'k', 'héllo'), mac);
  const bytes = Buffer.from('héllo');
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  assert.deepEqual(keys.hmac('sha256', new Uint8Array([107]), ab), mac);
  assert.deepEqual(keys.hmac('sha256', 'k', new DataView(ab)), mac);
  // A view into the middle of a larger buffer.
  const big = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
  assert.deepEqual(keys.hmac('sha256', 'k', big.subarray(2, 2 + bytes.length)), mac);
  const empty = crypto.createHmac('sha256', Buffer.alloc(0)).update(Buffer.alloc(0)).digest();
  assert.deepEqual(keys.hmac('sha256', '', ''), empty);
  assert.deepEqual(keys.hmac('sha256', Buffer.alloc(0), new Uint8Array(0)), empty);
  assert.throws(() => keys.hmac('sha256', 42, 'x'), TypeError);
  assert.throws(() => keys.hmac('sha256', 'k'), TypeError);
});

test('Hmac stream: reuse, close, dispose', () => {
  const h = new keys.Hmac('sha512', 'key');
  const m1 = h.update('a').update('b').finish();
  assert.deepEqual(m1, keys.hmac('sha512', 'key', 'ab'));
  assert.deepEqual(h.finish(), keys.hmac('sha512', 'key', ''));
  h.update('ab');
  assert.throws(() => h.finishVerify(m1.subarray(0, 32)), keys.VerifyFailedError);
  // The failed verify reset the stream too.
  h.update('ab').finishVerify(m1);
  assert.equal(h.closed, false);
  h.close();
  assert.equal(h.closed, true);
  h.close();
  assert.throws(() => h.update('x'), (err) => err instanceof keys.NullPointerError && err.status === 1);
  assert.throws(() => h.finish(), keys.NullPointerError);
  if (typeof Symbol.dispose === 'symbol') {
    const h2 = new keys.Hmac('sha256', 'k');
    h2[Symbol.dispose]();
    assert.equal(h2.closed, true);
  }
  assert.throws(() => new keys.Hmac(99, 'k'), keys.UnsupportedAlgorithmError);
});

test('HKDF lengths: 1 ..= 255 x digest length', () => {
  for (const [alg, , len] of ALGS) {
    assert.equal(keys.hkdf(alg, 'ikm', null, null, 1).length, 1);
    assert.equal(keys.hkdf(alg, 'ikm', null, null, 255 * len).length, 255 * len);
    assert.throws(() => keys.hkdf(alg, 'ikm', null, null, 255 * len + 1), keys.InvalidArgumentError);
    assert.throws(() => keys.hkdf(alg, 'ikm', null, null, 0), keys.InvalidArgumentError);
    const prk = keys.hkdfExtract(alg, null, 'ikm');
    assert.equal(prk.length, len);
    assert.throws(() => keys.hkdfExpand(alg, prk.subarray(0, len - 1), null, 16), keys.InvalidArgumentError);
  }
  assert.throws(() => keys.hkdf('sha256', 'ikm', null, null, -1), keys.InvalidArgumentError);
  assert.throws(() => keys.hkdf('sha256', 'ikm', null, null, 1.5), keys.InvalidArgumentError);
  // No salt and an empty salt are the same (HashLen zero bytes).
  assert.deepEqual(keys.hkdf('sha256', 'ikm', null, null, 32), keys.hkdf('sha256', 'ikm', '', '', 32));
  assert.deepEqual(keys.hkdf('sha256', 'ikm', Buffer.alloc(32), '', 32), keys.hkdf('sha256', 'ikm', null, '', 32));
});
