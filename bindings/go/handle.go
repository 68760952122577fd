package keys

import "sync"

// handle is the native pointer of an object that must be closed (a
// KeyManager, a Keyring): use lends it to calls, which may run in many
// goroutines at once; close waits for them and frees it exactly once.
type handle[T any] struct {
	mu   sync.RWMutex // held for reading by every call, for writing by close
	ptr  *T
	what string // "key manager", for the error of a closed one
}

// use runs f with the live pointer, holding the read lock so that close
// cannot free it meanwhile.
func (h *handle[T]) use(op string, f func(ptr *T) error) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return localError(op, StatusNullPointer, h.what+" is closed")
	}
	return f(h.ptr)
}

// close frees the pointer with free after the calls in progress; it
// reports whether it did (false when already closed).
func (h *handle[T]) close(free func(ptr *T)) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ptr == nil {
		return false
	}
	free(h.ptr)
	h.ptr = nil
	return true
}
