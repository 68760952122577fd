package keys

/*
#include "codomyrmex_keys.h"
*/
import "C"

import (
	"runtime"
	"sync"
)

// Hmac returns HMAC-alg of data under key (RFC 2104). Any key length,
// 0 included, is accepted.
func Hmac(alg Alg, key, data []byte) ([]byte, error) {
	return fetch("hmac_compute", MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
		return C.codomyrmex_hmac_compute(C.codomyrmex_hash_alg(alg),
			bytePtr(key), C.size_t(len(key)), bytePtr(data), C.size_t(len(data)), out, cap, n)
	})
}

// HmacVerify checks mac against HMAC-alg of data under key, in constant
// time in the MAC's content. It returns nil on a match and an error
// matching ErrVerifyFailed otherwise, also when mac is not the full digest
// length (a truncated MAC never verifies).
func HmacVerify(alg Alg, key, data, mac []byte) error {
	return call("hmac_verify", func() C.codomyrmex_status {
		return C.codomyrmex_hmac_verify(C.codomyrmex_hash_alg(alg),
			bytePtr(key), C.size_t(len(key)), bytePtr(data), C.size_t(len(data)),
			bytePtr(mac), C.size_t(len(mac)))
	})
}

// HmacStream is a streaming HMAC for data that does not fit in memory.
// Feed it with Write, then read the MAC with Finish or check one with
// FinishVerify; both reset the stream to its keyed start, so one stream
// serves many messages under the same key. Close wipes and releases it
// (a finalizer does so too if you forget).
//
// HmacStream is an io.Writer but not a hash.Hash: the library cannot read
// a MAC without finishing the stream, so a non-destructive Sum is not
// possible. Its methods may be called from several goroutines, but they
// are serialized.
type HmacStream struct {
	mu   sync.Mutex
	ctx  *C.codomyrmex_hmac
	size int
}

// NewHmac starts a streaming HMAC-alg under key (any length, 0 included).
func NewHmac(alg Alg, key []byte) (*HmacStream, error) {
	var ctx *C.codomyrmex_hmac
	err := call("hmac_new", func() C.codomyrmex_status {
		return C.codomyrmex_hmac_new(C.codomyrmex_hash_alg(alg), bytePtr(key), C.size_t(len(key)), &ctx)
	})
	if err != nil {
		return nil, err
	}
	h := &HmacStream{ctx: ctx, size: alg.DigestLen()}
	runtime.SetFinalizer(h, (*HmacStream).Close)
	return h, nil
}

// Write feeds p to the stream. It never writes less than len(p) without
// an error.
func (h *HmacStream) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return 0, errStreamClosed("hmac_update")
	}
	err := call("hmac_update", func() C.codomyrmex_status {
		return C.codomyrmex_hmac_update(h.ctx, bytePtr(p), C.size_t(len(p)))
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Finish returns the MAC of everything written since the stream started or
// last finished, and resets the stream.
func (h *HmacStream) Finish() ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return nil, errStreamClosed("hmac_finish")
	}
	return fetch("hmac_finish", MaxDigestLen, func(out *C.uint8_t, cap C.size_t, n *C.size_t) C.codomyrmex_status {
		return C.codomyrmex_hmac_finish(h.ctx, out, cap, n)
	})
}

// FinishVerify checks mac against the MAC of everything written since the
// stream started or last finished, in constant time, and resets the
// stream. It returns nil on a match and an error matching ErrVerifyFailed
// otherwise.
func (h *HmacStream) FinishVerify(mac []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return errStreamClosed("hmac_finish_verify")
	}
	return call("hmac_finish_verify", func() C.codomyrmex_status {
		return C.codomyrmex_hmac_finish_verify(h.ctx, bytePtr(mac), C.size_t(len(mac)))
	})
}

// Reset discards what was written and returns the stream to its keyed
// start.
func (h *HmacStream) Reset() {
	_, _ = h.Finish()
}

// Size is the length of the MAC in bytes.
func (h *HmacStream) Size() int {
	return h.size
}

// Close wipes and releases the stream. It is idempotent; any later use of
// the stream fails with an error matching ErrNullPointer.
func (h *HmacStream) Close() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx != nil {
		C.codomyrmex_hmac_free(h.ctx)
		h.ctx = nil
		runtime.SetFinalizer(h, nil)
	}
	return nil
}

func errStreamClosed(op string) error {
	return localError(op, StatusNullPointer, "HMAC stream is closed")
}
