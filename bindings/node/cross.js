'use strict';
// Cross-language check, the protocol every binding (Go, Ruby, Node, Python)
// implements:
//
//   cross.sh write DIR   stores key `cross-node` = UTF-8 "cross-language key from node"
//                        (replacing any existing one), writes the lowercase hex of
//                        HMAC-SHA256("cross-language message") made by the key manager
//                        to DIR/cross-node.mac, of its tagged MAC to DIR/cross-node.tag and
//                        of the tagged MAC made by a keyring of the key (SHA-256) to
//                        DIR/cross-node.ktag, each followed by "\n".
//   cross.sh verify DIR  for every DIR/cross-<lang>.mac: checks the MAC with the key
//                        manager (hmacVerify), the .tag and .ktag files with
//                        hmacVerifyTagged, the MAC with the one-shot hmacVerify under the
//                        key read back with get, and the MAC, .tag and .ktag with a
//                        keyring of the key (SHA-256); prints one line per language;
//                        exits nonzero on any failure or when no .mac file is found.

const fs = require('node:fs');
const path = require('node:path');
const keys = require('./index');

const LANG = 'node';
const MESSAGE = 'cross-language message';
const keyIdOf = (lang) => `cross-${lang}`;
const keyBytesOf = (lang) => Buffer.from(`cross-language key from ${lang}`, 'utf8');

function readHex(file) {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^(?:[0-9a-f]{2})+$/.test(text)) throw new Error(`${path.basename(file)} is not lowercase hex`);
  return Buffer.from(text, 'hex');
}

function write(dir) {
  const km = keys.KeyManager.open(dir);
  try {
    const id = keyIdOf(LANG);
    km.store(id, keyBytesOf(LANG));
    const mac = km.hmac(id, keys.HashAlg.SHA256, MESSAGE);
    const tag = km.hmacTagged(id, keys.HashAlg.SHA256, MESSAGE);
    const ring = km.load(id, keys.HashAlg.SHA256);
    let ringTag;
    try {
      ringTag = ring.hmacTagged(MESSAGE);
    } finally {
      ring.close();
    }
    fs.writeFileSync(path.join(dir, `${id}.mac`), `${mac.toString('hex')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, `${id}.tag`), `${tag.toString('hex')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, `${id}.ktag`), `${ringTag.toString('hex')}\n`, { mode: 0o600 });
    console.log(`wrote ${id}.mac, .tag and .ktag (key version ${km.currentVersion(id)})`);
  } finally {
    km.close();
  }
  return 0;
}

function verifyOne(km, dir, lang) {
  const id = keyIdOf(lang);
  const problems = [];
  const attempt = (what, fn) => {
    try {
      fn();
    } catch (err) {
      problems.push(`${what}: ${err.code ?? err.name} ${err.message}`);
    }
  };
  const read = (suffix) => {
    let bytes = null;
    attempt(`read .${suffix}`, () => {
      bytes = readHex(path.join(dir, `${id}.${suffix}`));
    });
    return bytes;
  };
  const mac = read('mac');
  const tags = Object.entries({ '.tag': read('tag'), '.ktag': read('ktag') }).filter(([, t]) => t !== null);
  if (mac !== null) {
    attempt('key manager hmacVerify', () => km.hmacVerify(id, keys.HashAlg.SHA256, MESSAGE, mac));
    attempt('get + one-shot hmacVerify', () => {
      const key = km.get(id);
      try {
        if (!key.equals(keyBytesOf(lang))) throw new Error('stored key is not the protocol key');
        keys.hmacVerify(keys.HashAlg.SHA256, key, MESSAGE, mac);
      } finally {
        keys.secureZero(key);
      }
    });
  }
  for (const [name, tag] of tags) {
    attempt(`hmacVerifyTagged ${name}`, () => km.hmacVerifyTagged(id, keys.HashAlg.SHA256, MESSAGE, tag));
  }
  attempt('keyring', () => {
    const ring = km.load(id, keys.HashAlg.SHA256);
    try {
      if (mac !== null) ring.hmacVerify(MESSAGE, mac);
      for (const [, tag] of tags) ring.hmacVerifyTagged(MESSAGE, tag);
    } finally {
      ring.close();
    }
  });
  return problems;
}

function verify(dir) {
  const langs = fs
    .readdirSync(dir)
    .map((name) => /^cross-(.+)\.mac$/.exec(name))
    .filter((m) => m !== null)
    .map((m) => m[1])
    .sort();
  if (langs.length === 0) {
    console.error(`FAIL: no cross-*.mac file in ${dir}`);
    return 1;
  }
  let failures = 0;
  const km = keys.KeyManager.open(dir);
  try {
    for (const lang of langs) {
      const problems = verifyOne(km, dir, lang);
      if (problems.length === 0) {
        console.log(`ok   ${lang}: hmacVerify, hmacVerifyTagged, get + one-shot hmacVerify, keyring (checked by ${LANG})`);
      } else {
        failures += 1;
        console.log(`FAIL ${lang}: ${problems.join('; ')} (checked by ${LANG})`);
      }
    }
  } finally {
    km.close();
  }
  return failures === 0 ? 0 : 1;
}

function main(argv) {
  const [mode, dir] = argv;
  if (argv.length !== 2 || (mode !== 'write' && mode !== 'verify')) {
    console.error('usage: cross.sh write|verify DIR');
    return 2;
  }
  try {
    return mode === 'write' ? write(dir) : verify(dir);
  } catch (err) {
    console.error(`FAIL: ${err.code ?? err.name}: ${err.message}`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
