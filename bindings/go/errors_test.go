package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var invalidKeyIDs = []string{
	"", ".", "..", ".hidden", "a/b", "../escape", "a\\b", "a b", "tab\t", "caf\u00e9",
	"nul\x00byte", "\x00", strings.Repeat("a", MaxKeyIDLen+1), "semi;colon", "star*",
}

// Every function taking a key id refuses a bad one with INVALID_KEY_ID
// and a message, and never touches the disk.
func TestInvalidKeyIDs(t *testing.T) {
	km, dir := openTemp(t)
	ops := map[string]func(id string) error{
		"Store":  func(id string) error { return km.Store(id, []byte("k")) },
		"Create": func(id string) error { return km.Create(id, []byte("k")) },
		"Generate": func(id string) error {
			return km.Generate(id, 16)
		},
		"Get":    func(id string) error { _, err := km.Get(id); return err },
		"Exists": func(id string) error { _, err := km.Exists(id); return err },
		"Delete": func(id string) error { return km.Delete(id) },
		"Rotate": func(id string) error { _, err := km.Rotate(id, []byte("k")); return err },
		"Hmac":   func(id string) error { _, err := km.Hmac(id, SHA256, nil); return err },
		"HmacVerify": func(id string) error {
			return km.HmacVerify(id, SHA256, nil, make([]byte, 32))
		},
		"Derive":         func(id string) error { _, err := km.Derive(id, SHA256, nil, nil, 16); return err },
		"CurrentVersion": func(id string) error { _, err := km.CurrentVersion(id); return err },
		"GetVersion":     func(id string) error { _, err := km.GetVersion(id, 1); return err },
		"ListVersions":   func(id string) error { _, err := km.ListVersions(id); return err },
		"Prune":          func(id string) error { return km.Prune(id, 1) },
		"HmacVersion":    func(id string) error { _, err := km.HmacVersion(id, 1, SHA256, nil); return err },
		"DeriveVersion": func(id string) error {
			_, err := km.DeriveVersion(id, 1, SHA256, nil, nil, 16)
			return err
		},
		"HmacTagged": func(id string) error { _, err := km.HmacTagged(id, SHA256, nil); return err },
		"HmacVerifyTagged": func(id string) error {
			return km.HmacVerifyTagged(id, SHA256, nil, make([]byte, 37))
		},
	}
	for name, op := range ops {
		for _, id := range invalidKeyIDs {
			err := op(id)
			var e *Error
			if !errors.Is(err, ErrInvalidKeyID) || !errors.As(err, &e) || e.Message == "" || e.Status != StatusInvalidKeyID {
				t.Errorf("%s(%q): %v", name, id, err)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".key") {
			t.Errorf("an invalid id left %s", e.Name())
		}
	}
	// The longest and the most varied valid ids work.
	for _, id := range []string{strings.Repeat("a", MaxKeyIDLen), "A-Z.a_z-0.9", "x", "a..b", "-dash"} {
		if err := km.Store(id, []byte("k")); err != nil {
			t.Errorf("valid id %q: %v", id, err)
		}
	}
}

// Algorithm 99 (and 0) is UNSUPPORTED_ALGORITHM everywhere.
func TestUnknownAlgorithm(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("k", []byte("key")))
	tag, _ := km.HmacTagged("k", SHA256, nil)
	for _, alg := range []Alg{0, 4, 99, 1 << 31} {
		ops := map[string]func() error{
			"Hmac":        func() error { _, err := Hmac(alg, []byte("k"), nil); return err },
			"HmacVerify":  func() error { return HmacVerify(alg, []byte("k"), nil, make([]byte, 32)) },
			"NewHmac":     func() error { _, err := NewHmac(alg, nil); return err },
			"Hkdf":        func() error { _, err := Hkdf(alg, []byte("ikm"), nil, nil, 16); return err },
			"HkdfExtract": func() error { _, err := HkdfExtract(alg, nil, []byte("ikm")); return err },
			"HkdfExpand":  func() error { _, err := HkdfExpand(alg, make([]byte, 64), nil, 16); return err },
			"km.Hmac":     func() error { _, err := km.Hmac("k", alg, nil); return err },
			"km.HmacVerify": func() error {
				return km.HmacVerify("k", alg, nil, make([]byte, 32))
			},
			"km.Derive":      func() error { _, err := km.Derive("k", alg, nil, nil, 16); return err },
			"km.HmacVersion": func() error { _, err := km.HmacVersion("k", 1, alg, nil); return err },
			"km.DeriveVersion": func() error {
				_, err := km.DeriveVersion("k", 1, alg, nil, nil, 16)
				return err
			},
			"km.HmacTagged":       func() error { _, err := km.HmacTagged("k", alg, nil); return err },
			"km.HmacVerifyTagged": func() error { return km.HmacVerifyTagged("k", alg, nil, tag) },
		}
		for name, op := range ops {
			err := op()
			if !errors.Is(err, ErrUnsupportedAlgorithm) || !strings.Contains(err.Error(), "CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM") {
				t.Errorf("%s with algorithm %d: %v", name, alg, err)
			}
		}
	}
}

func TestErrorValues(t *testing.T) {
	km, _ := openTemp(t)
	_, err := km.Get("absent")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not *Error", err)
	}
	if e.Status != StatusNotFound || e.Op != "key_manager_get" || !strings.Contains(e.Message, "absent") {
		t.Errorf("%+v", e)
	}
	if s := err.Error(); !strings.HasPrefix(s, "codomyrmex_keys: key_manager_get: ") || !strings.HasSuffix(s, "(CODOMYRMEX_ERR_NOT_FOUND)") {
		t.Errorf("Error() = %q", s)
	}
	// Matching is by status, and only against the sentinels.
	for _, other := range []error{ErrVerifyFailed, ErrIO, ErrAlreadyExists, ErrInvalidKeyID} {
		if errors.Is(err, other) {
			t.Errorf("%v matches %v", err, other)
		}
	}
	var other *Error
	_, err2 := km.Get("also-absent")
	errors.As(err2, &other)
	if errors.Is(err, other) {
		t.Error("two NOT_FOUND errors with their own messages must not match each other")
	}
	if ErrNotFound.Error() != "codomyrmex_keys: CODOMYRMEX_ERR_NOT_FOUND" {
		t.Error(ErrNotFound.Error())
	}
	sentinels := []error{ErrNullPointer, ErrInvalidArgument, ErrInvalidKeyID, ErrUnsupportedAlgorithm,
		ErrBufferTooSmall, ErrNotFound, ErrAlreadyExists, ErrVerifyFailed, ErrIO,
		ErrInsecurePermissions, ErrCorrupt, ErrInternal}
	for i, s := range sentinels {
		if s.(*Error).Status != Status(i+1) {
			t.Errorf("sentinel %d has status %d", i+1, s.(*Error).Status)
		}
	}
	// One-shot verification failure.
	if err := HmacVerify(SHA256, []byte("k"), []byte("m"), make([]byte, 32)); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("HmacVerify: %v", err)
	}
}

// The statuses the file system produces reach Go with their messages.
func TestFilesystemErrors(t *testing.T) {
	base := t.TempDir()

	open := filepath.Join(base, "open")
	must(t, os.Mkdir(open, 0o777))
	must(t, os.Chmod(open, 0o777))
	if _, err := Open(open); !errors.Is(err, ErrInsecurePermissions) || !strings.Contains(err.Error(), open) {
		t.Errorf("world-writable dir: %v", err)
	}
	link := filepath.Join(base, "link")
	must(t, os.Symlink(t.TempDir(), link))
	if _, err := Open(link); !errors.Is(err, ErrInsecurePermissions) {
		t.Errorf("symlinked dir: %v", err)
	}
	file := filepath.Join(base, "file")
	must(t, os.WriteFile(file, []byte("x"), 0o600))
	if _, err := Open(file); !errors.Is(err, ErrIO) {
		t.Errorf("a file as key dir: %v", err)
	}
	if _, err := Open("bad\x00dir"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("NUL in dir: %v", err)
	}

	km, dir := openTemp(t)
	must(t, km.Store("loose", []byte("k")))
	must(t, os.Chmod(filepath.Join(dir, "loose.key"), 0o644))
	if _, err := km.Get("loose"); !errors.Is(err, ErrInsecurePermissions) {
		t.Errorf("0644 key file: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "empty.key"), nil, 0o600))
	if _, err := km.Get("empty"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("empty key file: %v", err)
	}
	must(t, os.Mkdir(filepath.Join(dir, "adir.key"), 0o700))
	if _, err := km.Exists("adir"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("directory at a key's name: %v", err)
	}
}
