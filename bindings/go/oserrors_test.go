package keys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The errno behind a failure (codomyrmex_last_os_error) is wrapped by the
// *Error, so the checks Go programs make on *fs.PathError work on it.

func TestPathThroughARegularFileIsENOTDIR(t *testing.T) {
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "plain-file"), []byte("x"), 0o600))
	dir := filepath.Join(root, "plain-file", "keys")
	for _, open := range []func(string) (*KeyManager, error){Open, func(d string) (*KeyManager, error) { return OpenWith(d) }} {
		_, err := open(dir)
		e := checkError(t, err, ErrIO, "plain-file")
		if e.Errno != syscall.ENOTDIR || !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("Errno %v: %v", e.Errno, err)
		}
		var errno syscall.Errno
		if !errors.As(err, &errno) || errno != syscall.ENOTDIR {
			t.Errorf("errors.As: %v", errno)
		}
	}
	// The same check on Go's own error for the same path:
	if err := os.Mkdir(dir, 0o700); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("os.Mkdir: %v", err)
	}
}

func TestReadOnlyOpenOfAMissingDirectoryIsNotExist(t *testing.T) {
	root := t.TempDir()
	_, err := OpenWith(filepath.Join(root, "missing", "keys"), ReadOnly(true))
	checkError(t, err, ErrIO, "missing")
	if !errors.Is(err, fs.ErrNotExist) || !os.IsNotExist(errors.Unwrap(err)) {
		t.Errorf("not fs.ErrNotExist: %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
}

func sysfsWritable() bool {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == "/sys" && f[2] == "sysfs" {
			for _, opt := range strings.Split(f[3], ",") {
				if opt == "rw" {
					return true
				}
			}
		}
	}
	return false
}

func TestADirectoryNobodyMayCreateIsErrPermission(t *testing.T) {
	if !sysfsWritable() {
		t.Skip("/sys is not a read-write sysfs")
	}
	// sysfs refuses mkdir to every user, root included (EPERM; EACCES for others).
	_, err := Open("/sys/codomyrmex-keys-test/keys")
	checkError(t, err, ErrIO, "/sys/codomyrmex-keys-test")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("not fs.ErrPermission: %v", err)
	}
}

func TestLockTimeoutIsETIMEDOUT(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	km, err := OpenWith(dir, LockTimeout(100*time.Millisecond))
	must(t, err)
	defer km.Close()
	must(t, km.Store("k", []byte("first")))
	release := holdLock(t, dir)
	started := time.Now()
	err = km.Store("k", []byte("second"))
	waited := time.Since(started)
	release()
	e := checkError(t, err, ErrIO, "timed out waiting for the lock")
	if !strings.Contains(e.Message, "'k'") || !errors.Is(err, syscall.ETIMEDOUT) || !e.Errno.Timeout() {
		t.Errorf("%v (Errno %v)", err, e.Errno)
	}
	if waited < 90*time.Millisecond || waited > 10*time.Second {
		t.Errorf("waited %v", waited)
	}
	if key, _ := km.Get("k"); string(key) != "first" {
		t.Errorf("Get: %q", key)
	}
	must(t, km.Store("k", []byte("second")))
}

func TestTheLibrarysOwnVerdictsCarryNoErrno(t *testing.T) {
	km, _ := openTemp(t)
	_, err := km.Get("absent")
	e := checkError(t, err, ErrNotFound, "absent")
	if e.Errno != 0 || errors.Unwrap(err) != nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Errno %v, Unwrap %v", e.Errno, errors.Unwrap(err))
	}
}
