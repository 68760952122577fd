package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"testing"
	"time"
)

// goHmac is HMAC-alg of data under key, computed by Go's crypto packages.
func goHmac(alg Alg, key, data string) []byte {
	h := map[Alg]func() hash.Hash{SHA256: sha256.New, SHA384: sha512.New384, SHA512: sha512.New}[alg]
	m := hmac.New(h, []byte(key))
	m.Write([]byte(data))
	return m.Sum(nil)
}

// loadTemp opens a temporary key manager with key "api" and loads it.
func loadTemp(t *testing.T, alg Alg, refresh time.Duration) (*KeyManager, *Keyring) {
	t.Helper()
	km, _ := openTemp(t)
	must(t, km.Store("api", []byte("api key one")))
	ring, err := km.Load("api", alg, refresh)
	must(t, err)
	t.Cleanup(func() { ring.Close() })
	return km, ring
}

func TestKeyringGivesTheKeyManagersBytes(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("api", []byte("api key one")))
	_, err := km.Rotate("api", []byte("api key two"))
	must(t, err)
	for _, alg := range []Alg{SHA256, SHA384, SHA512} {
		ring, err := km.Load("api", alg, 0)
		must(t, err)
		if ring.Alg() != alg || ring.KeyID() != "api" {
			t.Errorf("Alg %v, KeyID %q", ring.Alg(), ring.KeyID())
		}
		for _, data := range []string{"", "message", string(bytes.Repeat([]byte("x"), 1000))} {
			mac, err := ring.Hmac([]byte(data))
			want, _ := km.Hmac("api", alg, []byte(data))
			if err != nil || !bytes.Equal(mac, want) || !bytes.Equal(mac, goHmac(alg, "api key two", data)) {
				t.Errorf("%v Hmac(%.10q): %x, %v", alg, data, mac, err)
			}
			tag, err := ring.HmacTagged([]byte(data))
			wantTag, _ := km.HmacTagged("api", alg, []byte(data))
			if err != nil || !bytes.Equal(tag, wantTag) || !bytes.Equal(tag[:5], []byte{1, 0, 0, 0, 2}) {
				t.Errorf("%v HmacTagged: %x, %v", alg, tag, err)
			}
			must(t, ring.HmacVerify([]byte(data), mac))
			must(t, ring.HmacVerifyTagged([]byte(data), tag))
			must(t, km.HmacVerifyTagged("api", alg, []byte(data), tag))
		}
		ring.Close()
	}
}

func TestKeyringVerifyRejects(t *testing.T) {
	km, ring := loadTemp(t, SHA256, 0)
	data := []byte("data")
	mac, _ := ring.Hmac(data)
	tag, _ := ring.HmacTagged(data)
	flipped := append([]byte(nil), mac...)
	flipped[31] ^= 1
	badFormat := append([]byte{2}, tag[1:]...)
	for i, err := range []error{
		ring.HmacVerify([]byte("datA"), mac),
		ring.HmacVerify(data, flipped),
		ring.HmacVerify(data, mac[:16]),
		ring.HmacVerify(data, nil),
		ring.HmacVerifyTagged([]byte("datA"), tag),
		ring.HmacVerifyTagged(data, tag[:len(tag)-1]),
		ring.HmacVerifyTagged(data, badFormat),
		ring.HmacVerifyTagged(data, tagged(9, "api key one", "data")),
		ring.HmacVerifyTagged(data, mac),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkError(t, err, ErrVerifyFailed, "MAC") })
	}
	_, err := km.Rotate("api", []byte("api key two"))
	must(t, err)
	_, err = ring.Refresh()
	must(t, err)
	must(t, ring.HmacVerifyTagged(data, tag)) // version 1 is still held
	checkError(t, ring.HmacVerify(data, mac), ErrVerifyFailed, "MAC")
}

// version is the keyring's current version, failing the test on an error.
func version(t *testing.T, ring *Keyring) uint32 {
	t.Helper()
	v, err := ring.CurrentVersion()
	must(t, err)
	return v
}

// refreshed is ring.Refresh's answer, failing the test on an error.
func refreshed(t *testing.T, ring *Keyring) bool {
	t.Helper()
	changed, err := ring.Refresh()
	must(t, err)
	return changed
}

func TestKeyringRefreshAndCurrentVersion(t *testing.T) {
	km, ring := loadTemp(t, SHA256, 0)
	if version(t, ring) != 1 || refreshed(t, ring) {
		t.Fatal("a fresh keyring changed")
	}
	_, err := km.Rotate("api", []byte("api key two"))
	must(t, err)
	if version(t, ring) != 1 { // refresh 0: only Refresh reloads
		t.Error("reloaded without Refresh")
	}
	if !refreshed(t, ring) || refreshed(t, ring) || version(t, ring) != 2 {
		t.Error("Refresh after a rotation")
	}
	staged, err := km.Stage("api", []byte("api key three"))
	must(t, err)
	if !refreshed(t, ring) || version(t, ring) != 2 {
		t.Error("Refresh after Stage")
	}
	must(t, ring.HmacVerifyTagged([]byte("m"), tagged(staged, "api key three", "m")))
	must(t, km.Promote("api", staged))
	if !refreshed(t, ring) {
		t.Error("Refresh after Promote")
	}
	if tag, _ := ring.HmacTagged([]byte("m")); !bytes.Equal(tag, tagged(3, "api key three", "m")) {
		t.Errorf("HmacTagged after Promote: %x", tag)
	}
	must(t, km.Prune("api", 1))
	if !refreshed(t, ring) {
		t.Error("Refresh after Prune")
	}
	checkError(t, ring.HmacVerifyTagged([]byte("m"), tagged(1, "api key one", "m")), ErrVerifyFailed, "MAC")
}

func TestKeyringRefreshIntervalSeesARotation(t *testing.T) {
	km, ring := loadTemp(t, SHA256, 20*time.Millisecond)
	_, err := km.Rotate("api", []byte("api key two"))
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for version(t, ring) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the rotation was not seen within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if mac, _ := ring.Hmac([]byte("m")); !bytes.Equal(mac, goHmac(SHA256, "api key two", "m")) {
		t.Errorf("Hmac after the reload: %x", mac)
	}
}

func TestKeyringOfADeletedKey(t *testing.T) {
	km, ring := loadTemp(t, SHA256, 0)
	tag, _ := ring.HmacTagged([]byte("m"))
	must(t, km.Delete("api"))
	_, err := ring.Refresh()
	checkError(t, err, ErrNotFound, "'api'")
	_, err1 := ring.CurrentVersion()
	_, err2 := ring.Hmac([]byte("m"))
	_, err3 := ring.HmacTagged([]byte("m"))
	for _, err := range []error{err1, err2, err3, ring.HmacVerify([]byte("m"), make([]byte, 32)), ring.HmacVerifyTagged([]byte("m"), tag)} {
		// The library's message says the keyring's key was deleted (it does not repeat the id).
		checkError(t, err, ErrNotFound, "deleted")
	}
	must(t, km.Store("api", []byte("api key again")))
	if !refreshed(t, ring) || version(t, ring) != 1 {
		t.Error("the key stored again was not loaded")
	}
	if mac, _ := ring.Hmac([]byte("m")); !bytes.Equal(mac, goHmac(SHA256, "api key again", "m")) {
		t.Errorf("Hmac: %x", mac)
	}
}

func TestKeyringLoadErrors(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("api", []byte("key")))
	_, err := km.Load("absent", SHA256, 0)
	checkError(t, err, ErrNotFound, "absent")
	_, err = km.Load("a/b", SHA256, 0)
	checkError(t, err, ErrInvalidKeyID, "a/b")
	_, err = km.Load("api", 99, 0)
	checkError(t, err, ErrUnsupportedAlgorithm, "99")
	_, err = km.Load("api", SHA256, -time.Second)
	checkError(t, err, ErrInvalidArgument, "refresh interval")
}

func TestKeyringOutlivesItsKeyManager(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("api", []byte("api key one")))
	dir, _ := km.Dir()
	other, err := Open(dir)
	must(t, err)
	ring, err := other.Load("api", SHA512, 10*time.Millisecond)
	must(t, err)
	defer ring.Close()
	other.Close()
	if mac, err := ring.Hmac([]byte("m")); err != nil || !bytes.Equal(mac, goHmac(SHA512, "api key one", "m")) {
		t.Errorf("Hmac after Close of its manager: %x, %v", mac, err)
	}
	_, err = km.Rotate("api", []byte("api key two"))
	must(t, err)
	if !refreshed(t, ring) || version(t, ring) != 2 {
		t.Error("no reload after its manager was closed")
	}
}

func TestClosedKeyring(t *testing.T) {
	_, ring := loadTemp(t, SHA256, 0)
	must(t, ring.Close())
	must(t, ring.Close())
	_, err1 := ring.Refresh()
	_, err2 := ring.CurrentVersion()
	_, err3 := ring.Hmac([]byte("m"))
	for _, err := range []error{err1, err2, err3, ring.HmacVerifyTagged([]byte("m"), []byte("t"))} {
		e := checkError(t, err, ErrNullPointer, "keyring is closed")
		if e.Errno != 0 {
			t.Errorf("Errno %v", e.Errno)
		}
	}
	var none *Keyring
	_, err := none.Hmac(nil)
	checkError(t, err, ErrNullPointer, "keyring is nil")
	must(t, none.Close())
}

// Goroutines MAC and verify with one keyring while another rotates the key
// and refreshes it: every result is checked against Go's own HMAC.
func TestKeyringSharedByGoroutinesWhileItReloads(t *testing.T) {
	km, ring := loadTemp(t, SHA384, time.Millisecond)
	keys := map[uint32]string{1: "api key one"}
	for v := uint32(2); v <= 11; v++ {
		keys[v] = fmt.Sprintf("api key %d", v)
	}
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	for n := 0; n < 8; n++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				data := fmt.Sprintf("%d:%d", n, i)
				tag, err := ring.HmacTagged([]byte(data))
				if err != nil {
					failures <- err.Error()
					return
				}
				v := binary.BigEndian.Uint32(tag[1:5])
				if !bytes.Equal(tag[5:], goHmac(SHA384, keys[v], data)) {
					failures <- fmt.Sprintf("goroutine %d: wrong tag for version %d", n, v)
				}
				if err := ring.HmacVerifyTagged([]byte(data), tag); err != nil {
					failures <- err.Error()
				}
				mac, err := ring.Hmac([]byte(data))
				known := false
				for _, key := range keys {
					known = known || bytes.Equal(mac, goHmac(SHA384, key, data))
				}
				if err != nil || !known {
					failures <- fmt.Sprintf("goroutine %d: MAC under no known version (%v)", n, err)
				}
			}
		}(n)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := uint32(2); v <= 11; v++ {
			if _, err := km.Rotate("api", []byte(keys[v])); err != nil {
				failures <- err.Error()
			}
			if _, err := ring.Refresh(); err != nil {
				failures <- err.Error()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if tag, err := ring.HmacTagged([]byte("end")); err != nil || !bytes.HasPrefix(tag, []byte{1, 0, 0, 0, 11}) {
		t.Errorf("the last rotation is not served: %x, %v", tag, err)
	}
}
