// Package keys binds codomyrmex_keys, a hardened key store with HMAC and
// HKDF over SHA-2, through its C interface (include/codomyrmex_keys.h).
//
// Every function of the C contract has a Go counterpart: the library-wide
// functions here, HMAC (one-shot, verify, streaming) in hmac.go, HKDF in
// hkdf.go and the key manager with its key versions and tagged MACs in
// keymanager.go. Failures are *Error values carrying the library's status
// and its one-line message; compare them with errors.Is against the
// sentinels ErrNotFound, ErrVerifyFailed and the others.
//
// Secrets. The library wipes every copy of key material it holds. Byte
// slices this package returns that hold secrets (Get, GetVersion, Rotate,
// Hkdf, HkdfExtract, HkdfExpand, Derive, DeriveVersion, RandomBytes) are
// written by the library straight into memory owned by the caller, with
// no intermediate copy; wiping them when done is the caller's job
// (SecureZero).
//
// Linking: the package finds the library with pkg-config (package
// codomyrmex_keys, which the Debian package libcodomyrmex-keys-dev and
// `cargo cinstall` install), and links it as a shared library; build with
// -tags static to link libcodomyrmex_keys.a instead. It compiles against
// its own copy of the header (include/), the one its code is written for;
// at run time it refuses a library of another major version, or of an
// older minor version than its header (init panics with a message that
// says which).
//
// Linux only.
package keys

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "codomyrmex_keys.h"
*/
import "C"

import (
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Sizes from the header.
const (
	// MaxDigestLen is the longest digest (SHA-512), in bytes: every MAC
	// and PRK fits in it.
	MaxDigestLen = C.CODOMYRMEX_MAX_DIGEST_LEN
	// MaxKeyLen is the largest key the key manager stores, in bytes.
	MaxKeyLen = C.CODOMYRMEX_MAX_KEY_LEN
	// MaxKeyIDLen is the longest key id, in bytes.
	MaxKeyIDLen = C.CODOMYRMEX_MAX_KEY_ID_LEN
	// TagOverhead is what a tagged MAC adds to the HMAC: a format byte
	// (0x01) and the version number (4 bytes, big-endian).
	TagOverhead = C.CODOMYRMEX_TAG_OVERHEAD
)

// The version of the header this package was compiled against; Version
// reports the version of the library loaded at run time, whose major
// number must equal HeaderVersionMajor.
const (
	HeaderVersionMajor = C.CODOMYRMEX_VERSION_MAJOR
	HeaderVersionMinor = C.CODOMYRMEX_VERSION_MINOR
	HeaderVersionPatch = C.CODOMYRMEX_VERSION_PATCH
)

// Alg is a hash algorithm. Values other than SHA256, SHA384 and SHA512 are
// passed through unchanged and fail with ErrUnsupportedAlgorithm.
type Alg uint32

// The supported algorithms.
const (
	SHA256 Alg = C.CODOMYRMEX_SHA256
	SHA384 Alg = C.CODOMYRMEX_SHA384
	SHA512 Alg = C.CODOMYRMEX_SHA512
)

// ParseAlg parses an algorithm name: "sha256", "sha384", "sha512" in any
// letter case, also "SHA-256" or "sha_256".
func ParseAlg(name string) (Alg, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return 0, localError("hash_alg_from_name", StatusUnsupportedAlgorithm,
			"algorithm name contains a NUL byte")
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var out C.codomyrmex_hash_alg
	err := call("hash_alg_from_name", func() C.codomyrmex_status {
		return C.codomyrmex_hash_alg_from_name(cname, &out)
	})
	if err != nil {
		return 0, err
	}
	return Alg(out), nil
}

// DigestLen is the digest length of a in bytes (32, 48 or 64), which is
// also the length of its HMAC and of an HKDF PRK; 0 for an unknown value.
func (a Alg) DigestLen() int {
	return int(C.codomyrmex_hash_digest_len(C.codomyrmex_hash_alg(a)))
}

// String returns "sha256", "sha384", "sha512", or "Alg(n)".
func (a Alg) String() string {
	switch a {
	case SHA256:
		return "sha256"
	case SHA384:
		return "sha384"
	case SHA512:
		return "sha512"
	}
	return "Alg(" + strconv.FormatUint(uint64(a), 10) + ")"
}

// Version is the version of the loaded library, e.g. "1.0.0".
func Version() string {
	return C.GoString(C.codomyrmex_version())
}

func init() {
	if err := checkLibraryVersion(Version()); err != nil {
		panic(err)
	}
}

// checkLibraryVersion refuses a library whose major version is not the
// header's, or whose minor version is older than the header's: its
// functions may not be the ones this package calls.
func checkLibraryVersion(v string) error {
	major := strconv.Itoa(HeaderVersionMajor)
	refuse := func(needs string) error {
		return &Error{Op: "version", Status: StatusInternal, Message: "the loaded libcodomyrmex_keys is version " +
			v + ", but this package needs version " + needs + ": install libcodomyrmex-keys" + major}
	}
	parts := strings.SplitN(v, ".", 3)
	if parts[0] != major {
		return refuse(major + ".x")
	}
	if len(parts) < 2 {
		return refuse(major + "." + strconv.Itoa(HeaderVersionMinor) + " or later")
	}
	if minor, err := strconv.Atoi(parts[1]); err != nil || minor < HeaderVersionMinor {
		return refuse(major + "." + strconv.Itoa(HeaderVersionMinor) + " or later")
	}
	return nil
}

// RandomBytes returns n bytes from the operating system's CSPRNG.
func RandomBytes(n int) ([]byte, error) {
	if n < 0 {
		return nil, localError("random_bytes", StatusInvalidArgument, "length is negative")
	}
	buf := make([]byte, n)
	err := call("random_bytes", func() C.codomyrmex_status {
		return C.codomyrmex_random_bytes(bytePtr(buf), C.size_t(len(buf)))
	})
	if err != nil {
		return nil, err
	}
	return buf, nil
}

// SecureZero overwrites b with zeros in a way the compiler cannot remove.
// Use it on keys and derived keys this package returned once you are done
// with them.
func SecureZero(b []byte) {
	if len(b) == 0 {
		return
	}
	C.codomyrmex_secure_zero(unsafe.Pointer(&b[0]), C.size_t(len(b)))
}

// ---------------------------------------------------------------------------
// Plumbing shared by every file.

// call runs f, which makes one C call, and turns a failing status into an
// *Error with the library's message and errno. The goroutine stays on one
// OS thread for all three, because the library keeps them per thread.
func call(op string, f func() C.codomyrmex_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := f()
	if st == C.CODOMYRMEX_OK {
		return nil
	}
	return &Error{Op: op, Status: Status(st), Message: lastErrorMessage(),
		Errno: syscall.Errno(C.codomyrmex_last_os_error())}
}

// lastErrorMessage reads this OS thread's last error message; the caller
// has locked the goroutine to its thread.
func lastErrorMessage() string {
	buf := make([]byte, 256)
	for {
		n := int(C.codomyrmex_last_error_message((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, n+1)
	}
}

// fetch runs a C function with a variable-size output (out, cap, out_len),
// starting with a buffer of guess bytes and retrying with the size the
// library asks for while it answers BUFFER_TOO_SMALL (the size can change
// between calls when another thread or process rewrites a key). The
// library writes nothing on failure, so a discarded buffer holds nothing.
func fetch(op string, guess int, f func(out *C.uint8_t, cap C.size_t, outLen *C.size_t) C.codomyrmex_status) ([]byte, error) {
	buf := make([]byte, guess)
	for {
		var n C.size_t
		err := call(op, func() C.codomyrmex_status {
			return f(bytePtr(buf), C.size_t(len(buf)), &n)
		})
		if err == nil {
			return buf[:int(n):int(n)], nil
		}
		if e, ok := err.(*Error); ok && e.Status == StatusBufferTooSmall && int(n) > len(buf) {
			buf = make([]byte, int(n))
			continue
		}
		return nil, err
	}
}

// bytePtr is the C view of b: NULL for an empty slice, which the contract
// reads as an empty input.
func bytePtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// cKeyID converts a key id to a C string the caller frees. A NUL byte
// would silently cut the id short in C, so it is refused here with the
// status the library gives any other invalid id.
func cKeyID(op, id string) (*C.char, error) {
	if strings.IndexByte(id, 0) >= 0 {
		return nil, localError(op, StatusInvalidKeyID, "key id contains a NUL byte")
	}
	return C.CString(id), nil
}

// milliseconds converts d for a uint32_t count of milliseconds, rounding
// up so that a positive duration never becomes 0; what names it in the
// error for a negative or too long one.
func milliseconds(op, what string, d time.Duration) (C.uint32_t, error) {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if d < 0 || ms > 1<<32-1 {
		return 0, localError(op, StatusInvalidArgument, what+" "+d.String()+" is out of range (0 to 2^32-1 ms)")
	}
	return C.uint32_t(ms), nil
}

// checkLen refuses an output length that cannot be allocated; the
// library itself checks the exact upper bound of each algorithm.
func checkLen(op string, n int) error {
	if n < 0 || n > 255*MaxDigestLen {
		return localError(op, StatusInvalidArgument,
			"output length "+strconv.Itoa(n)+" is out of range (1 to 255 x digest length)")
	}
	return nil
}
