package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOpenWithPathAndNoOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	km, err := OpenWith(dir)
	must(t, err)
	must(t, km.Store("k", []byte("key")))
	got, _ := km.Dir()
	if want, _ := filepath.EvalSymlinks(dir); got != want {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
	km.Close()
	km, err = OpenWith(dir, LockTimeout(time.Second), TrustedUID(65534)) // a private directory ignores TrustedUID
	must(t, err)
	defer km.Close()
	if key, err := km.Get("k"); err != nil || string(key) != "key" {
		t.Errorf("Get: %q, %v", key, err)
	}
}

func TestOpenWithUnknownSchemes(t *testing.T) {
	root := t.TempDir()
	wd, _ := os.Getwd()
	must(t, os.Chdir(root))
	defer os.Chdir(wd)
	for _, location := range []string{"consul://127.0.0.1:8500", "vault:secret/app", "a:b"} {
		_, err := OpenWith(location)
		checkError(t, err, ErrInvalidArgument, strings.SplitN(location, ":", 2)[0])
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("something was created: %v", entries)
	}
	km, err := OpenWith("./a:b") // the documented way to name such a directory
	must(t, err)
	km.Close()
	if st, err := os.Stat(filepath.Join(root, "a:b")); err != nil || !st.IsDir() {
		t.Errorf("./a:b: %v", err)
	}
}

func TestReadOnlyWritesFailAndTouchNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	w, err := Open(dir)
	must(t, err)
	must(t, w.Store("k", []byte("version one")))
	_, err = w.Rotate("k", []byte("version two"))
	must(t, err)
	_, err = w.Stage("k", []byte("staged three"))
	must(t, err)
	w.Close()
	before := tree(t, dir)
	km, err := OpenWith(dir, ReadOnly(true))
	must(t, err)
	defer km.Close()
	writes := map[string]func() error{
		"Store":         func() error { return km.Store("k", []byte("x")) },
		"Create":        func() error { return km.Create("new", []byte("x")) },
		"Generate":      func() error { return km.Generate("new", 32) },
		"Rotate":        func() error { _, err := km.Rotate("k", []byte("x")); return err },
		"Delete":        func() error { return km.Delete("k") },
		"Prune":         func() error { return km.Prune("k", 1) },
		"Stage":         func() error { _, err := km.Stage("k", []byte("x")); return err },
		"StageGenerate": func() error { _, err := km.StageGenerate("k", 32); return err },
		"Promote":       func() error { return km.Promote("k", 3) },
	}
	named := regexp.MustCompile(`'(k|new)'`)
	for name, write := range writes {
		e := checkError(t, write(), ErrInvalidArgument, "read-only key source")
		if !named.MatchString(e.Message) {
			t.Errorf("%s: %q names no key", name, e.Message)
		}
	}
	_, err = km.SealAll()
	checkError(t, err, ErrInvalidArgument, "read-only key source")
	if key, err := km.Get("k"); err != nil || string(key) != "version two" {
		t.Errorf("Get: %q, %v", key, err)
	}
	if v, err := km.ListVersions("k"); err != nil || !reflect.DeepEqual(v, []uint32{1, 2, 3}) {
		t.Errorf("ListVersions: %v, %v", v, err)
	}
	if !sameTree(before, tree(t, dir)) {
		t.Error("a refused write changed the directory")
	}
}

func TestOptionValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	_, err := OpenWith(dir, LockTimeout(-time.Second))
	checkError(t, err, ErrInvalidArgument, "lock timeout")
	_, err = OpenWith(dir, LockTimeout(50*24*time.Hour))
	checkError(t, err, ErrInvalidArgument, "lock timeout")
	_, err = OpenWith(dir, KEKFile("a\x00b"))
	checkError(t, err, ErrInvalidArgument, "KEK file path")
	_, err = OpenWith(dir, KEKCredential("a\x00b"))
	checkError(t, err, ErrInvalidArgument, "KEK credential name")
	_, err = OpenWith(dir, Option{})
	checkError(t, err, ErrInvalidArgument, "zero Option")
	_, err = OpenWith(dir, KEKCredential("../kek"))
	e := checkError(t, err, ErrInvalidArgument, "../kek")
	if e.Op != "open_options_set_kek_credential" {
		t.Errorf("Op %q", e.Op)
	}
	_, err = OpenWith("a\x00b")
	checkError(t, err, ErrInvalidArgument, "location")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused open created %s", dir)
	}
	if ms, err := milliseconds("op", "x", time.Microsecond); err != nil || ms != 1 {
		t.Errorf("1µs -> %d ms, %v: a positive duration must not become 0 (forever)", ms, err)
	}
}

const (
	oldAPIKey = "api key, version 1"
	newAPIKey = "api key, version 2"
)

// mounted builds a Secret volume with api (two versions) and db, and
// returns the temporary root, the mount and its ..<timestamp> directory.
func mounted(t *testing.T) (root, mount, dataDir string) {
	root = t.TempDir()
	mount = filepath.Join(root, "secret")
	dataDir = secretVolume(t, mount, map[string][]string{"api": {oldAPIKey, newAPIKey}, "db": {"database key"}},
		"2024_05_01_12_00_00.000000001")
	return root, mount, dataDir
}

func openMounted(t *testing.T, mount string, opts ...Option) *KeyManager {
	t.Helper()
	km, err := OpenWith("mounted:"+mount, opts...)
	must(t, err)
	t.Cleanup(func() { km.Close() })
	return km
}

func TestMountedKubernetesSecretVolume(t *testing.T) {
	_, mount, _ := mounted(t)
	km := openMounted(t, mount)
	if dir, _ := km.Dir(); dir != mount {
		t.Errorf("Dir() = %q", dir)
	}
	if ids, err := km.List(); err != nil || !reflect.DeepEqual(ids, []string{"api", "db"}) {
		t.Errorf("List: %v, %v", ids, err)
	}
	if key, err := km.Get("api"); err != nil || string(key) != newAPIKey {
		t.Errorf("Get: %q, %v", key, err)
	}
	if v, err := km.CurrentVersion("api"); err != nil || v != 2 {
		t.Errorf("CurrentVersion: %d, %v", v, err)
	}
	if v, err := km.ListVersions("api"); err != nil || !reflect.DeepEqual(v, []uint32{1, 2}) {
		t.Errorf("ListVersions: %v, %v", v, err)
	}
	if key, err := km.GetVersion("api", 1); err != nil || string(key) != oldAPIKey {
		t.Errorf("GetVersion 1: %q, %v", key, err)
	}
	msg := []byte("message")
	// A tagged MAC made with the older version before the rollout still verifies.
	must(t, km.HmacVerifyTagged("api", SHA256, msg, tagged(1, oldAPIKey, "message")))
	if tag, err := km.HmacTagged("api", SHA256, msg); err != nil || !bytes.Equal(tag, tagged(2, newAPIKey, "message")) {
		t.Errorf("HmacTagged: %x, %v", tag, err)
	}
	checkError(t, km.HmacVerifyTagged("api", SHA256, msg, tagged(1, newAPIKey, "message")), ErrVerifyFailed, "MAC")
}

func TestMountedWritesAreRefused(t *testing.T) {
	_, mount, _ := mounted(t)
	km := openMounted(t, mount)
	before := tree(t, mount)
	for _, write := range []func() error{
		func() error { return km.Store("api", []byte("x")) },
		func() error { return km.Create("new", []byte("x")) },
		func() error { _, err := km.Rotate("api", []byte("x")); return err },
		func() error { return km.Delete("db") },
		func() error { return km.Prune("api", 1) },
		func() error { _, err := km.Stage("api", []byte("x")); return err },
		func() error { return km.Promote("api", 2) },
	} {
		checkError(t, write(), ErrInvalidArgument, "read-only key source")
	}
	if !sameTree(before, tree(t, mount)) {
		t.Error("a refused write changed the source")
	}
}

func TestMountedUpdateIsSeenByTheNextCall(t *testing.T) {
	_, mount, _ := mounted(t)
	km := openMounted(t, mount)
	ring, err := km.Load("api", SHA256, 0)
	must(t, err)
	defer ring.Close()
	secretVolume(t, mount, map[string][]string{"api": {oldAPIKey, newAPIKey, "api key, version 3"}}, "2024_06_01_00_00_00.0")
	if key, err := km.Get("api"); err != nil || string(key) != "api key, version 3" {
		t.Errorf("Get after the update: %q, %v", key, err)
	}
	if changed, err := ring.Refresh(); err != nil || !changed {
		t.Errorf("Refresh: %v, %v", changed, err)
	}
	if v, err := ring.CurrentVersion(); err != nil || v != 3 {
		t.Errorf("keyring version %d, %v", v, err)
	}
}

func TestMountedUntrustedOwnerUnlessTrustedUID(t *testing.T) {
	_, mount, dataDir := mounted(t)
	must(t, os.Chown(filepath.Join(dataDir, "db.key"), 65534, 65534))
	_, err := openMounted(t, mount).Get("db")
	e := checkError(t, err, ErrInsecurePermissions, "db")
	if !strings.Contains(e.Message, "65534") {
		t.Errorf("message %q", e.Message)
	}
	if key, err := openMounted(t, mount, TrustedUID(65534)).Get("db"); err != nil || string(key) != "database key" {
		t.Errorf("with TrustedUID: %q, %v", key, err)
	}
}

func TestMountedLinkLeadingOutside(t *testing.T) {
	root, mount, dataDir := mounted(t)
	must(t, os.WriteFile(filepath.Join(root, "outside.key"), []byte("not in the source"), 0o600))
	must(t, os.Symlink(filepath.Join(root, "outside.key"), filepath.Join(dataDir, "evil.key")))
	_, err := openMounted(t, mount).Get("evil")
	e := checkError(t, err, ErrInsecurePermissions, "leads outside the mounted source")
	if e.Errno != 18 { // EXDEV: the kernel's refusal behind it
		t.Errorf("Errno %v", e.Errno)
	}
}
