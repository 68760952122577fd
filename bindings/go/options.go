package keys

/*
#include <stdlib.h>
#include "codomyrmex_keys.h"
*/
import "C"

import (
	"strings"
	"time"
	"unsafe"
)

// Option is one setting of OpenWith, made by ReadOnly, TrustedUID,
// LockTimeout, KEKFile, KEKCredential, RequireSealed, or, for an etcd
// source, Timeout, TLS and Auth. An option not given keeps the library's
// default; of two that set the same thing, the later wins.
type Option struct {
	op  string // the C setter, without its "codomyrmex_" prefix
	err error  // a value refused before any C call
	set func(opts *C.codomyrmex_open_options) C.codomyrmex_status
}

// ReadOnly(true) makes every write (Store, Create, Generate, Rotate,
// Delete, Prune, Stage, StageGenerate, Promote, SealAll) fail with
// ErrInvalidArgument and touch nothing; opening creates nothing. Mounted
// sources are always read-only.
func ReadOnly(on bool) Option {
	return Option{op: "open_options_set_read_only", set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		return C.codomyrmex_open_options_set_read_only(opts, C.bool(on))
	}}
}

// TrustedUID makes a mounted source also trust files and directories
// owned by uid (the agent that writes them, such as Vault Agent's user),
// besides root and the effective user.
func TrustedUID(uid uint32) Option {
	return Option{op: "open_options_set_trusted_uid", set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		return C.codomyrmex_open_options_set_trusted_uid(opts, C.uint32_t(uid))
	}}
}

// LockTimeout makes writers wait at most d (rounded up to a millisecond)
// for another writer's lock, then fail with an error matching ErrIO that
// wraps syscall.ETIMEDOUT; 0 waits as long as it takes. The default is 30
// seconds.
func LockTimeout(d time.Duration) Option {
	const op = "open_options_set_lock_timeout_ms"
	ms, err := milliseconds(op, "lock timeout", d)
	return Option{op: op, err: err, set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		return C.codomyrmex_open_options_set_lock_timeout_ms(opts, ms)
	}}
}

// KEKFile seals every key file and version record written under the
// key-encryption key in the file path: exactly 32 random bytes
// (`codomyrmex-keys kek generate`), a regular file of this user or root
// with no access for group or others, outside the key directory. Sealed
// files are read with it; plain ones stay readable unless RequireSealed.
func KEKFile(path string) Option {
	return stringOption("open_options_set_kek_file", "KEK file path", path,
		func(opts *C.codomyrmex_open_options, s *C.char) C.codomyrmex_status {
			return C.codomyrmex_open_options_set_kek_file(opts, s)
		})
}

// KEKCredential is KEKFile for the systemd credential name: the file
// $CREDENTIALS_DIRECTORY/<name> that LoadCredential= or
// LoadCredentialEncrypted= (a TPM-bound KEK) provides.
func KEKCredential(name string) Option {
	return stringOption("open_options_set_kek_credential", "KEK credential name", name,
		func(opts *C.codomyrmex_open_options, s *C.char) C.codomyrmex_status {
			return C.codomyrmex_open_options_set_kek_credential(opts, s)
		})
}

// RequireSealed(true) makes reading a key file or version record that is
// not sealed fail with ErrCorrupt, so that nobody who can write the key
// directory can slip a plain key in.
func RequireSealed(on bool) Option {
	return Option{op: "open_options_set_require_sealed", set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		return C.codomyrmex_open_options_set_require_sealed(opts, C.bool(on))
	}}
}

// Timeout bounds every request to an etcd source (etcd://...): connecting,
// failing over between members and retrying included, one request takes
// at most d (rounded up to a millisecond; default 5 seconds), then the
// call fails with ErrIO and a message naming every endpoint tried and why
// it failed. A call that makes several requests (a write reads, then
// commits) ends with the first that runs out of time. d must be at least
// one millisecond (0 is ErrInvalidArgument). Other sources ignore it.
func Timeout(d time.Duration) Option {
	const op = "open_options_set_timeout_ms"
	ms, err := milliseconds(op, "timeout", d)
	return Option{op: op, err: err, set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		return C.codomyrmex_open_options_set_timeout_ms(opts, ms)
	}}
}

// TLS makes an etcd source reach its members over TLS (https). caFile
// holds the PEM CA certificates the members' certificates must chain to
// ("": the system's bundle, or $SSL_CERT_FILE); certFile and keyFile are a
// client certificate and its private key (PEM), for clusters that require
// one: both or neither ("", else ErrInvalidArgument). The key file must be
// a regular file of this user or root that group and others cannot access
// (ErrInsecurePermissions from OpenWith). A member certificate the client
// does not trust fails a call at once with ErrIO.
func TLS(caFile, certFile, keyFile string) Option {
	return stringsOption("open_options_set_tls",
		[]string{"TLS CA file path", "TLS certificate file path", "TLS key file path"},
		[]string{caFile, certFile, keyFile}, true,
		func(opts *C.codomyrmex_open_options, s []*C.char) C.codomyrmex_status {
			return C.codomyrmex_open_options_set_tls(opts, s[0], s[1], s[2])
		})
}

// Auth makes an etcd source authenticate as the etcd user user (UTF-8, not
// empty, else ErrInvalidArgument) with the password in the file
// passwordFile: a regular file of this user or root that group and others
// cannot access (ErrInsecurePermissions from OpenWith), holding the
// password (one trailing newline is ignored). The file is read again
// whenever a new auth token is needed, so a changed password is picked up;
// neither the password nor the token ever appears in an error.
func Auth(user, passwordFile string) Option {
	return stringsOption("open_options_set_auth",
		[]string{"etcd user", "password file path"},
		[]string{user, passwordFile}, false,
		func(opts *C.codomyrmex_open_options, s []*C.char) C.codomyrmex_status {
			return C.codomyrmex_open_options_set_auth(opts, s[0], s[1])
		})
}

// stringOption is an Option whose setter takes value as a C string; what
// names it in the error for a NUL byte.
func stringOption(op, what, value string, set func(*C.codomyrmex_open_options, *C.char) C.codomyrmex_status) Option {
	return stringsOption(op, []string{what}, []string{value}, false,
		func(opts *C.codomyrmex_open_options, s []*C.char) C.codomyrmex_status {
			return set(opts, s[0])
		})
}

// stringsOption is an Option whose setter takes values as C strings (NULL
// for "" when emptyIsNull); whats name them in the error for a NUL byte.
func stringsOption(op string, whats, values []string, emptyIsNull bool,
	set func(*C.codomyrmex_open_options, []*C.char) C.codomyrmex_status) Option {
	for i, value := range values {
		if strings.IndexByte(value, 0) >= 0 {
			return Option{op: op, err: localError(op, StatusInvalidArgument, whats[i]+" contains a NUL byte")}
		}
	}
	return Option{op: op, set: func(opts *C.codomyrmex_open_options) C.codomyrmex_status {
		cs := make([]*C.char, len(values))
		for i, value := range values {
			if value == "" && emptyIsNull {
				continue
			}
			cs[i] = C.CString(value)
			defer C.free(unsafe.Pointer(cs[i]))
		}
		return set(opts, cs)
	}}
}

// withOptions runs f with a native options object holding opts, or with
// nil (the defaults) when there is none, and frees it afterwards.
func withOptions(opts []Option, f func(opts *C.codomyrmex_open_options) error) error {
	for _, o := range opts {
		if o.err != nil {
			return o.err
		}
		if o.set == nil {
			return localError("open_options", StatusInvalidArgument, "the zero Option: make options with ReadOnly, LockTimeout and the like")
		}
	}
	if len(opts) == 0 {
		return f(nil)
	}
	var copts *C.codomyrmex_open_options
	if err := call("open_options_new", func() C.codomyrmex_status {
		return C.codomyrmex_open_options_new(&copts)
	}); err != nil {
		return err
	}
	defer C.codomyrmex_open_options_free(copts)
	for _, o := range opts {
		if err := call(o.op, func() C.codomyrmex_status { return o.set(copts) }); err != nil {
			return err
		}
	}
	return f(copts)
}
