package cross

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteThenVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	for _, lang := range []string{"go", "other"} {
		if err := Write(dir, lang); err != nil {
			t.Fatal(err)
		}
	}
	// Writing again replaces the key and the files, and still verifies.
	if err := Write(dir, "go"); err != nil {
		t.Fatal(err)
	}
	macHex, _ := os.ReadFile(filepath.Join(dir, "cross-go.mac"))
	m := hmac.New(sha256.New, KeyFor("go"))
	m.Write([]byte(Message))
	if string(macHex) != hex.EncodeToString(m.Sum(nil))+"\n" {
		t.Errorf("cross-go.mac = %q", macHex)
	}
	tagHex, _ := os.ReadFile(filepath.Join(dir, "cross-go.tag"))
	if !strings.HasPrefix(string(tagHex), "0100000002") || len(tagHex) != 2*(5+32)+1 {
		t.Errorf("cross-go.tag = %q", tagHex)
	}
	if ringTagHex, _ := os.ReadFile(filepath.Join(dir, "cross-go.ktag")); !bytes.Equal(ringTagHex, tagHex) {
		t.Errorf("cross-go.ktag = %q, the keyring's tag differs from the key manager's", ringTagHex)
	}
	var out bytes.Buffer
	n, err := Verify(dir, &out)
	if err != nil || n != 2 {
		t.Fatalf("Verify: %d, %v\n%s", n, err, out.String())
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 {
		t.Errorf("output %q", out.String())
	}
}

func TestVerifyFailures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	var out bytes.Buffer
	if _, err := Verify(dir, &out); err == nil {
		t.Error("an empty dir must fail")
	}
	if err := Write(dir, "go"); err != nil {
		t.Fatal(err)
	}
	// A tampered MAC fails, and so does a missing tag file.
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "cross-bad.mac"), []byte(strings.Repeat("00", 32)+"\n"), 0o600))
	out.Reset()
	if n, err := Verify(dir, &out); err == nil || n != 2 || !strings.Contains(out.String(), "FAIL bad") {
		t.Errorf("tampered: %d, %v\n%s", n, err, out.String())
	}
	must(os.Remove(filepath.Join(dir, "cross-bad.mac")))
	ktag := filepath.Join(dir, "cross-go.ktag")
	text, _ := os.ReadFile(ktag)
	if text[len(text)-2] == '0' { // another last hex digit
		text[len(text)-2] = '1'
	} else {
		text[len(text)-2] = '0'
	}
	must(os.WriteFile(ktag, text, 0o600))
	out.Reset()
	if _, err := Verify(dir, &out); err == nil || !strings.Contains(out.String(), "FAIL go: keyring tagged MAC") {
		t.Errorf("tampered .ktag: %v\n%s", err, out.String())
	}
	must(os.Remove(ktag))
	out.Reset()
	if _, err := Verify(dir, &out); err == nil || !strings.Contains(out.String(), "FAIL go: reading cross-go.ktag") {
		t.Errorf("missing .ktag: %v\n%s", err, out.String())
	}
	must(os.Remove(filepath.Join(dir, "cross-go.tag")))
	out.Reset()
	if _, err := Verify(dir, &out); err == nil || !strings.Contains(out.String(), "FAIL go") {
		t.Errorf("missing tag: %v\n%s", err, out.String())
	}
}
