// Compiled with `tsc --noEmit --strict` only: checks that the declarations in
// index.d.ts describe a usable API. Not run.

import * as keys from '..';
import {
  CodomyrmexError,
  HashAlg,
  Hmac,
  KeyManager,
  Keyring,
  NotFoundError,
  VerifyFailedError,
  type Algorithm,
  type BinaryLike,
  type ErrnoCode,
  type OpenOptions,
  type EtcdTls,
  type EtcdAuth,
  type StatusCode,
} from '..';

function library(): void {
  const v: string = keys.version();
  const name: StatusCode = keys.statusName(keys.Status.NOT_FOUND);
  const msg: string = keys.lastErrorMessage();
  const errno: number = keys.lastOsError();
  const r: Buffer = keys.randomBytes(32);
  keys.secureZero(r);
  keys.secureZero(new Uint32Array(4));
  keys.secureZero(null);
  const lens: number = keys.MAX_DIGEST_LEN + keys.MAX_KEY_LEN + keys.MAX_KEY_ID_LEN + keys.TAG_OVERHEAD;
  const alg: 1 | 2 | 3 = keys.hashAlgFromName('SHA-256');
  const dl: 32 | 48 | 64 = keys.digestLength(HashAlg.SHA384);
  const path: string = keys.libraryPath;
  void [v, name, msg, errno, lens, alg, dl, path];
}

function oneShot(key: BinaryLike, data: BinaryLike): void {
  const algs: Algorithm[] = [HashAlg.SHA256, 'sha512', 3];
  for (const alg of algs) {
    const mac: Buffer = keys.hmac(alg, key, data);
    keys.hmacVerify(alg, key, data, mac);
    const okm: Buffer = keys.hkdf(alg, key, null, 'info', 42);
    const prk: Buffer = keys.hkdfExtract(alg, undefined, okm);
    const out: Buffer = keys.hkdfExpand(alg, prk, new Uint8Array([1, 2]), 16);
    void out;
  }
  keys.hmac('sha256', new ArrayBuffer(4), new DataView(new ArrayBuffer(2)));
}

function streaming(): Buffer {
  const h = new Hmac(HashAlg.SHA256, 'key');
  try {
    const mac = h.update('a').update(Buffer.from('b')).finish();
    h.update('ab').finishVerify(mac);
    const closed: boolean = h.closed;
    void closed;
    return mac;
  } finally {
    h.close();
  }
}

function withDispose(): void {
  const h = new Hmac('sha384', 'key');
  h[Symbol.dispose]();
  const km = KeyManager.open();
  const ring = km.load('a', 'sha256');
  ring[Symbol.dispose]();
  km[Symbol.dispose]();
}

function sources(dir: string): void {
  const options: OpenOptions = { readOnly: true, trustedUid: 1000, lockTimeoutMs: 500, requireSealed: false };
  KeyManager.openWith('mounted:/run/secrets', options).close();
  KeyManager.openWith(new URL('file:///srv/keys'), { kekFile: '/etc/app/kek' }).close();
  KeyManager.openWith(null, { kekCredential: 'kek' }).close();
  const tls: EtcdTls = { caFile: '/etc/etcd/ca.pem', certFile: '/etc/app/etcd.pem', keyFile: new URL('file:///k') };
  const auth: EtcdAuth = { user: 'app', passwordFile: '/etc/app/etcd.password' };
  KeyManager.openWith('etcd://127.0.0.1:2379/app', { timeoutMs: 2000, tls, auth }).close();
  KeyManager.openWith('etcd://127.0.0.1:2379', { tls: {} }).close();
  const km = KeyManager.openWith(dir);
  try {
    const staged: number = km.stage('a', 'next key');
    const generated: number = km.stageGenerate('a', 48);
    km.promote('a', staged);
    const sealed: number = km.sealAll();
    const ring: Keyring = km.load('a', HashAlg.SHA384, 100);
    try {
      const changed: boolean = ring.refresh();
      const current: number = ring.currentVersion();
      const mac: Buffer = ring.hmac('data');
      ring.hmacVerify('data', mac);
      const tag: Buffer = ring.hmacTagged(new Uint8Array([1, 2]));
      ring.hmacVerifyTagged(new Uint8Array([1, 2]), tag);
      const id: string = ring.keyId;
      const alg: 1 | 2 | 3 = ring.alg;
      void [generated, sealed, changed, current, id, alg, ring.closed];
    } finally {
      ring.close();
    }
  } catch (err) {
    if (err instanceof CodomyrmexError) {
      const code: StatusCode | ErrnoCode = err.code;
      const statusName: StatusCode = err.statusName;
      const errno: number | undefined = err.errno;
      if (err.code === 'EACCES' || err.code === 'CODOMYRMEX_ERR_IO') console.error(code, statusName, errno);
    }
  } finally {
    km.close();
  }
}

function keyManager(dir: string): void {
  const km: KeyManager = KeyManager.open(dir);
  KeyManager.open(Buffer.from(dir)).close();
  KeyManager.open(new URL('file:///srv/app/keys')).close();
  try {
    const d: string = km.dir;
    km.store('a', 'key bytes');
    km.create('b', Buffer.from('k'));
    km.generate('c');
    km.generate('d', 64);
    const key: Buffer = km.get('a');
    keys.secureZero(key);
    const present: boolean = km.exists('a');
    const ids: string[] = km.list();
    const old: Buffer | null = km.rotate('a', 'new key');
    if (old !== null) keys.secureZero(old);
    const mac: Buffer = km.hmac('a', HashAlg.SHA256, 'msg');
    km.hmacVerify('a', HashAlg.SHA256, 'msg', mac);
    const okm: Buffer = km.derive('a', 'sha256', 'salt', null, 32);
    const cur: number = km.currentVersion('a');
    const v1: Buffer = km.getVersion('a', 1);
    const versions: number[] = km.listVersions('a');
    km.prune('a', 2);
    const mv: Buffer = km.hmacVersion('a', 0, 'sha512', 'msg');
    const dv: Buffer = km.deriveVersion('a', 1, 'sha256', null, undefined, 16);
    const tag: Buffer = km.hmacTagged('a', 'sha256', 'msg');
    km.hmacVerifyTagged('a', 'sha256', 'msg', tag);
    km.delete('a');
    void [d, present, ids, okm, cur, v1, versions, mv, dv];
  } catch (err) {
    if (err instanceof NotFoundError) {
      const s: number = err.status;
      const name: StatusCode = err.statusName;
      void [s, name];
    } else if (err instanceof VerifyFailedError) {
      console.error(err.message);
    } else if (err instanceof CodomyrmexError && err.code === 'CODOMYRMEX_ERR_IO') {
      console.error(err.status);
    } else {
      throw err;
    }
  } finally {
    km.close();
    const closed: boolean = km.closed;
    void closed;
  }
}

// Misuse that the declarations must reject.
// @ts-expect-error KeyManager has no public constructor
new KeyManager();
// @ts-expect-error key ids are strings
KeyManager.open().get(42);
// @ts-expect-error hmac needs data
keys.hmac('sha256', 'key');
// @ts-expect-error rotate may return null
const notNull: Buffer = KeyManager.open().rotate('a', 'b');
// @ts-expect-error unknown option
KeyManager.openWith('/k', { readonly: true });
// @ts-expect-error auth needs a password file
KeyManager.openWith('etcd://127.0.0.1:2379', { auth: { user: 'app' } });
// @ts-expect-error Keyring has no public constructor
new Keyring();
// @ts-expect-error a status code is not a number
const wrong: number = new CodomyrmexError(9).code;

void [library, oneShot, streaming, withDispose, keyManager, sources, notNull, wrong];
