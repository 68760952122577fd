package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"math/rand"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func seq(from, to byte) []byte {
	var b []byte
	for c := int(from); c <= int(to); c++ {
		b = append(b, byte(c))
	}
	return b
}

var allAlgs = []Alg{SHA256, SHA384, SHA512}

// RFC 4231 (HMAC-SHA-224/256/384/512 test vectors); the SHA-224 column is
// not supported by the library and left out.
var rfc4231 = []struct {
	number    int
	key, data []byte
	want      [3]string // SHA-256, SHA-384, SHA-512
	truncated bool      // case 5: only the leftmost 128 bits are given
}{
	{1, repeat(0x0b, 20), []byte("Hi There"), [3]string{
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
		"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
	}, false},
	{2, []byte("Jefe"), []byte("what do ya want for nothing?"), [3]string{
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	}, false},
	{3, repeat(0xaa, 20), repeat(0xdd, 50), [3]string{
		"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
		"88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
		"fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
	}, false},
	{4, seq(0x01, 0x19), repeat(0xcd, 50), [3]string{
		"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
		"3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
		"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
	}, false},
	{5, repeat(0x0c, 20), []byte("Test With Truncation"), [3]string{
		"a3b6167473100ee06e0c796c2955552b",
		"3abf34c3503b2a23a46efc619baef897",
		"415fad6271580a531d4179bc891d87a6",
	}, true},
	{6, repeat(0xaa, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"), [3]string{
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		"4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
		"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
	}, false},
	{7, repeat(0xaa, 131), []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."), [3]string{
		"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
		"6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
		"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
	}, false},
}

func TestRFC4231(t *testing.T) {
	for _, tc := range rfc4231 {
		for i, alg := range allAlgs {
			want := unhex(t, tc.want[i])
			mac, err := Hmac(alg, tc.key, tc.data)
			if err != nil {
				t.Fatalf("case %d %v: %v", tc.number, alg, err)
			}
			if len(mac) != alg.DigestLen() {
				t.Fatalf("case %d %v: MAC is %d bytes", tc.number, alg, len(mac))
			}
			if tc.truncated {
				if !bytes.Equal(mac[:16], want) {
					t.Errorf("case %d %v: got %x, want prefix %x", tc.number, alg, mac, want)
				}
				if err := HmacVerify(alg, tc.key, tc.data, want); !errors.Is(err, ErrVerifyFailed) {
					t.Errorf("case %d %v: a truncated MAC must not verify, got %v", tc.number, alg, err)
				}
			} else {
				if !bytes.Equal(mac, want) {
					t.Errorf("case %d %v: got %x, want %x", tc.number, alg, mac, want)
				}
				if err := HmacVerify(alg, tc.key, tc.data, want); err != nil {
					t.Errorf("case %d %v: verify: %v", tc.number, alg, err)
				}
			}
			// The stream agrees, whatever the chunking, and verifies.
			for _, chunk := range []int{1, 7, 64, 1000} {
				h, err := NewHmac(alg, tc.key)
				if err != nil {
					t.Fatal(err)
				}
				for p := tc.data; len(p) > 0; {
					n := chunk
					if n > len(p) {
						n = len(p)
					}
					if _, err := h.Write(p[:n]); err != nil {
						t.Fatal(err)
					}
					p = p[n:]
				}
				got, err := h.Finish()
				if err != nil || !bytes.Equal(got, mac) {
					t.Errorf("case %d %v chunk %d: stream %x, %v", tc.number, alg, chunk, got, err)
				}
				h.Write(tc.data)
				if err := h.FinishVerify(mac); err != nil {
					t.Errorf("case %d %v: stream verify: %v", tc.number, alg, err)
				}
				h.Close()
			}
		}
	}
}

// RFC 5869 cases 1-3 (HKDF-SHA-256; the others use SHA-1).
var rfc5869 = []struct {
	number          int
	ikm, salt, info []byte
	prk, okm        string
}{
	{1, repeat(0x0b, 22), seq(0x00, 0x0c), seq(0xf0, 0xf9),
		"077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
		"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
	{2, seq(0x00, 0x4f), seq(0x60, 0xaf), seq(0xb0, 0xff),
		"06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
		"b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
	{3, repeat(0x0b, 22), nil, nil,
		"19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
		"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
}

func TestRFC5869(t *testing.T) {
	for _, tc := range rfc5869 {
		prk, okm := unhex(t, tc.prk), unhex(t, tc.okm)
		gotPRK, err := HkdfExtract(SHA256, tc.salt, tc.ikm)
		if err != nil || !bytes.Equal(gotPRK, prk) {
			t.Errorf("case %d extract: %x, %v", tc.number, gotPRK, err)
		}
		got, err := HkdfExpand(SHA256, prk, tc.info, len(okm))
		if err != nil || !bytes.Equal(got, okm) {
			t.Errorf("case %d expand: %x, %v", tc.number, got, err)
		}
		got, err = Hkdf(SHA256, tc.ikm, tc.salt, tc.info, len(okm))
		if err != nil || !bytes.Equal(got, okm) {
			t.Errorf("case %d derive: %x, %v", tc.number, got, err)
		}
		short, err := Hkdf(SHA256, tc.ikm, tc.salt, tc.info, 5)
		if err != nil || !bytes.Equal(short, okm[:5]) {
			t.Errorf("case %d: a shorter output must be a prefix: %x, %v", tc.number, short, err)
		}
	}
	// No salt is the same as HashLen zero bytes.
	tc := rfc5869[2]
	a, _ := Hkdf(SHA256, tc.ikm, nil, nil, 42)
	b, _ := Hkdf(SHA256, tc.ikm, make([]byte, 32), nil, 42)
	if !bytes.Equal(a, b) {
		t.Error("no salt differs from 32 zero bytes")
	}
}

func stdHash(alg Alg) func() hash.Hash {
	switch alg {
	case SHA256:
		return sha256.New
	case SHA384:
		return sha512.New384
	}
	return sha512.New
}

func stdHmac(alg Alg, key, data []byte) []byte {
	m := hmac.New(stdHash(alg), key)
	m.Write(data)
	return m.Sum(nil)
}

// stdHkdf is RFC 5869 written out over crypto/hmac, as an independent
// reference for SHA-384 and SHA-512.
func stdHkdf(alg Alg, ikm, salt, info []byte, n int) []byte {
	if len(salt) == 0 {
		salt = make([]byte, alg.DigestLen())
	}
	prk := stdHmac(alg, salt, ikm)
	var okm, prev []byte
	for i := byte(1); len(okm) < n; i++ {
		prev = stdHmac(alg, prk, append(append(append([]byte{}, prev...), info...), i))
		okm = append(okm, prev...)
	}
	return okm[:n]
}

// Random inputs against the Go standard library, through every entry
// point.
func TestDifferentialAgainstStdlib(t *testing.T) {
	rng := rand.New(rand.NewSource(4231))
	random := func(max int) []byte {
		b := make([]byte, rng.Intn(max+1))
		rng.Read(b)
		return b
	}
	for i := 0; i < 200; i++ {
		alg := allAlgs[i%3]
		key, data := random(300), random(2000)
		want := stdHmac(alg, key, data)
		got, err := Hmac(alg, key, data)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("HMAC %v key %d data %d bytes: %x, %v", alg, len(key), len(data), got, err)
		}
		if err := HmacVerify(alg, key, data, want); err != nil {
			t.Fatal(err)
		}
		ikm, salt, info := random(100), random(100), random(100)
		n := 1 + rng.Intn(255*alg.DigestLen())
		okm, err := Hkdf(alg, ikm, salt, info, n)
		if err != nil || !bytes.Equal(okm, stdHkdf(alg, ikm, salt, info, n)) {
			t.Fatalf("HKDF %v length %d: %v", alg, n, err)
		}
		prk, err := HkdfExtract(alg, salt, ikm)
		if err != nil || len(prk) != alg.DigestLen() {
			t.Fatalf("extract: %x, %v", prk, err)
		}
		okm2, err := HkdfExpand(alg, prk, info, n)
		if err != nil || !bytes.Equal(okm2, okm) {
			t.Fatalf("extract+expand differs from derive: %v", err)
		}
	}
}

func TestHkdfLimits(t *testing.T) {
	for _, alg := range allAlgs {
		max := 255 * alg.DigestLen()
		if okm, err := Hkdf(alg, []byte("ikm"), nil, nil, max); err != nil || len(okm) != max {
			t.Errorf("%v: the maximum length %d must work: %v", alg, max, err)
		}
		for _, n := range []int{0, max + 1, -1, 1 << 40} {
			if _, err := Hkdf(alg, []byte("ikm"), nil, nil, n); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%v length %d: %v", alg, n, err)
			}
			prk := make([]byte, alg.DigestLen())
			if _, err := HkdfExpand(alg, prk, nil, n); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%v expand length %d: %v", alg, n, err)
			}
		}
		// A PRK shorter than the digest is refused.
		short := make([]byte, alg.DigestLen()-1)
		if _, err := HkdfExpand(alg, short, nil, 16); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%v short PRK: %v", alg, err)
		}
	}
}

func TestHmacStream(t *testing.T) {
	key := []byte("stream key")
	h, err := NewHmac(SHA512, key)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Size() != 64 {
		t.Errorf("Size %d", h.Size())
	}
	// One stream, many messages.
	for _, msg := range []string{"", "one", "two", "a longer third message"} {
		h.Write([]byte(msg))
		got, err := h.Finish()
		want := stdHmac(SHA512, key, []byte(msg))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("message %q: %x, %v", msg, got, err)
		}
	}
	// Reset discards what was written.
	h.Write([]byte("garbage"))
	h.Reset()
	h.Write([]byte("one"))
	if got, _ := h.Finish(); !bytes.Equal(got, stdHmac(SHA512, key, []byte("one"))) {
		t.Error("Reset did not discard the input")
	}
	// A failed verification also resets.
	h.Write([]byte("one"))
	if err := h.FinishVerify(make([]byte, 64)); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("wrong MAC: %v", err)
	}
	h.Write([]byte("one"))
	if err := h.FinishVerify(stdHmac(SHA512, key, []byte("one"))[:32]); !errors.Is(err, ErrVerifyFailed) {
		t.Errorf("truncated MAC: %v", err)
	}
	h.Write([]byte("one"))
	if err := h.FinishVerify(stdHmac(SHA512, key, []byte("one"))); err != nil {
		t.Errorf("right MAC after failures: %v", err)
	}
	// Closed: idempotent, and every later use is an error, not a crash.
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write([]byte("x")); !errors.Is(err, ErrNullPointer) {
		t.Errorf("Write after Close: %v", err)
	}
	if _, err := h.Finish(); !errors.Is(err, ErrNullPointer) {
		t.Errorf("Finish after Close: %v", err)
	}
	if err := h.FinishVerify(nil); !errors.Is(err, ErrNullPointer) {
		t.Errorf("FinishVerify after Close: %v", err)
	}
	if _, err := NewHmac(Alg(99), key); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("NewHmac(99): %v", err)
	}
	// Any key length, 0 included.
	h2, err := NewHmac(SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if got, _ := h2.Finish(); !bytes.Equal(got, stdHmac(SHA256, nil, nil)) {
		t.Error("empty key, empty message")
	}
}
