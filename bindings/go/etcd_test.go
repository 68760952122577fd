package keys

import (
	"bytes"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The etcd options (Timeout, TLS, Auth): their argument rules everywhere;
// an etcd source on the real cluster that bindings/test.sh starts (TLS with
// a client certificate, authentication), named by the
// CODOMYRMEX_TEST_ETCD_* variables; without them those tests are skipped.

func TestEtcdOptionValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	_, err := OpenWith(dir, Timeout(0))
	e := checkError(t, err, ErrInvalidArgument, "timeout")
	if e.Op != "open_options_set_timeout_ms" {
		t.Errorf("Op %q", e.Op)
	}
	_, err = OpenWith(dir, Timeout(-time.Millisecond))
	checkError(t, err, ErrInvalidArgument, "timeout")
	_, err = OpenWith(dir, TLS("", "client.crt", ""))
	e = checkError(t, err, ErrInvalidArgument, "cert_file, key_file")
	if e.Op != "open_options_set_tls" {
		t.Errorf("Op %q", e.Op)
	}
	_, err = OpenWith(dir, TLS("ca.crt", "", "client.key"))
	checkError(t, err, ErrInvalidArgument, "cert_file, key_file")
	_, err = OpenWith(dir, Auth("", "password"))
	e = checkError(t, err, ErrInvalidArgument, "user")
	if e.Op != "open_options_set_auth" {
		t.Errorf("Op %q", e.Op)
	}
	_, err = OpenWith(dir, TLS("a\x00b", "", ""))
	checkError(t, err, ErrInvalidArgument, "TLS CA file path")
	_, err = OpenWith(dir, TLS("", "c", "k\x00"))
	checkError(t, err, ErrInvalidArgument, "TLS key file path")
	_, err = OpenWith(dir, Auth("u\x00", "p"))
	checkError(t, err, ErrInvalidArgument, "etcd user")
	_, err = OpenWith(dir, Auth("u", "p\x00"))
	checkError(t, err, ErrInvalidArgument, "password file path")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused open created %s", dir)
	}
	// A private directory ignores the etcd options.
	km, err := OpenWith(dir, Timeout(time.Millisecond), TLS("", "", ""), Auth("someone", "no-such-file"))
	must(t, err)
	defer km.Close()
	must(t, km.Store("k", []byte("key")))
}

// etcdCluster is the cluster of the CODOMYRMEX_TEST_ETCD_* variables.
type etcdCluster struct {
	endpoints, caFile, certFile, keyFile, user, passwordFile string
}

func testCluster(t *testing.T) etcdCluster {
	t.Helper()
	c := etcdCluster{endpoints: os.Getenv("CODOMYRMEX_TEST_ETCD_ENDPOINTS")}
	if c.endpoints == "" {
		t.Skip("no etcd cluster: CODOMYRMEX_TEST_ETCD_ENDPOINTS is not set (bindings/test.sh starts one and sets it)")
	}
	for name, value := range map[string]*string{
		"CODOMYRMEX_TEST_ETCD_CA_FILE":       &c.caFile,
		"CODOMYRMEX_TEST_ETCD_CERT_FILE":     &c.certFile,
		"CODOMYRMEX_TEST_ETCD_KEY_FILE":      &c.keyFile,
		"CODOMYRMEX_TEST_ETCD_USER":          &c.user,
		"CODOMYRMEX_TEST_ETCD_PASSWORD_FILE": &c.passwordFile,
	} {
		if *value = os.Getenv(name); *value == "" {
			t.Fatalf("CODOMYRMEX_TEST_ETCD_ENDPOINTS is set but %s is not", name)
		}
	}
	return c
}

// location is etcd://<endpoints>/<a prefix no other test uses>.
func (c etcdCluster) location(t *testing.T) string {
	t.Helper()
	b, err := RandomBytes(8)
	must(t, err)
	return "etcd://" + c.endpoints + "/bindings-go-" + hex.EncodeToString(b)
}

func (c etcdCluster) tls() Option  { return TLS(c.caFile, c.certFile, c.keyFile) }
func (c etcdCluster) auth() Option { return Auth(c.user, c.passwordFile) }

func TestEtcdSourceWithTLSAndAuth(t *testing.T) {
	c := testCluster(t)
	location := c.location(t)
	km, err := OpenWith(location, Timeout(5*time.Second), c.tls(), c.auth())
	must(t, err)
	defer km.Close()
	if dir, err := km.Dir(); err != nil || dir != location {
		t.Errorf("Dir() = %q, %v; want %q", dir, err, location)
	}
	must(t, km.Generate("api", 32))
	first, err := km.Get("api")
	must(t, err)
	must(t, km.Store("db", []byte("database key")))
	old, err := km.Rotate("api", []byte("rotated over tls"))
	must(t, err)
	if !bytes.Equal(old, first) || len(old) != 32 {
		t.Errorf("Rotate returned %x, want the generated key %x", old, first)
	}
	if v, err := km.CurrentVersion("api"); err != nil || v != 2 {
		t.Errorf("CurrentVersion = %d, %v", v, err)
	}
	msg := []byte("a message MACed on etcd")
	mac, err := km.Hmac("api", SHA384, msg)
	must(t, err)
	if want, _ := Hmac(SHA384, []byte("rotated over tls"), msg); !bytes.Equal(mac, want) {
		t.Errorf("Hmac = %x, want %x", mac, want)
	}
	must(t, km.HmacVerify("api", SHA384, msg, mac))
	checkError(t, km.HmacVerify("api", SHA384, []byte("another message"), mac), ErrVerifyFailed, "")
	tag, err := km.HmacTagged("api", SHA256, msg)
	must(t, err)
	must(t, km.HmacVerifyTagged("api", SHA256, msg, tag))
	if ids, err := km.List(); err != nil || !reflect.DeepEqual(ids, []string{"api", "db"}) {
		t.Errorf("List = %q, %v", ids, err)
	}
	must(t, km.Delete("db"))
	if ids, err := km.List(); err != nil || !reflect.DeepEqual(ids, []string{"api"}) {
		t.Errorf("List after Delete = %q, %v", ids, err)
	}
	if ok, err := km.Exists("db"); err != nil || ok {
		t.Errorf("Exists(db) after Delete = %v, %v", ok, err)
	}
	_, err = km.Get("db")
	checkError(t, err, ErrNotFound, "db")

	// Another manager (another host) sees the same keys.
	other, err := OpenWith(location, c.tls(), c.auth())
	must(t, err)
	defer other.Close()
	if key, err := other.Get("api"); err != nil || string(key) != "rotated over tls" {
		t.Errorf("Get from a second manager: %q, %v", key, err)
	}
}

func TestEtcdWithoutAuthIsRefused(t *testing.T) {
	c := testCluster(t)
	km, err := OpenWith(c.location(t), Timeout(5*time.Second), c.tls())
	must(t, err) // opening sends nothing
	defer km.Close()
	_, err = km.List()
	checkError(t, err, ErrInvalidArgument, "authentication")
}

func TestEtcdTimeoutOnAMemberThatNeverAnswers(t *testing.T) {
	// A listening socket nobody accepts from: the kernel completes the
	// connection, and no answer ever comes.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer silent.Close()
	endpoint := silent.Addr().String()
	const timeout = 600 * time.Millisecond
	km, err := OpenWith("etcd://"+endpoint+"/bindings-go", Timeout(timeout))
	must(t, err)
	defer km.Close()
	started := time.Now()
	_, err = km.List()
	took := time.Since(started)
	e := checkError(t, err, ErrIO, endpoint)
	if !strings.Contains(e.Message, "600 ms") {
		t.Errorf("message %q does not give the timeout", e.Message)
	}
	if took < timeout/2 || took > timeout+2*time.Second {
		t.Errorf("List failed after %v with a timeout of %v", took, timeout)
	}
}
