package catalog

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; the HTTP and RPC edges
// map them to status codes. Messages are lowercase and name the problem.
var (
	// ErrInvalid is the root of every validation failure (see ValidationError).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: the entity a command refers to does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnknownCommand: a log entry has a command type this server does not
	// know and that is not marked ignorable. The FSM stops on it.
	ErrUnknownCommand = errors.New("unknown command type")
	// ErrIgnoredCommand: a log entry has an unknown command type with the
	// IgnoreUnknown bit set; the FSM skips it.
	ErrIgnoredCommand = errors.New("ignorable unknown command type")
	// ErrCorruptCommand: a known command type whose body does not decode.
	ErrCorruptCommand = errors.New("corrupt command body")
	// ErrSessionInvalid: a lock or session operation names a session that
	// does not exist.
	ErrSessionInvalid = errors.New("invalid session")
	// ErrLockDelay: a lock cannot be acquired yet because a lock delay from
	// an invalidated session still applies.
	ErrLockDelay = errors.New("lock delay in effect")
	// ErrTxnRolledBack: a transaction failed and none of its writes applied;
	// the TxnResponse's Errors say which operation failed and why.
	ErrTxnRolledBack = errors.New("transaction rolled back")
	// ErrCompacted: a revision older than the event log retains was asked
	// for. The error is a *CompactedError carrying the current revision.
	ErrCompacted = errors.New("revision compacted")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrTooLarge: a command does not fit in one storage transaction and
	// cannot be split; it was skipped (its index still counts as applied).
	ErrTooLarge = errors.New("command too large to apply")
	// ErrCorruptSnapshot: a snapshot stream is truncated, damaged or of an
	// unknown format; restoring it changed nothing.
	ErrCorruptSnapshot = errors.New("corrupt snapshot")
)

// ValidationError says which field of a request is wrong and why.
type ValidationError struct {
	Field  string // e.g. "Key", "Service.Meta[\"x\"]", "Ops[3].KV.Verb"
	Reason string // e.g. "must be at most 512 bytes, got 700"
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Is makes every ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// CompactedError is returned for a watch or event read starting at a
// revision the event log no longer holds. The client should re-list at
// Current and resume from there.
type CompactedError struct {
	Requested uint64 // the revision asked for
	Oldest    uint64 // the oldest revision still retained (0 if none)
	Current   uint64 // the store's current revision
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("revision %d compacted: oldest retained is %d, current is %d", e.Requested, e.Oldest, e.Current)
}

// Is makes every CompactedError match ErrCompacted.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// errorCodes maps sentinels to stable codes so an error can cross the RPC
// boundary between servers and come out as the same sentinel.
var errorCodes = []struct {
	code string
	err  error
}{
	{"invalid", ErrInvalid},
	{"not-found", ErrNotFound},
	{"unknown-command", ErrUnknownCommand},
	{"corrupt-command", ErrCorruptCommand},
	{"session-invalid", ErrSessionInvalid},
	{"lock-delay", ErrLockDelay},
	{"txn-rolled-back", ErrTxnRolledBack},
	{"compacted", ErrCompacted},
	{"closed", ErrClosed},
	{"too-large", ErrTooLarge},
	{"corrupt-snapshot", ErrCorruptSnapshot},
}

// ErrorCode returns the stable code of err's sentinel, or "" if it has none.
func ErrorCode(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// ErrorFromCode rebuilds an error received with code and message: the
// result matches the code's sentinel with errors.Is and prints message.
func ErrorFromCode(code, message string) error {
	if message == "" {
		return nil
	}
	for _, c := range errorCodes {
		if c.code == code {
			return &codedError{msg: message, sentinel: c.err}
		}
	}
	return errors.New(message)
}

type codedError struct {
	msg      string
	sentinel error
}

func (e *codedError) Error() string        { return e.msg }
func (e *codedError) Is(target error) bool { return target == e.sentinel }
