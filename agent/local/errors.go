package local

import "errors"

// Sentinel errors; the HTTP layer maps them to status codes and Consul's
// messages.
var (
	// ErrUnknownService: no service with that ID is registered here.
	ErrUnknownService = errors.New("unknown service")
	// ErrUnknownCheck: no check with that ID is registered here.
	ErrUnknownCheck = errors.New("unknown check")
	// ErrNotTTL: a TTL update names a check that is not a TTL check.
	ErrNotTTL = errors.New("check does not have an associated TTL")
	// ErrInvalid is the root of every rejected definition (see InvalidError).
	ErrInvalid = errors.New("invalid definition")
	// ErrClosed: the state has been closed.
	ErrClosed = errors.New("local state closed")
)

// InvalidError is a rejected service or check definition. Its message is
// meant for the API user as is (e.g. "Invalid check: UDP must be host:port, got \"x\"").
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

// Is makes every InvalidError match ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(reason string) error { return &InvalidError{Reason: reason} }
