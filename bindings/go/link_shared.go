//go:build !static

package keys

// The shared library, libcodomyrmex_keys.so.1, through pkg-config.

/*
#cgo pkg-config: codomyrmex_keys
*/
import "C"
