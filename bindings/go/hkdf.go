package keys

/*
#include "codomyrmex_keys.h"
*/
import "C"

// HKDF (RFC 5869) is for high-entropy input: shared secrets, DH outputs,
// stored random keys. It is not a password hash.

// Hkdf derives length bytes (1 to 255 x digest length) from ikm with salt
// and info: HKDF-Extract then HKDF-Expand. A nil or empty salt means no
// salt (digest-length zero bytes). The result is secret: wipe it with
// SecureZero when done.
func Hkdf(alg Alg, ikm, salt, info []byte, length int) ([]byte, error) {
	const op = "hkdf_derive"
	if err := checkLen(op, length); err != nil {
		return nil, err
	}
	okm := make([]byte, length)
	err := call(op, func() C.codomyrmex_status {
		return C.codomyrmex_hkdf_derive(C.codomyrmex_hash_alg(alg),
			bytePtr(ikm), C.size_t(len(ikm)), bytePtr(salt), C.size_t(len(salt)),
			bytePtr(info), C.size_t(len(info)), bytePtr(okm), C.size_t(len(okm)))
	})
	if err != nil {
		return nil, err
	}
	return okm, nil
}

// HkdfExtract returns the pseudorandom key (digest length bytes) of ikm
// under salt (nil or empty: no salt). The PRK is secret: wipe it with
// SecureZero when done.
func HkdfExtract(alg Alg, salt, ikm []byte) ([]byte, error) {
	return fetch("hkdf_extract", MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
		return C.codomyrmex_hkdf_extract(C.codomyrmex_hash_alg(alg),
			bytePtr(salt), C.size_t(len(salt)), bytePtr(ikm), C.size_t(len(ikm)), out, cap, n)
	})
}

// HkdfExpand derives length bytes (1 to 255 x digest length) from the
// pseudorandom key prk (at least digest length bytes) and info. The result
// is secret: wipe it with SecureZero when done.
func HkdfExpand(alg Alg, prk, info []byte, length int) ([]byte, error) {
	const op = "hkdf_expand"
	if err := checkLen(op, length); err != nil {
		return nil, err
	}
	okm := make([]byte, length)
	err := call(op, func() C.codomyrmex_status {
		return C.codomyrmex_hkdf_expand(C.codomyrmex_hash_alg(alg),
			bytePtr(prk), C.size_t(len(prk)), bytePtr(info), C.size_t(len(info)),
			bytePtr(okm), C.size_t(len(okm)))
	})
	if err != nil {
		return nil, err
	}
	return okm, nil
}
