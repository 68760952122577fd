package keys

/*
#include "codomyrmex_keys.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// Keyring is every version of one key (current, older and staged), loaded
// by KeyManager.Load: a MAC with it reads no file, and gives the same
// bytes as the key manager's Hmac and HmacTagged. Its keys live in memory
// that is locked (best effort) and left out of core dumps.
//
// A Keyring may be used by many goroutines at once, a refresh included,
// and keeps working after its KeyManager is closed. A key deleted from the
// store is wiped: calls then fail with an error matching ErrNotFound.
// Close wipes it (write `defer ring.Close()` after Load); one that is
// garbage-collected unclosed is released by a finalizer, which first calls
// UnclosedKeyringHandler.
type Keyring struct {
	h   handle[C.codomyrmex_keyring]
	id  string
	alg Alg
}

// UnclosedKeyringHandler is called, from the finalizer goroutine, for every
// Keyring that is garbage-collected without Close, with its key id. The
// default prints a warning to standard error; set it to nil to silence it,
// or to your own function. Set it before any Keyring is loaded.
var UnclosedKeyringHandler = defaultUnclosedKeyringHandler

func defaultUnclosedKeyringHandler(id string) {
	fmt.Fprintf(os.Stderr, "codomyrmex_keys: a Keyring for key %s was garbage-collected without Close; "+
		"call defer ring.Close() after Load\n", strconv.Quote(id))
}

func newKeyring(kr *C.codomyrmex_keyring, id string, alg Alg) *Keyring {
	r := &Keyring{h: handle[C.codomyrmex_keyring]{ptr: kr, what: "keyring"}, id: id, alg: alg}
	runtime.SetFinalizer(r, func(r *Keyring) {
		if handler := UnclosedKeyringHandler; handler != nil {
			handler(r.id)
		}
		_ = r.Close()
	})
	return r
}

// Close wipes the keys and releases the keyring, waiting for calls in
// progress in other goroutines. It is idempotent; any later call fails
// with an error matching ErrNullPointer.
func (r *Keyring) Close() error {
	if r != nil && r.h.close(func(kr *C.codomyrmex_keyring) { C.codomyrmex_keyring_free(kr) }) {
		runtime.SetFinalizer(r, nil)
	}
	return nil
}

// use runs f with the live handle; Close waits until it returns.
func (r *Keyring) use(op string, f func(kr *C.codomyrmex_keyring) error) error {
	if r == nil {
		return localError(op, StatusNullPointer, "keyring is nil")
	}
	return r.h.use(op, f)
}

// KeyID is the id of the key the keyring holds.
func (r *Keyring) KeyID() string { return r.id }

// Alg is the algorithm of every MAC the keyring makes and checks.
func (r *Keyring) Alg() Alg { return r.alg }

// Refresh checks the store now and reloads the key if it changed; it
// reports whether the keys served changed. If the check or the reload
// fails the last good keys are still served; a deleted key is ErrNotFound.
func (r *Keyring) Refresh() (bool, error) {
	const op = "keyring_refresh"
	var changed C.bool
	err := r.use(op, func(kr *C.codomyrmex_keyring) error {
		return call(op, func() C.codomyrmex_status { return C.codomyrmex_keyring_refresh(kr, &changed) })
	})
	return bool(changed), err
}

// CurrentVersion is the number of the version MACs are made with now.
func (r *Keyring) CurrentVersion() (uint32, error) {
	const op = "keyring_current_version"
	var v C.uint32_t
	err := r.use(op, func(kr *C.codomyrmex_keyring) error {
		return call(op, func() C.codomyrmex_status { return C.codomyrmex_keyring_current_version(kr, &v) })
	})
	return uint32(v), err
}

// Hmac returns the HMAC of data with the current version.
func (r *Keyring) Hmac(data []byte) ([]byte, error) {
	const op = "keyring_hmac"
	var mac []byte
	err := r.use(op, func(kr *C.codomyrmex_keyring) (err error) {
		mac, err = fetch(op, MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_keyring_hmac(kr, bytePtr(data), C.size_t(len(data)), out, cap, n)
		})
		return err
	})
	return mac, err
}

// HmacVerify checks mac against the HMAC of data with the current version,
// in constant time: nil, or an error matching ErrVerifyFailed.
func (r *Keyring) HmacVerify(data, mac []byte) error {
	const op = "keyring_hmac_verify"
	return r.use(op, func(kr *C.codomyrmex_keyring) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_keyring_hmac_verify(kr, bytePtr(data), C.size_t(len(data)), bytePtr(mac), C.size_t(len(mac)))
		})
	})
}

// HmacTagged returns a tagged MAC of data with the current version:
// 0x01 || version (4 bytes, big-endian) || HMAC.
func (r *Keyring) HmacTagged(data []byte) ([]byte, error) {
	const op = "keyring_hmac_tagged"
	var tag []byte
	err := r.use(op, func(kr *C.codomyrmex_keyring) (err error) {
		tag, err = fetch(op, TagOverhead+MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
			return C.codomyrmex_keyring_hmac_tagged(kr, bytePtr(data), C.size_t(len(data)), out, cap, n)
		})
		return err
	})
	return tag, err
}

// HmacVerifyTagged checks the tagged MAC tag against data with the version
// it names (any version the keyring holds, staged ones included): nil, or
// an error matching ErrVerifyFailed (bad format, wrong length, a version
// it does not hold, MAC mismatch).
func (r *Keyring) HmacVerifyTagged(data, tag []byte) error {
	const op = "keyring_hmac_verify_tagged"
	return r.use(op, func(kr *C.codomyrmex_keyring) error {
		return call(op, func() C.codomyrmex_status {
			return C.codomyrmex_keyring_hmac_verify_tagged(kr, bytePtr(data), C.size_t(len(data)), bytePtr(tag), C.size_t(len(tag)))
		})
	})
}
