// Package cross implements the cross-language check shared by every
// binding of codomyrmex_keys: each language writes a key and two MACs into
// one key directory, then each language verifies what all of them wrote.
//
// write: store the key id cross-<lang> with the bytes of
// "cross-language key from <lang>" (replacing any existing one), write the
// lowercase hex of its HMAC-SHA256 of "cross-language message" plus "\n"
// to <dir>/cross-<lang>.mac, the hex of its tagged MAC to
// <dir>/cross-<lang>.tag and the hex of the tagged MAC made by a keyring of
// the key (SHA-256) to <dir>/cross-<lang>.ktag.
//
// verify: for every <dir>/cross-*.mac, check the MAC with the key manager
// (HMAC verify), the .tag and .ktag (tagged verify), the key read back
// with Get (one-shot HMAC verify), and the MAC, .tag and .ktag with a
// keyring of the key (SHA-256).
package cross

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	keys "github.com/codomyrmex/codomyrmex-keys/bindings/go"
)

// Message is the data every language MACs.
const Message = "cross-language message"

// KeyFor is the key the language lang stores.
func KeyFor(lang string) []byte {
	return []byte("cross-language key from " + lang)
}

// Write performs the write step for lang in dir.
func Write(dir, lang string) error {
	km, err := keys.Open(dir)
	if err != nil {
		return err
	}
	defer km.Close()
	id := "cross-" + lang
	if err := km.Store(id, KeyFor(lang)); err != nil {
		return err
	}
	mac, err := km.Hmac(id, keys.SHA256, []byte(Message))
	if err != nil {
		return err
	}
	tag, err := km.HmacTagged(id, keys.SHA256, []byte(Message))
	if err != nil {
		return err
	}
	ring, err := km.Load(id, keys.SHA256, 0)
	if err != nil {
		return err
	}
	defer ring.Close()
	ringTag, err := ring.HmacTagged([]byte(Message))
	if err != nil {
		return err
	}
	for suffix, b := range map[string][]byte{".mac": mac, ".tag": tag, ".ktag": ringTag} {
		if err := writeHex(filepath.Join(dir, id+suffix), b); err != nil {
			return err
		}
	}
	return nil
}

// writeHex replaces path with hex(b)+"\n" atomically, so a concurrent
// reader never sees half a line.
func writeHex(path string, b []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readHex(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.TrimSpace(string(data)))
}

// Verify checks every language's files in dir, printing one line per
// language to out. It returns the number of languages checked and an error
// if any check failed or none was found.
func Verify(dir string, out io.Writer) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "cross-*.mac"))
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return 0, fmt.Errorf("no cross-*.mac file in %s", dir)
	}
	km, err := keys.Open(dir)
	if err != nil {
		return 0, err
	}
	defer km.Close()
	failed := 0
	for _, file := range files {
		lang := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "cross-"), ".mac")
		if err := verifyOne(km, dir, lang); err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", lang, err)
		} else {
			fmt.Fprintf(out, "ok   %s: key manager HMAC, tagged MACs, one-shot HMAC and keyring verified (checked by go)\n", lang)
		}
	}
	if failed > 0 {
		return len(files), fmt.Errorf("%d of %d languages failed", failed, len(files))
	}
	return len(files), nil
}

func verifyOne(km *keys.KeyManager, dir, lang string) error {
	id := "cross-" + lang
	msg := []byte(Message)
	mac, err := readHex(filepath.Join(dir, id+".mac"))
	if err != nil {
		return fmt.Errorf("reading %s.mac: %v", id, err)
	}
	tag, err := readHex(filepath.Join(dir, id+".tag"))
	if err != nil {
		return fmt.Errorf("reading %s.tag: %v", id, err)
	}
	ringTag, err := readHex(filepath.Join(dir, id+".ktag"))
	if err != nil {
		return fmt.Errorf("reading %s.ktag: %v", id, err)
	}
	if err := km.HmacVerify(id, keys.SHA256, msg, mac); err != nil {
		return fmt.Errorf("key manager HMAC: %v", err)
	}
	if err := km.HmacVerifyTagged(id, keys.SHA256, msg, tag); err != nil {
		return fmt.Errorf("tagged MAC: %v", err)
	}
	if err := km.HmacVerifyTagged(id, keys.SHA256, msg, ringTag); err != nil {
		return fmt.Errorf("keyring tagged MAC: %v", err)
	}
	if err := verifyWithKeyring(km, id, mac, tag, ringTag); err != nil {
		return fmt.Errorf("keyring: %v", err)
	}
	key, err := km.Get(id)
	if err != nil {
		return fmt.Errorf("get: %v", err)
	}
	defer keys.SecureZero(key)
	if !bytes.Equal(key, KeyFor(lang)) {
		return fmt.Errorf("stored key is not %q", KeyFor(lang))
	}
	if err := keys.HmacVerify(keys.SHA256, key, msg, mac); err != nil {
		return fmt.Errorf("one-shot HMAC: %v", err)
	}
	return nil
}

// verifyWithKeyring checks mac and the tags with a keyring of id.
func verifyWithKeyring(km *keys.KeyManager, id string, mac []byte, tags ...[]byte) error {
	ring, err := km.Load(id, keys.SHA256, 0)
	if err != nil {
		return err
	}
	defer ring.Close()
	if err := ring.HmacVerify([]byte(Message), mac); err != nil {
		return err
	}
	for _, tag := range tags {
		if err := ring.HmacVerifyTagged([]byte(Message), tag); err != nil {
			return err
		}
	}
	return nil
}
