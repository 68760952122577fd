package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// checkError fails the test unless err is an *Error matching sentinel
// (so of its status), with a one-line message that contains names (when
// not ""), and an Errno that Unwrap returns. It returns the *Error.
func checkError(t *testing.T, err error, sentinel error, names string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *Error matching %v, got %v", sentinel, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%v does not match %v", err, sentinel)
	}
	if e.Op == "" || e.Message == "" || strings.Contains(e.Message, "\n") {
		t.Errorf("op %q, message %q", e.Op, e.Message)
	}
	if names != "" && !strings.Contains(e.Message, names) {
		t.Errorf("message %q does not name %q", e.Message, names)
	}
	if (e.Errno == 0) != (e.Unwrap() == nil) {
		t.Errorf("Errno %d but Unwrap %v", e.Errno, e.Unwrap())
	}
	return e
}

// writePrivate writes data to a new file of mode 0600.
func writePrivate(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	must(t, f.Close())
}

// makeKEK writes a key-encryption key, 32 random bytes, to a private file.
func makeKEK(t *testing.T, path string) []byte {
	t.Helper()
	kek := make([]byte, 32)
	_, err := rand.Read(kek)
	must(t, err)
	writePrivate(t, path, kek)
	return kek
}

// kekID is the id the library gives a KEK: HMAC-SHA256(KEK,
// "codomyrmex_keys kek id v1"), 8 bytes, in hex.
func kekID(kek []byte) string {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("codomyrmex_keys kek id v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// tagged is the tagged MAC (HMAC-SHA256) of data with version v of key.
func tagged(v uint32, key, data string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(data))
	tag := []byte{1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(tag[1:], v)
	return append(tag, m.Sum(nil)...)
}

// secretVolume fills mount as the kubelet fills a Secret volume, then
// swaps ..data to it: versions[id] lists a key's versions, oldest first;
// the last is <id>.key, the others <id>.key.v<N>, 0644 files in a
// ..<stamp> directory; every name at the top links through ..data. It
// returns that directory.
func secretVolume(t *testing.T, mount string, versions map[string][]string, stamp string) string {
	t.Helper()
	must(t, os.MkdirAll(mount, 0o755))
	must(t, os.Chmod(mount, 0o777|os.ModeSticky)) // a tmpfs mount point
	dataDir := filepath.Join(mount, ".."+stamp)
	must(t, os.Mkdir(dataDir, 0o755))
	var names []string
	for id, list := range versions {
		for i, key := range list {
			name := id + ".key"
			if i < len(list)-1 {
				name += ".v" + strconv.Itoa(i+1)
			}
			must(t, os.WriteFile(filepath.Join(dataDir, name), []byte(key), 0o644))
			must(t, os.Chmod(filepath.Join(dataDir, name), 0o644))
			names = append(names, name)
		}
	}
	must(t, os.Symlink(filepath.Base(dataDir), filepath.Join(mount, "..data_tmp")))
	must(t, os.Rename(filepath.Join(mount, "..data_tmp"), filepath.Join(mount, "..data"))) // the atomic swap
	for _, name := range names {
		if _, err := os.Lstat(filepath.Join(mount, name)); os.IsNotExist(err) {
			must(t, os.Symlink("..data/"+name, filepath.Join(mount, name)))
		}
	}
	return dataDir
}

// holdLock holds the writers' lock of dir (a record lock over the whole
// .lock file) until the returned function is called.
func holdLock(t *testing.T, dir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR, 0)
	must(t, err)
	lock := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	must(t, syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lock))
	return func() {
		lock.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lock)
		f.Close()
	}
}

// fileState is a regular file's content and modification time.
type fileState struct {
	data  []byte
	mtime int64
}

// tree is every regular file under root, by relative path.
func tree(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	must(t, filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		out[rel] = fileState{data, info.ModTime().UnixNano()}
		return err
	}))
	return out
}

// sameTree reports whether two trees hold the same files, contents and times.
func sameTree(a, b map[string]fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for name, fa := range a {
		fb, ok := b[name]
		if !ok || !bytes.Equal(fa.data, fb.data) || fa.mtime != fb.mtime {
			return false
		}
	}
	return true
}

// filesContaining lists the files under root whose bytes contain secret.
func filesContaining(t *testing.T, root string, secret string) []string {
	t.Helper()
	var out []string
	for name, f := range tree(t, root) {
		if bytes.Contains(f.data, []byte(secret)) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
