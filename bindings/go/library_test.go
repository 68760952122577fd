package keys

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	v := Version()
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		t.Fatalf("Version() = %q", v)
	}
	if major, _ := strconv.Atoi(parts[0]); major != HeaderVersionMajor {
		t.Errorf("library %s, header major %d", v, HeaderVersionMajor)
	}
}

func TestConstants(t *testing.T) {
	if MaxDigestLen != 64 || MaxKeyLen != 65536 || MaxKeyIDLen != 128 || TagOverhead != 5 {
		t.Errorf("constants %d %d %d %d", MaxDigestLen, MaxKeyLen, MaxKeyIDLen, TagOverhead)
	}
}

func TestAlgorithms(t *testing.T) {
	for name, want := range map[string]Alg{
		"sha256": SHA256, "SHA-256": SHA256, "Sha_256": SHA256,
		"sha384": SHA384, "SHA-384": SHA384,
		"sha512": SHA512, "SHA512": SHA512,
	} {
		got, err := ParseAlg(name)
		if err != nil || got != want {
			t.Errorf("ParseAlg(%q) = %v, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "md5", "sha1", "sha-1", "sha256 ", "sha\x00256"} {
		_, err := ParseAlg(bad)
		if !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("ParseAlg(%q): %v", bad, err)
		}
	}
	for alg, n := range map[Alg]int{SHA256: 32, SHA384: 48, SHA512: 64, 0: 0, 4: 0, 99: 0} {
		if alg.DigestLen() != n {
			t.Errorf("%v.DigestLen() = %d", alg, alg.DigestLen())
		}
	}
	if SHA384.String() != "sha384" || Alg(99).String() != "Alg(99)" {
		t.Error("Alg.String")
	}
}

func TestStatusNames(t *testing.T) {
	if StatusNotFound.String() != "CODOMYRMEX_ERR_NOT_FOUND" || StatusOK.String() != "CODOMYRMEX_OK" {
		t.Error(StatusNotFound.String())
	}
	if Status(13).String() != "CODOMYRMEX_UNKNOWN_STATUS" || Status(1<<31).String() != "CODOMYRMEX_UNKNOWN_STATUS" {
		t.Error(Status(13).String())
	}
	if StatusInternal != 12 || StatusNullPointer != 1 {
		t.Error("status numbers")
	}
}

func TestRandomAndZero(t *testing.T) {
	a, err := RandomBytes(32)
	if err != nil || len(a) != 32 {
		t.Fatal(err)
	}
	b, _ := RandomBytes(32)
	if bytes.Equal(a, b) {
		t.Error("two random draws are equal")
	}
	if z, err := RandomBytes(0); err != nil || len(z) != 0 {
		t.Error("RandomBytes(0)", err)
	}
	if _, err := RandomBytes(-1); !errors.Is(err, ErrInvalidArgument) {
		t.Error("RandomBytes(-1)", err)
	}
	SecureZero(a)
	if !bytes.Equal(a, make([]byte, 32)) {
		t.Error("SecureZero left data")
	}
	SecureZero(nil)
}
