package keys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func openTemp(t *testing.T) (*KeyManager, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	km, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { km.Close() })
	return km, dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeyStoreRoundTrip(t *testing.T) {
	km, dir := openTemp(t)
	msg := []byte("a message")

	got, err := km.Dir()
	must(t, err)
	if want, _ := filepath.EvalSymlinks(dir); got != want && got != dir {
		t.Errorf("Dir() = %q, want %q", got, dir)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode: %v %v", st.Mode(), err)
	}

	// store / get / exists / list
	k1 := []byte("first key, 32 bytes long.......")
	must(t, km.Store("alpha", k1))
	if key, err := km.Get("alpha"); err != nil || !bytes.Equal(key, k1) {
		t.Fatalf("Get: %q, %v", key, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "alpha.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	if ok, err := km.Exists("alpha"); err != nil || !ok {
		t.Errorf("Exists(alpha) = %v, %v", ok, err)
	}
	if ok, err := km.Exists("nothing"); err != nil || ok {
		t.Errorf("Exists(nothing) = %v, %v", ok, err)
	}

	// create / generate
	must(t, km.Create("beta", []byte("beta key")))
	if err := km.Create("beta", []byte("other")); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("Create twice: %v", err)
	}
	must(t, km.Generate("gamma", 48))
	if err := km.Generate("gamma", 48); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("Generate twice: %v", err)
	}
	if key, err := km.Get("gamma"); err != nil || len(key) != 48 {
		t.Errorf("generated key: %d bytes, %v", len(key), err)
	}
	if ids, err := km.List(); err != nil || !reflect.DeepEqual(ids, []string{"alpha", "beta", "gamma"}) {
		t.Errorf("List() = %q, %v", ids, err)
	}

	// hmac / verify / derive with the stored key agree with the one-shot functions
	for _, alg := range allAlgs {
		mac, err := km.Hmac("alpha", alg, msg)
		must(t, err)
		if want, _ := Hmac(alg, k1, msg); !bytes.Equal(mac, want) {
			t.Errorf("%v: key manager HMAC differs", alg)
		}
		must(t, km.HmacVerify("alpha", alg, msg, mac))
		if err := km.HmacVerify("alpha", alg, []byte("another message"), mac); !errors.Is(err, ErrVerifyFailed) {
			t.Errorf("%v: wrong message: %v", alg, err)
		}
		if err := km.HmacVerify("alpha", alg, msg, mac[:len(mac)-1]); !errors.Is(err, ErrVerifyFailed) {
			t.Errorf("%v: truncated MAC: %v", alg, err)
		}
		okm, err := km.Derive("alpha", alg, []byte("salt"), []byte("info"), 100)
		must(t, err)
		if want, _ := Hkdf(alg, k1, []byte("salt"), []byte("info"), 100); !bytes.Equal(okm, want) {
			t.Errorf("%v: Derive differs from Hkdf", alg)
		}
	}

	// rotate keeps the old version
	k2 := []byte("second key")
	old, err := km.Rotate("alpha", k2)
	if err != nil || !bytes.Equal(old, k1) {
		t.Fatalf("Rotate returned %q, %v", old, err)
	}
	if key, _ := km.Get("alpha"); !bytes.Equal(key, k2) {
		t.Errorf("after Rotate: %q", key)
	}
	if old, err := km.Rotate("fresh", []byte("fresh key")); err != nil || old != nil {
		t.Errorf("Rotate of a new id: %q, %v", old, err)
	}
	if v, err := km.CurrentVersion("fresh"); err != nil || v != 1 {
		t.Errorf("fresh version %d, %v", v, err)
	}

	// delete
	must(t, km.Delete("beta"))
	if err := km.Delete("beta"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice: %v", err)
	}
	if _, err := km.Get("beta"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get deleted: %v", err)
	}
	if ok, _ := km.Exists("beta"); ok {
		t.Error("deleted key still exists")
	}
	if ids, _ := km.List(); !reflect.DeepEqual(ids, []string{"alpha", "fresh", "gamma"}) {
		t.Errorf("List() = %q", ids)
	}

	// keys persist across handles
	must(t, km.Close())
	km2, err := Open(dir)
	must(t, err)
	defer km2.Close()
	if key, err := km2.Get("alpha"); err != nil || !bytes.Equal(key, k2) {
		t.Errorf("reopened: %q, %v", key, err)
	}
}

func TestVersionsAndTaggedMACs(t *testing.T) {
	km, dir := openTemp(t)
	msg := []byte("signed data")
	keys := [][]byte{[]byte("version one"), []byte("version two"), []byte("version three")}

	must(t, km.Store("svc", keys[0]))
	if v, err := km.CurrentVersion("svc"); err != nil || v != 1 {
		t.Fatalf("CurrentVersion = %d, %v", v, err)
	}
	tag1, err := km.HmacTagged("svc", SHA256, msg)
	must(t, err)
	// Format: 0x01 || version (big-endian) || HMAC.
	if len(tag1) != TagOverhead+32 || tag1[0] != 1 || binary.BigEndian.Uint32(tag1[1:5]) != 1 {
		t.Fatalf("tag %x", tag1)
	}
	if want, _ := Hmac(SHA256, keys[0], msg); !bytes.Equal(tag1[5:], want) {
		t.Error("tag MAC differs from the HMAC of version 1")
	}

	must(t, km.Store("svc", keys[1])) // store over an existing id adds a version
	if _, err := km.Rotate("svc", keys[2]); err != nil {
		t.Fatal(err)
	}
	if v, _ := km.CurrentVersion("svc"); v != 3 {
		t.Errorf("current version %d", v)
	}
	if vs, err := km.ListVersions("svc"); err != nil || !reflect.DeepEqual(vs, []uint32{1, 2, 3}) {
		t.Errorf("ListVersions = %v, %v", vs, err)
	}
	for i, k := range keys {
		v := uint32(i + 1)
		if got, err := km.GetVersion("svc", v); err != nil || !bytes.Equal(got, k) {
			t.Errorf("GetVersion(%d) = %q, %v", v, got, err)
		}
		mac, err := km.HmacVersion("svc", v, SHA384, msg)
		if want, _ := Hmac(SHA384, k, msg); err != nil || !bytes.Equal(mac, want) {
			t.Errorf("HmacVersion(%d): %v", v, err)
		}
		okm, err := km.DeriveVersion("svc", v, SHA512, nil, []byte("ctx"), 64)
		if want, _ := Hkdf(SHA512, k, nil, []byte("ctx"), 64); err != nil || !bytes.Equal(okm, want) {
			t.Errorf("DeriveVersion(%d): %v", v, err)
		}
	}
	if got, _ := km.GetVersion("svc", 0); !bytes.Equal(got, keys[2]) {
		t.Error("GetVersion(0) is not the current key")
	}
	if _, err := km.GetVersion("svc", 4); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetVersion(4): %v", err)
	}
	if _, err := km.HmacVersion("svc", 9, SHA256, msg); !errors.Is(err, ErrNotFound) {
		t.Errorf("HmacVersion(9): %v", err)
	}
	if _, err := km.DeriveVersion("svc", 9, SHA256, nil, nil, 16); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeriveVersion(9): %v", err)
	}
	// Only the current version is visible to List and to a *.key glob.
	if ids, _ := km.List(); !reflect.DeepEqual(ids, []string{"svc"}) {
		t.Errorf("List() = %q", ids)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.key")); len(files) != 1 {
		t.Errorf("*.key = %q", files)
	}

	// A tagged MAC of version 1 verifies across the rotations...
	must(t, km.HmacVerifyTagged("svc", SHA256, msg, tag1))
	tag3, err := km.HmacTagged("svc", SHA256, msg)
	must(t, err)
	if binary.BigEndian.Uint32(tag3[1:5]) != 3 {
		t.Errorf("new tag names version %d", binary.BigEndian.Uint32(tag3[1:5]))
	}
	must(t, km.HmacVerifyTagged("svc", SHA256, msg, tag3))
	if err := km.HmacVerifyTagged("svc", SHA256, []byte("other data"), tag1); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("tag of other data: %v", err)
	}
	if err := km.HmacVerifyTagged("svc", SHA384, msg, tag1); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("tag checked with another algorithm: %v", err)
	}
	bad := func(mutate func(tag []byte) []byte) []byte {
		return mutate(append([]byte{}, tag3...))
	}
	for name, tag := range map[string][]byte{
		"format byte": bad(func(b []byte) []byte { b[0] = 2; return b }),
		"version 0":   bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:5], 0); return b }),
		"version 7":   bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:5], 7); return b }),
		"mac bit":     bad(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"short":       bad(func(b []byte) []byte { return b[:len(b)-1] }),
		"long":        bad(func(b []byte) []byte { return append(b, 0) }),
		"header only": bad(func(b []byte) []byte { return b[:TagOverhead] }),
		"empty":       nil,
	} {
		if err := km.HmacVerifyTagged("svc", SHA256, msg, tag); !errors.Is(err, ErrVerifyFailed) {
			t.Errorf("tag with bad %s: %v", name, err)
		}
	}

	// ...until its version is pruned.
	if err := km.Prune("svc", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Prune(0): %v", err)
	}
	must(t, km.Prune("svc", 2))
	if vs, _ := km.ListVersions("svc"); !reflect.DeepEqual(vs, []uint32{2, 3}) {
		t.Errorf("after Prune(2): %v", vs)
	}
	if err := km.HmacVerifyTagged("svc", SHA256, msg, tag1); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("tag of a pruned version: %v", err)
	}
	must(t, km.Prune("svc", 1))
	if vs, _ := km.ListVersions("svc"); !reflect.DeepEqual(vs, []uint32{3}) {
		t.Errorf("after Prune(1): %v", vs)
	}
	if _, err := km.GetVersion("svc", 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetVersion of a pruned version: %v", err)
	}
	must(t, km.HmacVerifyTagged("svc", SHA256, msg, tag3))

	// No file in the key dir holds a removed version any more.
	assertNoFileHolds(t, dir, keys[0], keys[1])

	// delete removes every version; verifying against a missing id is NOT_FOUND
	must(t, km.Delete("svc"))
	assertNoFileHolds(t, dir, keys[2])
	if err := km.HmacVerifyTagged("svc", SHA256, msg, tag3); !errors.Is(err, ErrNotFound) {
		t.Errorf("tagged verify of a deleted id: %v", err)
	}
	if _, err := km.ListVersions("svc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListVersions of a deleted id: %v", err)
	}
	if _, err := km.CurrentVersion("svc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CurrentVersion of a deleted id: %v", err)
	}
	must(t, km.Store("svc", []byte("reborn")))
	if v, _ := km.CurrentVersion("svc"); v != 1 {
		t.Errorf("a deleted id starts again at version %d", v)
	}
}

func assertNoFileHolds(t *testing.T, dir string, secrets ...[]byte) {
	t.Helper()
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		data, _ := os.ReadFile(path)
		for _, s := range secrets {
			if bytes.Contains(data, s) {
				t.Errorf("%s still holds %q", path, s)
			}
		}
		return nil
	})
}

// Outputs larger than the first buffer the binding tries: the size query
// and retry are invisible to the caller.
func TestLargeOutputs(t *testing.T) {
	km, _ := openTemp(t)
	big, err := RandomBytes(MaxKeyLen)
	must(t, err)
	must(t, km.Store("big", big))
	if got, err := km.Get("big"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get of a %d-byte key: %d bytes, %v", len(big), len(got), err)
	}
	old, err := km.Rotate("big", []byte("small"))
	if err != nil || !bytes.Equal(old, big) {
		t.Fatalf("Rotate returning a %d-byte key: %d bytes, %v", len(big), len(old), err)
	}
	if got, err := km.GetVersion("big", 1); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GetVersion: %v", err)
	}
	// The first, too small, attempt of Rotate changed nothing: one rotation, two versions.
	if vs, err := km.ListVersions("big"); err != nil || !reflect.DeepEqual(vs, []uint32{1, 2}) {
		t.Errorf("versions after a retried Rotate: %v, %v", vs, err)
	}
	if err := km.Store("big", append(big, 0)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("key over the limit: %v", err)
	}
	if err := km.Store("empty", nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty key: %v", err)
	}
	if err := km.Generate("g", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Generate(0): %v", err)
	}
	if err := km.Generate("g", MaxKeyLen+1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Generate(max+1): %v", err)
	}
	if err := km.Generate("g", -1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Generate(-1): %v", err)
	}

	// Many versions.
	for i := 0; i < 20; i++ {
		must(t, km.Store("many", []byte(fmt.Sprintf("key %d", i))))
	}
	if vs, err := km.ListVersions("many"); err != nil || len(vs) != 20 || vs[19] != 20 {
		t.Errorf("ListVersions: %v, %v", vs, err)
	}

	// A long list.
	var want []string
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 100))
		want = append(want, id)
		must(t, km.Store(id, []byte("k")))
	}
	want = append(want, "big", "many")
	sort.Strings(want)
	if ids, err := km.List(); err != nil || !reflect.DeepEqual(ids, want) {
		t.Errorf("List of %d ids: %d, %v", len(want), len(ids), err)
	}
}

func TestDefaultDirectory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	km, err := Open("")
	must(t, err)
	defer km.Close()
	dir, err := km.Dir()
	must(t, err)
	if want := filepath.Join(tmp, "codomyrmex_keys"); dir != want {
		t.Errorf("default dir %q, want %q", dir, want)
	}
}

func TestKeyManagerClose(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("k", []byte("v")))
	must(t, km.Close())
	must(t, km.Close())
	if _, err := km.Get("k"); !errors.Is(err, ErrNullPointer) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := km.List(); !errors.Is(err, ErrNullPointer) {
		t.Errorf("List after Close: %v", err)
	}
	var nilKM *KeyManager
	if _, err := nilKM.Get("k"); !errors.Is(err, ErrNullPointer) {
		t.Errorf("Get on nil: %v", err)
	}
	if err := nilKM.Close(); err != nil {
		t.Error(err)
	}
}

// The library keeps the last error message per OS thread; every error
// must carry the message of its own call, whatever goroutines run at once.
func TestConcurrentUseAndMessages(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Generate("shared", 32))
	mac, _ := km.Hmac("shared", SHA256, []byte("m"))
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("missing-%d-%d", g, i)
				_, err := km.Get(id)
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), id) {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				if err := km.HmacVerify("shared", SHA256, []byte("m"), mac); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// Close while other goroutines use the manager: no crash, and the calls
// after it fail cleanly.
func TestCloseDuringUse(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Generate("k", 32))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 500; i++ {
				if _, err := km.Hmac("k", SHA256, []byte("x")); err != nil {
					if !errors.Is(err, ErrNullPointer) {
						t.Errorf("unexpected error: %v", err)
					}
					return
				}
			}
		}()
	}
	close(start)
	km.Close()
	wg.Wait()
}

// Handles and streams nobody closes are released by their finalizers.
func TestFinalizers(t *testing.T) {
	_, dir := openTemp(t)
	for i := 0; i < 200; i++ {
		km, err := Open(dir)
		must(t, err)
		must(t, km.Store("k", []byte("v")))
		h, err := NewHmac(SHA256, []byte("k"))
		must(t, err)
		h.Write([]byte("x"))
	}
	waitForReports(t, dir, 1) // the unclosed managers are reported (by TestMain's handler)
}

func TestConcurrentRotationsLoseNothing(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("r", []byte("initial")))
	const n = 24
	olds := make(chan string, n)
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			old, err := km.Rotate("r", []byte(fmt.Sprintf("key-%02d", g)))
			if err != nil {
				t.Error(err)
			}
			olds <- string(old)
		}(g)
	}
	wg.Wait()
	close(olds)
	seen := map[string]bool{}
	for o := range olds {
		if seen[o] {
			t.Errorf("%q returned twice", o)
		}
		seen[o] = true
	}
	final, _ := km.Get("r")
	seen[string(final)] = true
	if len(seen) != n+1 || !seen["initial"] {
		t.Errorf("rotations lost keys: %d distinct", len(seen))
	}
	if vs, _ := km.ListVersions("r"); len(vs) != n+1 {
		t.Errorf("%d versions", len(vs))
	}
}
