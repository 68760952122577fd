package keys

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const alphaKey = "alpha key one, plain"

type sealingFixture struct {
	root, dir, kekFile string
	kek                []byte
}

func newSealing(t *testing.T) sealingFixture {
	root := t.TempDir()
	f := sealingFixture{root: root, dir: filepath.Join(root, "keys"), kekFile: filepath.Join(root, "kek")}
	f.kek = makeKEK(t, f.kekFile)
	return f
}

func (f sealingFixture) open(t *testing.T, opts ...Option) *KeyManager {
	t.Helper()
	km, err := OpenWith(f.dir, append([]Option{KEKFile(f.kekFile)}, opts...)...)
	must(t, err)
	t.Cleanup(func() { km.Close() })
	return km
}

func (f sealingFixture) plain(t *testing.T) *KeyManager {
	t.Helper()
	km, err := Open(f.dir)
	must(t, err)
	t.Cleanup(func() { km.Close() })
	return km
}

func TestSealedFilesAreReadBack(t *testing.T) {
	f := newSealing(t)
	km := f.open(t)
	must(t, km.Store("alpha", []byte(alphaKey)))
	_, err := km.Rotate("alpha", []byte("alpha key two, sealed"))
	must(t, err)
	if key, err := km.Get("alpha"); err != nil || string(key) != "alpha key two, sealed" {
		t.Errorf("Get: %q, %v", key, err)
	}
	if key, err := km.GetVersion("alpha", 1); err != nil || string(key) != alphaKey {
		t.Errorf("GetVersion: %q, %v", key, err)
	}
	for _, secret := range []string{alphaKey, "alpha key two, sealed"} {
		if files := filesContaining(t, f.dir, secret); len(files) != 0 {
			t.Errorf("%v hold %q in plain", files, secret)
		}
	}
	file, err := os.ReadFile(filepath.Join(f.dir, "alpha.key"))
	must(t, err)
	if !bytes.HasPrefix(file, []byte("\x89CDXSEAL")) || hex.EncodeToString(file[10:18]) != kekID(f.kek) {
		t.Errorf("not sealed under the KEK: %x", file[:18])
	}
	if key, err := f.open(t, RequireSealed(true)).Get("alpha"); err != nil || string(key) != "alpha key two, sealed" {
		t.Errorf("RequireSealed: %q, %v", key, err)
	}
}

func TestWrongOrMissingKEKIsCorrupt(t *testing.T) {
	f := newSealing(t)
	must(t, f.open(t).Store("alpha", []byte(alphaKey)))
	other := makeKEK(t, filepath.Join(f.root, "other-kek"))
	wrong, err := OpenWith(f.dir, KEKFile(filepath.Join(f.root, "other-kek")))
	must(t, err)
	defer wrong.Close()
	_, err = wrong.Get("alpha")
	e := checkError(t, err, ErrCorrupt, kekID(f.kek))
	if !strings.Contains(e.Message, kekID(other)) || !strings.Contains(e.Message, "alpha") {
		t.Errorf("message %q", e.Message)
	}
	_, err = f.plain(t).Get("alpha")
	checkError(t, err, ErrCorrupt, "no KEK was given")
}

func TestRequireSealedRefusesAPlainKey(t *testing.T) {
	f := newSealing(t)
	must(t, f.plain(t).Store("alpha", []byte(alphaKey)))
	_, err := f.open(t, RequireSealed(true)).Get("alpha")
	checkError(t, err, ErrCorrupt, "alpha")
	if key, err := f.open(t).Get("alpha"); err != nil || string(key) != alphaKey {
		t.Errorf("without RequireSealed: %q, %v", key, err)
	}
}

func TestSealAllCountsThenIsIdempotent(t *testing.T) {
	f := newSealing(t)
	p := f.plain(t)
	must(t, p.Store("alpha", []byte(alphaKey)))
	_, err := p.Rotate("alpha", []byte("alpha key two, plain"))
	must(t, err)
	must(t, p.Store("beta", []byte("beta key, plain on disk")))
	_, err = p.Stage("beta", []byte("beta staged, plain"))
	must(t, err)
	p.Close()
	files := tree(t, f.dir)
	delete(files, ".lock")
	if len(files) != 5 { // 2 key files, 2 version records, 1 staged record
		t.Fatalf("%d files", len(files))
	}
	km := f.open(t)
	if n, err := km.SealAll(); err != nil || n != 5 {
		t.Errorf("SealAll: %d, %v", n, err)
	}
	for _, secret := range []string{alphaKey, "alpha key two, plain", "beta key, plain on disk", "beta staged, plain"} {
		if files := filesContaining(t, f.dir, secret); len(files) != 0 {
			t.Errorf("%v still hold %q", files, secret)
		}
	}
	if n, err := km.SealAll(); err != nil || n != 0 {
		t.Errorf("second SealAll: %d, %v", n, err)
	}
	strict := f.open(t, RequireSealed(true))
	if key, err := strict.GetVersion("beta", 2); err != nil || string(key) != "beta staged, plain" {
		t.Errorf("staged record: %q, %v", key, err)
	}
	if key, err := strict.GetVersion("alpha", 1); err != nil || string(key) != alphaKey {
		t.Errorf("version record: %q, %v", key, err)
	}
}

func TestSealAllNeedsAKEKAndTheKEKFileIsChecked(t *testing.T) {
	f := newSealing(t)
	p := f.plain(t)
	must(t, p.Store("alpha", []byte(alphaKey)))
	_, err := p.SealAll()
	checkError(t, err, ErrInvalidArgument, "without a KEK")
	must(t, os.Chmod(f.kekFile, 0o644))
	_, err = OpenWith(f.dir, KEKFile(f.kekFile))
	checkError(t, err, ErrInsecurePermissions, f.kekFile)
	writePrivate(t, filepath.Join(f.root, "short-kek"), []byte("too short"))
	_, err = OpenWith(f.dir, KEKFile(filepath.Join(f.root, "short-kek")))
	checkError(t, err, ErrInvalidArgument, "short-kek")
}
