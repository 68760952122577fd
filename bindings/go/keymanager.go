package keys

/*
#include <stdlib.h>
#include "codomyrmex_keys.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// keyGuess is the first buffer size tried when reading a key: it fits the
// usual 16 to 64 byte keys in one call; longer keys take a second call
// with the exact size the library reports.
const keyGuess = 64

// KeyManager is an open key source: a private key directory, one file
// <dir>/<key_id>.key per key with older versions kept beside it until
// pruned, or a mounted one (see OpenWith).
//
// A KeyManager may be used by many goroutines at once. It holds a directory
// descriptor until Close (write `defer km.Close()` after Open); one that is
// garbage-collected unclosed is released by a finalizer, which first calls
// UnclosedHandler. Key ids are 1 to MaxKeyIDLen bytes from [A-Za-z0-9._-],
// not starting with '.'.
type KeyManager struct {
	h        handle[C.codomyrmex_key_manager]
	openedAs string // for the unclosed warning
}

// UnclosedHandler is called, from the finalizer goroutine, for every
// KeyManager that is garbage-collected without Close, with the directory it
// was opened with ("" for the default one). A program that relies on the
// collector runs out of descriptors long before it collects, so the default
// handler prints a warning to standard error; set it to nil to silence it,
// or to your own function (a logger, a panic in tests). Set it before any
// KeyManager is opened.
var UnclosedHandler = defaultUnclosedHandler

func defaultUnclosedHandler(dir string) {
	where := "the default key directory"
	if dir != "" {
		where = strconv.Quote(dir)
	}
	fmt.Fprintf(os.Stderr, "codomyrmex_keys: a KeyManager for %s was garbage-collected without Close; "+
		"call defer km.Close() after Open\n", where)
}

func finalizeKeyManager(m *KeyManager) {
	if handler := UnclosedHandler; handler != nil {
		handler(m.openedAs)
	}
	_ = m.Close()
}

// Open opens (creating it as mode 0700 if absent) the key directory dir.
// The empty string means the library's default, <tmp>/codomyrmex_keys with
// <tmp> the first of $TMPDIR, $TEMP, $TMP or /tmp: pass a stable directory
// for keys that must survive a reboot.
func Open(dir string) (*KeyManager, error) {
	const op = "key_manager_open"
	return open(op, "key directory", dir, func(cdir *C.char, km **C.codomyrmex_key_manager) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_open(cdir, km)
		})
	})
}

// OpenWith opens the key source location with opts.
//
// location is "" for the default key directory (as Open), a path for a
// private key directory, or "mounted:<dir>" for a read-only directory an
// orchestrator fills (a Kubernetes Secret volume, Docker secrets, systemd
// credentials, Vault Agent output): links followed only inside it, files
// trusted only if nobody but root, this user or TrustedUID can write them,
// older versions as <id>.key.v<N>, updates seen by the next call; or
// "etcd://host1:port1,host2:port2[/prefix]" for a key set shared by many
// hosts in an etcd v3 cluster (default prefix /codomyrmex_keys; see
// Timeout, TLS and Auth; seal it with KEKFile): opening sends nothing, so
// an unreachable cluster fails the first call with ErrIO. Any other
// "scheme:" prefix is ErrInvalidArgument (write "./a:b" for a directory
// named a:b).
func OpenWith(location string, opts ...Option) (*KeyManager, error) {
	const op = "key_manager_open_with"
	return open(op, "location", location, func(cloc *C.char, km **C.codomyrmex_key_manager) error {
		return withOptions(opts, func(copts *C.codomyrmex_open_options) error {
			return call(op, func() C.codomyrmex_status {
				return C.codomyrmex_key_manager_open_with(cloc, copts, km)
			})
		})
	})
}

// open converts where ("" for NULL; what names it in errors), runs the C
// open call f and wraps the handle it made.
func open(op, what, where string, f func(cwhere *C.char, km **C.codomyrmex_key_manager) error) (*KeyManager, error) {
	var cwhere *C.char
	if where != "" {
		if strings.IndexByte(where, 0) >= 0 {
			return nil, localError(op, StatusInvalidArgument, what+" contains a NUL byte")
		}
		cwhere = C.CString(where)
		defer C.free(unsafe.Pointer(cwhere))
	}
	var km *C.codomyrmex_key_manager
	if err := f(cwhere, &km); err != nil {
		return nil, err
	}
	m := &KeyManager{h: handle[C.codomyrmex_key_manager]{ptr: km, what: "key manager"}, openedAs: where}
	runtime.SetFinalizer(m, finalizeKeyManager)
	return m, nil
}

// Close releases the key manager, waiting for calls in progress in other
// goroutines. It is idempotent; any later call fails with an error
// matching ErrNullPointer.
func (m *KeyManager) Close() error {
	if m != nil && m.h.close(func(km *C.codomyrmex_key_manager) { C.codomyrmex_key_manager_free(km) }) {
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// use runs f with the live handle; Close waits until it returns.
func (m *KeyManager) use(op string, f func(km *C.codomyrmex_key_manager) error) error {
	if m == nil {
		return localError(op, StatusNullPointer, "key manager is nil")
	}
	return m.h.use(op, f)
}

// withID is use plus the key id as a C string.
func (m *KeyManager) withID(op, id string, f func(km *C.codomyrmex_key_manager, cid *C.char) error) error {
	return m.use(op, func(km *C.codomyrmex_key_manager) error {
		cid, err := cKeyID(op, id)
		if err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(cid))
		return f(km, cid)
	})
}

// Dir is the key directory's path as resolved when it was opened.
func (m *KeyManager) Dir() (string, error) {
	const op = "key_manager_dir"
	var dir string
	err := m.use(op, func(km *C.codomyrmex_key_manager) error {
		buf, err := fetch(op, 256, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_dir(km, (*C.char)(unsafe.Pointer(out)), cap, n)
		})
		if err != nil {
			return err
		}
		// *out_len counts the terminating NUL.
		if n := len(buf); n > 0 && buf[n-1] == 0 {
			buf = buf[:n-1]
		}
		dir = string(buf)
		return nil
	})
	return dir, err
}

// Store stores key (1 to MaxKeyLen bytes) as id, atomically and durably.
// A new id becomes version 1; over an existing key, key becomes the next
// version and the previous one is kept.
func (m *KeyManager) Store(id string, key []byte) error {
	const op = "key_manager_store"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_store(km, cid, bytePtr(key), C.size_t(len(key)))
		})
	})
}

// Create is Store for an id that must not exist yet: an error matching
// ErrAlreadyExists otherwise, even against another process creating it at
// the same instant.
func (m *KeyManager) Create(id string, key []byte) error {
	const op = "key_manager_create"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_create(km, cid, bytePtr(key), C.size_t(len(key)))
		})
	})
}

// Generate creates a random key of n bytes (1 to MaxKeyLen) as id, which
// must not exist (ErrAlreadyExists). The key never leaves the library.
func (m *KeyManager) Generate(id string, n int) error {
	const op = "key_manager_generate"
	if n < 0 {
		return localError(op, StatusInvalidArgument, "key length is negative")
	}
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_generate(km, cid, C.size_t(n))
		})
	})
}

// Get returns the current version of the key id. The slice is the
// caller's: wipe it with SecureZero when done.
func (m *KeyManager) Get(id string) ([]byte, error) {
	const op = "key_manager_get"
	var key []byte
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) (err error) {
		key, err = fetch(op, keyGuess, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_get(km, cid, out, cap, n)
		})
		return err
	})
	return key, err
}

// Exists reports whether the key id exists (exactly when List would list
// it).
func (m *KeyManager) Exists(id string) (bool, error) {
	const op = "key_manager_exists"
	var exists C.bool
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_exists(km, cid, &exists)
		})
	})
	return bool(exists), err
}

// Delete removes the key id and all its versions (ErrNotFound if absent).
func (m *KeyManager) Delete(id string) error {
	const op = "key_manager_delete"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_delete(km, cid)
		})
	})
}

// List returns the ids of all keys, sorted bytewise ascending.
func (m *KeyManager) List() ([]string, error) {
	const op = "key_manager_list"
	var ids []string
	err := m.use(op, func(km *C.codomyrmex_key_manager) error {
		var count C.size_t
		buf, err := fetch(op, 1024, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_list(km, (*C.char)(unsafe.Pointer(out)), cap, n, &count)
		})
		if err != nil {
			return err
		}
		ids = make([]string, 0, int(count))
		for len(buf) > 0 {
			end := 0
			for buf[end] != 0 {
				end++
			}
			ids = append(ids, string(buf[:end]))
			buf = buf[end+1:]
		}
		return nil
	})
	return ids, err
}

// Rotate stores newKey as the next version of id and returns the key it
// replaced, or nil when there was none (newKey is stored all the same, as
// version 1). The replaced version is kept until pruned. Atomic against
// concurrent Rotate, Store and Delete of the same id in any goroutine or
// process. The returned slice is the caller's: wipe it when done.
func (m *KeyManager) Rotate(id string, newKey []byte) ([]byte, error) {
	const op = "key_manager_rotate"
	var old []byte
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) (err error) {
		// A rotation that fails with BUFFER_TOO_SMALL changes nothing, so
		// retrying with a larger buffer is safe.
		old, err = fetch(op, keyGuess, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_rotate(km, cid, bytePtr(newKey), C.size_t(len(newKey)), out, cap, n)
		})
		return err
	})
	if len(old) == 0 {
		old = nil
	}
	return old, err
}

// Hmac returns HMAC-alg of data under the stored key id, which never
// leaves the library.
func (m *KeyManager) Hmac(id string, alg Alg, data []byte) ([]byte, error) {
	return m.HmacVersion(id, 0, alg, data)
}

// HmacVerify checks mac against HMAC-alg of data under the current
// version of id, in constant time: nil, or an error matching
// ErrVerifyFailed.
func (m *KeyManager) HmacVerify(id string, alg Alg, data, mac []byte) error {
	const op = "key_manager_hmac_verify"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_hmac_verify(km, cid, C.codomyrmex_hash_alg(alg),
				bytePtr(data), C.size_t(len(data)), bytePtr(mac), C.size_t(len(mac)))
		})
	})
}

// Derive is Hkdf with the current version of the stored key id as input
// key material. The result is the caller's: wipe it when done.
func (m *KeyManager) Derive(id string, alg Alg, salt, info []byte, length int) ([]byte, error) {
	const op = "key_manager_derive"
	if err := checkLen(op, length); err != nil {
		return nil, err
	}
	okm := make([]byte, length)
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_derive(km, cid, C.codomyrmex_hash_alg(alg),
				bytePtr(salt), C.size_t(len(salt)), bytePtr(info), C.size_t(len(info)),
				bytePtr(okm), C.size_t(len(okm)))
		})
	})
	if err != nil {
		return nil, err
	}
	return okm, nil
}

// ---------------------------------------------------------------------------
// Key versions: every id has versions 1, 2, 3, ...; the highest is
// current. Store over an existing id and Rotate add a version and keep the
// previous ones until Prune.

// CurrentVersion is the current version number of id (1 for a key never
// rotated).
func (m *KeyManager) CurrentVersion(id string) (uint32, error) {
	const op = "key_manager_current_version"
	var v C.uint32_t
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_current_version(km, cid, &v)
		})
	})
	return uint32(v), err
}

// GetVersion returns version of id (0: the current version); ErrNotFound
// for a version never made or pruned. The slice is the caller's: wipe it
// when done.
func (m *KeyManager) GetVersion(id string, version uint32) ([]byte, error) {
	const op = "key_manager_get_version"
	var key []byte
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) (err error) {
		key, err = fetch(op, keyGuess, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_get_version(km, cid, C.uint32_t(version), out, cap, n)
		})
		return err
	})
	return key, err
}

// ListVersions returns the kept version numbers of id, ascending; the last
// is the current version.
func (m *KeyManager) ListVersions(id string) ([]uint32, error) {
	const op = "key_manager_list_versions"
	var versions []uint32
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		buf := make([]uint32, 8)
		for {
			var n C.size_t
			err := call(op, func() C.codomyrmex_status {
				var out *C.uint32_t
				if len(buf) > 0 {
					out = (*C.uint32_t)(unsafe.Pointer(&buf[0]))
				}
				return C.codomyrmex_key_manager_list_versions(km, cid, out, C.size_t(len(buf)), &n)
			})
			if err == nil {
				versions = buf[:int(n):int(n)]
				return nil
			}
			if e, ok := err.(*Error); ok && e.Status == StatusBufferTooSmall && int(n) > len(buf) {
				buf = make([]uint32, int(n))
				continue
			}
			return err
		}
	})
	return versions, err
}

// Prune removes all but the newest keepNewest versions of id (at least 1:
// the current version is always kept). Tagged MACs made with a removed
// version no longer verify.
func (m *KeyManager) Prune(id string, keepNewest uint32) error {
	const op = "key_manager_prune"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_prune(km, cid, C.uint32_t(keepNewest))
		})
	})
}

// HmacVersion returns HMAC-alg of data under version of id (0: current).
func (m *KeyManager) HmacVersion(id string, version uint32, alg Alg, data []byte) ([]byte, error) {
	op := "key_manager_hmac_version"
	if version == 0 {
		op = "key_manager_hmac"
	}
	var mac []byte
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) (err error) {
		mac, err = fetch(op, MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			if version == 0 {
				return C.codomyrmex_key_manager_hmac(km, cid, C.codomyrmex_hash_alg(alg),
					bytePtr(data), C.size_t(len(data)), out, cap, n)
			}
			return C.codomyrmex_key_manager_hmac_version(km, cid, C.uint32_t(version), C.codomyrmex_hash_alg(alg),
				bytePtr(data), C.size_t(len(data)), out, cap, n)
		})
		return err
	})
	return mac, err
}

// DeriveVersion is Derive with version of id (0: current) as input key
// material. The result is the caller's: wipe it when done.
func (m *KeyManager) DeriveVersion(id string, version uint32, alg Alg, salt, info []byte, length int) ([]byte, error) {
	const op = "key_manager_derive_version"
	if err := checkLen(op, length); err != nil {
		return nil, err
	}
	okm := make([]byte, length)
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_derive_version(km, cid, C.uint32_t(version), C.codomyrmex_hash_alg(alg),
				bytePtr(salt), C.size_t(len(salt)), bytePtr(info), C.size_t(len(info)),
				bytePtr(okm), C.size_t(len(okm)))
		})
	})
	if err != nil {
		return nil, err
	}
	return okm, nil
}

// HmacTagged returns a tagged MAC of data made with the current version of
// id: 0x01 || version (4 bytes, big-endian) || HMAC, TagOverhead + digest
// length bytes. It keeps verifying with HmacVerifyTagged after rotations,
// until its version is pruned.
func (m *KeyManager) HmacTagged(id string, alg Alg, data []byte) ([]byte, error) {
	const op = "key_manager_hmac_tagged"
	var tag []byte
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) (err error) {
		tag, err = fetch(op, TagOverhead+MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_key_manager_hmac_tagged(km, cid, C.codomyrmex_hash_alg(alg),
				bytePtr(data), C.size_t(len(data)), out, cap, n)
		})
		return err
	})
	return tag, err
}

// HmacVerifyTagged checks the tagged MAC tag against data with the version
// of id it names: nil, or an error matching ErrVerifyFailed (bad format,
// wrong length, pruned or unknown version, MAC mismatch). An id that does
// not exist is ErrNotFound.
func (m *KeyManager) HmacVerifyTagged(id string, alg Alg, data, tag []byte) error {
	const op = "key_manager_hmac_verify_tagged"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_hmac_verify_tagged(km, cid, C.codomyrmex_hash_alg(alg),
				bytePtr(data), C.size_t(len(data)), bytePtr(tag), C.size_t(len(tag)))
		})
	})
}

// ---------------------------------------------------------------------------
// Staged rotation: a new version every host accepts for verification before
// any host signs with it.

// Stage adds key (1 to MaxKeyLen bytes) as a staged version of the
// existing key id and returns its number. A staged version is listed by
// ListVersions, readable with GetVersion and accepted by HmacVerifyTagged,
// but not used to make MACs (Hmac, HmacTagged, Get, Derive) until Promote.
// ErrNotFound if id does not exist.
func (m *KeyManager) Stage(id string, key []byte) (uint32, error) {
	const op = "key_manager_stage"
	var v C.uint32_t
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_stage(km, cid, bytePtr(key), C.size_t(len(key)), &v)
		})
	})
	return uint32(v), err
}

// StageGenerate is Stage with a random key of n bytes (1 to MaxKeyLen);
// the key never leaves the library.
func (m *KeyManager) StageGenerate(id string, n int) (uint32, error) {
	const op = "key_manager_stage_generate"
	if n < 0 {
		return 0, localError(op, StatusInvalidArgument, "key length is negative")
	}
	var v C.uint32_t
	err := m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_stage_generate(km, cid, C.size_t(n), &v)
		})
	})
	return uint32(v), err
}

// Promote makes the staged version of id current; the version it replaces
// is kept, as after a rotation. ErrNotFound unless version is staged.
func (m *KeyManager) Promote(id string, version uint32) error {
	const op = "key_manager_promote"
	return m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_promote(km, cid, C.uint32_t(version))
		})
	})
}

// SealAll seals every plain key file and version record under the KEK the
// manager was opened with (KEKFile or KEKCredential), each atomically, and
// returns how many files it rewrote (0 when everything was sealed
// already). ErrInvalidArgument without a KEK or on a read-only source.
func (m *KeyManager) SealAll() (int, error) {
	const op = "key_manager_seal_all"
	var n C.size_t
	err := m.use(op, func(km *C.codomyrmex_key_manager) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_seal_all(km, &n)
		})
	})
	return int(n), err
}

// Load loads every version of id (current, older and staged) into a
// Keyring for MACs with alg. With refresh > 0 a call on the keyring checks
// at most that often, cheaply, whether the key changed in the store and
// reloads it; with 0 only Keyring.Refresh does. The keyring keeps working
// after m is closed; close it when done.
func (m *KeyManager) Load(id string, alg Alg, refresh time.Duration) (*Keyring, error) {
	const op = "key_manager_load"
	ms, err := milliseconds(op, "refresh interval", refresh)
	if err != nil {
		return nil, err
	}
	var kr *C.codomyrmex_keyring
	err = m.withID(op, id, func(km *C.codomyrmex_key_manager, cid *C.char) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_key_manager_load(km, cid, C.codomyrmex_hash_alg(alg), ms, &kr)
		})
	})
	if err != nil {
		return nil, err
	}
	return newKeyring(kr, id, alg), nil
}
