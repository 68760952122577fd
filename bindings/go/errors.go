package keys

/*
#include "codomyrmex_keys.h"
*/
import "C"

import "syscall"

// Status is a codomyrmex_status value. The numbers are fixed by the C
// contract.
type Status uint32

// The statuses of the C contract.
const (
	StatusOK                   Status = C.CODOMYRMEX_OK
	StatusNullPointer          Status = C.CODOMYRMEX_ERR_NULL_POINTER
	StatusInvalidArgument      Status = C.CODOMYRMEX_ERR_INVALID_ARGUMENT
	StatusInvalidKeyID         Status = C.CODOMYRMEX_ERR_INVALID_KEY_ID
	StatusUnsupportedAlgorithm Status = C.CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
	StatusBufferTooSmall       Status = C.CODOMYRMEX_ERR_BUFFER_TOO_SMALL
	StatusNotFound             Status = C.CODOMYRMEX_ERR_NOT_FOUND
	StatusAlreadyExists        Status = C.CODOMYRMEX_ERR_ALREADY_EXISTS
	StatusVerifyFailed         Status = C.CODOMYRMEX_ERR_VERIFY_FAILED
	StatusIO                   Status = C.CODOMYRMEX_ERR_IO
	StatusInsecurePermissions  Status = C.CODOMYRMEX_ERR_INSECURE_PERMISSIONS
	StatusCorrupt              Status = C.CODOMYRMEX_ERR_CORRUPT
	StatusInternal             Status = C.CODOMYRMEX_ERR_INTERNAL
)

// String is the library's name for s, e.g. "CODOMYRMEX_ERR_NOT_FOUND", or
// "CODOMYRMEX_UNKNOWN_STATUS".
func (s Status) String() string {
	return C.GoString(C.codomyrmex_status_name(C.uint32_t(s)))
}

// Error is a failure of the library: the status it returned, the name of
// the C function without its "codomyrmex_" prefix, the calling thread's
// last error message (which never contains key material), and the
// operating system's error number behind the failure, if there was one.
//
// errors.Is(err, ErrNotFound) and the like match on Status. An Error with
// an Errno wraps it, as an *fs.PathError does: errors.Is(err,
// fs.ErrPermission), errors.Is(err, fs.ErrNotExist), errors.Is(err,
// syscall.ENOTDIR) and errors.As(err, &errno) see it.
type Error struct {
	Op      string
	Status  Status
	Message string
	// Errno is what codomyrmex_last_os_error reported (EACCES for a
	// directory that cannot be created, ETIMEDOUT for a lock timeout), 0
	// when the library decided on its own (a missing key, a bad argument).
	Errno syscall.Errno
}

func (e *Error) Error() string {
	s := "codomyrmex_keys: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	if e.Message != "" {
		return s + e.Message + " (" + e.Status.String() + ")"
	}
	return s + e.Status.String()
}

// Unwrap returns Errno, or nil when it is 0.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Is reports whether target is an *Error with the same status and no
// message of its own, which is what the sentinels are.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && t.Op == "" && t.Message == ""
}

// Sentinels, one per failing status, for errors.Is.
var (
	ErrNullPointer          error = &Error{Status: StatusNullPointer}
	ErrInvalidArgument      error = &Error{Status: StatusInvalidArgument}
	ErrInvalidKeyID         error = &Error{Status: StatusInvalidKeyID}
	ErrUnsupportedAlgorithm error = &Error{Status: StatusUnsupportedAlgorithm}
	// ErrBufferTooSmall never reaches callers of this package, which sizes
	// every buffer itself; it is here for completeness.
	ErrBufferTooSmall      error = &Error{Status: StatusBufferTooSmall}
	ErrNotFound            error = &Error{Status: StatusNotFound}
	ErrAlreadyExists       error = &Error{Status: StatusAlreadyExists}
	ErrVerifyFailed        error = &Error{Status: StatusVerifyFailed}
	ErrIO                  error = &Error{Status: StatusIO}
	ErrInsecurePermissions error = &Error{Status: StatusInsecurePermissions}
	ErrCorrupt             error = &Error{Status: StatusCorrupt}
	ErrInternal            error = &Error{Status: StatusInternal}
)

// localError is a failure this package detects before calling the library
// (a Go string the C side cannot represent, a closed handle), reported
// with the status the library gives the same mistake.
func localError(op string, st Status, msg string) error {
	return &Error{Op: op, Status: st, Message: msg}
}
