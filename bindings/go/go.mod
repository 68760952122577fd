module github.com/codomyrmex/codomyrmex-keys/bindings/go

go 1.19
