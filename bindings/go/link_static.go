//go:build static

package keys

// With -tags static: libcodomyrmex_keys.a, and the system libraries its Rust
// runtime needs (Libs.private of the pkg-config file). The shared library
// that pkg-config also names is then unused, and --as-needed keeps it out.

/*
#cgo pkg-config: --static codomyrmex_keys
#cgo LDFLAGS: -Wl,--as-needed -Wl,-Bstatic -lcodomyrmex_keys -Wl,-Bdynamic
*/
import "C"
