package keys

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Drift: the package against abi/codomyrmex_keys.abi, the one description
// of the C interface. cgo checks every call's types against the header at
// compile time, and include/ is checked to be the repository's header;
// these tests check that every function of the .abi file is called (and no
// other), and that the constants and statuses are the .abi file's.

const abiFile = "../../abi/codomyrmex_keys.abi"

type abiDescription struct {
	major     int
	typedefs  map[string]bool
	functions map[string]bool
	defines   map[string]int
	statuses  map[string]int
}

func readABI(t *testing.T) abiDescription {
	t.Helper()
	f, err := os.Open(abiFile)
	if os.IsNotExist(err) {
		t.Skip("abi/codomyrmex_keys.abi is not beside this copy of the module")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	abi := abiDescription{major: -1, typedefs: map[string]bool{}, functions: map[string]bool{}, defines: map[string]int{}, statuses: map[string]int{}}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "major ") {
			abi.major, _ = strconv.Atoi(strings.Fields(line)[1])
			continue
		}
		key, value, _ := strings.Cut(line, " = ")
		kind, name, _ := strings.Cut(key, " ")
		switch kind {
		case "function":
			abi.functions[name] = true
		case "typedef":
			abi.typedefs[name] = true
		case "define":
			abi.defines[name], _ = strconv.Atoi(value)
		case "enum":
			abi.statuses[name], _ = strconv.Atoi(value)
		}
	}
	return abi
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestABIMajorVersion(t *testing.T) {
	if abi := readABI(t); abi.major != HeaderVersionMajor {
		t.Errorf(".abi file major %d, header %d", abi.major, HeaderVersionMajor)
	}
}

func TestABIFunctionsAreAllCalled(t *testing.T) {
	abi := readABI(t)
	called := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\bC\.(codomyrmex_\w+)\(`)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllSubmatch(src, -1) {
			if name := string(m[1]); !abi.typedefs[name] { // C.codomyrmex_hash_alg(a) is a conversion
				called[name] = true
			}
		}
	}
	for _, name := range sortedKeys(abi.functions) {
		if !called[name] {
			t.Errorf("%s is in the .abi file but no Go function calls it", name)
		}
	}
	for _, name := range sortedKeys(called) {
		if !abi.functions[name] {
			t.Errorf("%s is called but not in the .abi file", name)
		}
	}
}

func TestABIConstantsAndStatuses(t *testing.T) {
	abi := readABI(t)
	constants := map[string]int{
		"CODOMYRMEX_MAX_DIGEST_LEN": MaxDigestLen, "CODOMYRMEX_MAX_KEY_LEN": MaxKeyLen,
		"CODOMYRMEX_MAX_KEY_ID_LEN": MaxKeyIDLen, "CODOMYRMEX_TAG_OVERHEAD": TagOverhead,
		"CODOMYRMEX_SHA256": int(SHA256), "CODOMYRMEX_SHA384": int(SHA384), "CODOMYRMEX_SHA512": int(SHA512),
	}
	for name, value := range abi.defines {
		got, ok := constants[name]
		if !ok {
			t.Errorf("%s is in the .abi file but has no Go constant", name)
		} else if got != value {
			t.Errorf("%s: Go %d, .abi file %d", name, got, value)
		}
	}
	statuses := map[string]Status{
		"CODOMYRMEX_OK": StatusOK, "CODOMYRMEX_ERR_NULL_POINTER": StatusNullPointer,
		"CODOMYRMEX_ERR_INVALID_ARGUMENT": StatusInvalidArgument, "CODOMYRMEX_ERR_INVALID_KEY_ID": StatusInvalidKeyID,
		"CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM": StatusUnsupportedAlgorithm,
		"CODOMYRMEX_ERR_BUFFER_TOO_SMALL":      StatusBufferTooSmall, "CODOMYRMEX_ERR_NOT_FOUND": StatusNotFound,
		"CODOMYRMEX_ERR_ALREADY_EXISTS": StatusAlreadyExists, "CODOMYRMEX_ERR_VERIFY_FAILED": StatusVerifyFailed,
		"CODOMYRMEX_ERR_IO": StatusIO, "CODOMYRMEX_ERR_INSECURE_PERMISSIONS": StatusInsecurePermissions,
		"CODOMYRMEX_ERR_CORRUPT": StatusCorrupt, "CODOMYRMEX_ERR_INTERNAL": StatusInternal,
	}
	if len(statuses) != len(abi.statuses) {
		t.Errorf("%d Go statuses, %d in the .abi file", len(statuses), len(abi.statuses))
	}
	for name, value := range abi.statuses {
		got, ok := statuses[name]
		if !ok || int(got) != value {
			t.Errorf("%s: Go %d (%v), .abi file %d", name, got, ok, value)
		}
	}
}

func TestVendoredHeaderIsTheRepositorysHeader(t *testing.T) {
	repo, err := os.ReadFile("../../include/codomyrmex_keys.h")
	if os.IsNotExist(err) {
		t.Skip("not inside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	vendored, err := os.ReadFile("include/codomyrmex_keys.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, vendored) {
		t.Error("include/codomyrmex_keys.h differs from the repository's include/codomyrmex_keys.h: " +
			"copy it (cp ../../include/codomyrmex_keys.h include/)")
	}
}

func TestLicenseIsTheRepositorysLicense(t *testing.T) {
	repo, err := os.ReadFile("../../LICENSE")
	if os.IsNotExist(err) {
		t.Skip("not inside the repository")
	}
	module, _ := os.ReadFile("LICENSE")
	if !bytes.Equal(repo, module) {
		t.Error("LICENSE differs from the repository's LICENSE")
	}
}

func TestAnotherMajorOrAnOlderMinorVersionIsRefused(t *testing.T) {
	if err := checkLibraryVersion(strconv.Itoa(HeaderVersionMajor) + ".7.3"); err != nil {
		t.Errorf("same major refused: %v", err)
	}
	err := checkLibraryVersion("2.0.0")
	if err == nil || !strings.Contains(err.Error(), "is version 2.0.0, but this package needs version 1.x") {
		t.Errorf("2.0.0: %v", err)
	}
	if checkLibraryVersion("") == nil || checkLibraryVersion("10.0.0") == nil || checkLibraryVersion("1") == nil {
		t.Error("a malformed or other version was accepted")
	}
	older := strconv.Itoa(HeaderVersionMajor) + "." + strconv.Itoa(HeaderVersionMinor-1) + ".3"
	err = checkLibraryVersion(older)
	want := "is version " + older + ", but this package needs version 1." + strconv.Itoa(HeaderVersionMinor) + " or later"
	if HeaderVersionMinor > 0 && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Errorf("%s: %v", older, err)
	}
}

// unclosedReports records, for the whole test binary, the directories
// UnclosedHandler and the key ids UnclosedKeyringHandler were called with:
// tests that drop managers on purpose (TestFinalizers) would otherwise fill
// the output with warnings.
var unclosedReports = struct {
	sync.Mutex
	names map[string]int
}{names: map[string]int{}}

func reportUnclosed(name string) {
	unclosedReports.Lock()
	unclosedReports.names[name]++
	unclosedReports.Unlock()
}

func TestMain(m *testing.M) {
	UnclosedHandler = reportUnclosed
	UnclosedKeyringHandler = func(id string) { reportUnclosed("keyring " + id) }
	os.Exit(m.Run())
}

func unclosedCount(name string) int {
	unclosedReports.Lock()
	defer unclosedReports.Unlock()
	return unclosedReports.names[name]
}

// waitForReports collects garbage until name (a directory, or "keyring
// <id>") has been reported want times.
func waitForReports(t *testing.T, name string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for unclosedCount(name) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d unclosed reports for %s, want %d", unclosedCount(name), name, want)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnclosedKeyManagerWarns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	func() {
		km, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		_ = km.Store("x", []byte("key")) // dropped without Close
		closed, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
	}()
	waitForReports(t, dir, 1)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if n := unclosedCount(dir); n != 1 {
		t.Errorf("%d reports: the closed KeyManager was reported too", n)
	}
}

func TestUnclosedKeyringWarns(t *testing.T) {
	km, _ := openTemp(t)
	must(t, km.Store("leaky", []byte("key")))
	func() {
		ring, err := km.Load("leaky", SHA256, 0)
		must(t, err)
		_, _ = ring.Hmac([]byte("m")) // dropped without Close
		closed, err := km.Load("leaky", SHA256, 0)
		must(t, err)
		closed.Close()
	}()
	waitForReports(t, "keyring leaky", 1)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if n := unclosedCount("keyring leaky"); n != 1 {
		t.Errorf("%d reports: the closed Keyring was reported too", n)
	}
}

func TestDefaultUnclosedHandlerWarnsOnStderr(t *testing.T) {
	if os.Getenv("CODOMYRMEX_KEYS_GO_CHILD") == "1" {
		UnclosedHandler = defaultUnclosedHandler
		UnclosedKeyringHandler = defaultUnclosedKeyringHandler
		func() {
			km, _ := Open(os.Getenv("CODOMYRMEX_KEYS_GO_DIR"))
			_ = km.Store("leaky", []byte("key"))
			_, _ = km.Load("leaky", SHA256, 0)
		}()
		for i := 0; i < 100; i++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		return
	}
	dir := filepath.Join(t.TempDir(), "keys")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDefaultUnclosedHandlerWarnsOnStderr$")
	cmd.Env = append(os.Environ(), "CODOMYRMEX_KEYS_GO_CHILD=1", "CODOMYRMEX_KEYS_GO_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"codomyrmex_keys: a KeyManager for " + strconv.Quote(dir) + " was garbage-collected without Close",
		`codomyrmex_keys: a Keyring for key "leaky" was garbage-collected without Close`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no warning %q on stderr:\n%s", want, out)
		}
	}
}
