package keys

import (
	"bytes"
	"reflect"
	"testing"
)

func TestStagedVersionVerifiesButSignsOnlyOncePromoted(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("k", []byte("current key")))
	staged, err := km.Stage("k", []byte("staged key"))
	if err != nil || staged != 2 {
		t.Fatalf("Stage: %d, %v", staged, err)
	}
	if v, _ := km.ListVersions("k"); !reflect.DeepEqual(v, []uint32{1, 2}) {
		t.Errorf("ListVersions: %v", v)
	}
	if v, _ := km.CurrentVersion("k"); v != 1 {
		t.Errorf("CurrentVersion: %d", v)
	}
	if key, _ := km.GetVersion("k", 2); string(key) != "staged key" {
		t.Errorf("GetVersion: %q", key)
	}
	if tag, _ := km.HmacTagged("k", SHA256, []byte("m")); !bytes.Equal(tag, tagged(1, "current key", "m")) {
		t.Errorf("HmacTagged before Promote: %x", tag)
	}
	must(t, km.HmacVerifyTagged("k", SHA256, []byte("m"), tagged(2, "staged key", "m")))

	must(t, km.Promote("k", staged))
	if key, _ := km.Get("k"); string(key) != "staged key" {
		t.Errorf("Get after Promote: %q", key)
	}
	if tag, _ := km.HmacTagged("k", SHA256, []byte("m")); !bytes.Equal(tag, tagged(2, "staged key", "m")) {
		t.Errorf("HmacTagged after Promote: %x", tag)
	}
	must(t, km.HmacVerifyTagged("k", SHA256, []byte("m"), tagged(1, "current key", "m")))
}

func TestStageGenerate(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Generate("k", 32))
	if v, err := km.StageGenerate("k", 48); err != nil || v != 2 {
		t.Fatalf("StageGenerate: %d, %v", v, err)
	}
	if key, _ := km.GetVersion("k", 2); len(key) != 48 {
		t.Errorf("staged key of %d bytes", len(key))
	}
	must(t, km.Promote("k", 2))
	if v, _ := km.CurrentVersion("k"); v != 2 {
		t.Errorf("CurrentVersion: %d", v)
	}
}

func TestStagingErrors(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("k", []byte("key")))
	_, err := km.Stage("absent", []byte("x"))
	checkError(t, err, ErrNotFound, "absent")
	_, err = km.StageGenerate("absent", 32)
	checkError(t, err, ErrNotFound, "absent")
	checkError(t, km.Promote("k", 1), ErrNotFound, "'k'")
	checkError(t, km.Promote("k", 7), ErrNotFound, "'k'")
	checkError(t, km.Promote("absent", 2), ErrNotFound, "absent")
	_, err = km.Stage("k", nil)
	checkError(t, err, ErrInvalidArgument, "key_len")
	_, err = km.StageGenerate("k", 0)
	checkError(t, err, ErrInvalidArgument, "key_len")
	_, err = km.StageGenerate("k", -1)
	checkError(t, err, ErrInvalidArgument, "negative")
	_, err = km.Stage("../k", []byte("x"))
	checkError(t, err, ErrInvalidKeyID, "../k")
	if v, _ := km.ListVersions("k"); !reflect.DeepEqual(v, []uint32{1}) {
		t.Errorf("ListVersions: %v", v)
	}
}
