// Command cross runs the cross-language check of the codomyrmex_keys
// bindings for Go: `cross write DIR` or `cross verify DIR`.
package main

import (
	"fmt"
	"os"

	"github.com/codomyrmex/codomyrmex-keys/bindings/go/internal/cross"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "write" && os.Args[1] != "verify") {
		fmt.Fprintln(os.Stderr, "usage: cross write|verify DIR")
		os.Exit(2)
	}
	dir := os.Args[2]
	if os.Args[1] == "write" {
		if err := cross.Write(dir, "go"); err != nil {
			fmt.Fprintln(os.Stderr, "cross write (go):", err)
			os.Exit(1)
		}
		fmt.Printf("go: wrote cross-go.mac, .tag and .ktag in %s\n", dir)
		return
	}
	if _, err := cross.Verify(dir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cross verify (go):", err)
		os.Exit(1)
	}
}
