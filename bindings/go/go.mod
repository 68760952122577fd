module codomyrmex.dev/keys

go 1.19
