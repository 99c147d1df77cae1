package catalog

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// CommandType is the first byte of every Raft log entry the catalog applies.
type CommandType uint8

// IgnoreUnknown is a bit of CommandType: an entry whose type has it set and
// that a server does not know is skipped; any other unknown type stops the
// server, because applying the rest of the log without it would diverge.
const IgnoreUnknown CommandType = 0x80

// Command types. Numbers are part of the on-disk format: never reuse one.
const (
	CmdRegister       CommandType = 1
	CmdDeregister     CommandType = 2
	CmdCheckStatus    CommandType = 3
	CmdKV             CommandType = 4
	CmdSession        CommandType = 5
	CmdTxn            CommandType = 6
	CmdReapTombstones CommandType = 7
	CmdMember         CommandType = 8
)

// Command is a request that changes the catalog once Raft has committed it.
type Command interface {
	// CommandType is the type byte the command is encoded with.
	CommandType() CommandType
	// Validate checks the command before it is proposed; it returns a
	// *ValidationError naming the bad field.
	Validate() error
}

// RegisterRequest registers or updates a node and, optionally, one service
// instance and checks on it, in one command.
type RegisterRequest struct {
	Node           Node
	SkipNodeUpdate bool // keep the stored node as is if it exists
	Service        *Service
	Checks         []*Check
}

// DeregisterRequest removes a check (CheckID set), a service instance and
// its checks (ServiceID set), or a whole node with everything on it.
type DeregisterRequest struct {
	Node      string
	ServiceID string
	CheckID   string
}

// CheckUpdate sets one check's status and output.
type CheckUpdate struct {
	Node    string
	CheckID string
	Status  string
	Output  string
}

// CheckStatusRequest updates the status of one or more checks. A check that
// does not exist (any more) is skipped. A check going critical invalidates
// the sessions bound to it in the same apply.
type CheckStatusRequest struct {
	Updates []CheckUpdate
}

// KVOp is a key/value operation.
type KVOp string

// KV operations. The CAS index, where one applies, is Entry.ModifyIndex.
const (
	KVSet        KVOp = "set"
	KVCAS        KVOp = "cas"         // set if ModifyIndex matches (0: only if absent)
	KVDelete     KVOp = "delete"      // delete one key
	KVDeleteTree KVOp = "delete-tree" // delete every key with the prefix Entry.Key
	KVDeleteCAS  KVOp = "delete-cas"  // delete if ModifyIndex matches
	KVLock       KVOp = "lock"        // acquire with Entry.Session, setting the value
	KVUnlock     KVOp = "unlock"      // release if held by Entry.Session, setting the value
)

// KVRequest is one key/value write.
type KVRequest struct {
	Op    KVOp
	Entry KVEntry
}

// SessionOp is a session operation.
type SessionOp string

// Session operations.
const (
	SessionCreate  SessionOp = "create"
	SessionDestroy SessionOp = "destroy"
)

// SessionRequest creates (Session.ID chosen by the proposer) or destroys a
// session. Destroying releases or deletes the keys it holds, per Behavior.
type SessionRequest struct {
	Op      SessionOp
	Session Session
}

// TxnKVOp is a KV operation inside a transaction. Verbs: set, cas, lock,
// unlock, get, get-tree, check-index, check-session, check-not-exists,
// delete, delete-tree, delete-cas.
type TxnKVOp struct {
	Verb  string
	Entry KVEntry
}

// TxnNodeOp is a node operation inside a transaction. Verbs: set, cas, get,
// delete, delete-cas.
type TxnNodeOp struct {
	Verb string
	Node Node
}

// TxnServiceOp is a service operation inside a transaction. Verbs: set,
// cas, get, delete, delete-cas.
type TxnServiceOp struct {
	Verb    string
	Node    string
	Service Service
}

// TxnCheckOp is a check operation inside a transaction. Verbs: set, cas,
// get, delete, delete-cas.
type TxnCheckOp struct {
	Verb  string
	Check Check
}

// TxnOp is one operation of a transaction: exactly one field is set.
type TxnOp struct {
	KV      *TxnKVOp      `json:",omitempty"`
	Node    *TxnNodeOp    `json:",omitempty"`
	Service *TxnServiceOp `json:",omitempty"`
	Check   *TxnCheckOp   `json:",omitempty"`
}

// TxnRequest is up to MaxTxnOps operations applied all-or-nothing.
type TxnRequest struct {
	Ops []TxnOp
}

// ReapTombstonesRequest removes KV tombstones at or below Index. The leader
// proposes it once tombstones are old enough that no blocking query should
// still depend on them.
type ReapTombstonesRequest struct {
	Index uint64
}

func (*RegisterRequest) CommandType() CommandType       { return CmdRegister }
func (*DeregisterRequest) CommandType() CommandType     { return CmdDeregister }
func (*CheckStatusRequest) CommandType() CommandType    { return CmdCheckStatus }
func (*KVRequest) CommandType() CommandType             { return CmdKV }
func (*SessionRequest) CommandType() CommandType        { return CmdSession }
func (*TxnRequest) CommandType() CommandType            { return CmdTxn }
func (*ReapTombstonesRequest) CommandType() CommandType { return CmdReapTombstones }

// TxnResult is the result of one read or write operation of a transaction.
type TxnResult struct {
	KV      *KVEntry `json:",omitempty"`
	Node    *Node    `json:",omitempty"`
	Service *Service `json:",omitempty"`
	Check   *Check   `json:",omitempty"`
}

// TxnError names the operation that made a transaction roll back.
type TxnError struct {
	OpIndex int
	What    string
}

// TxnResponse is what a transaction returns: Results when it committed,
// Errors (and no Results) when it rolled back.
type TxnResponse struct {
	Results []TxnResult
	Errors  []TxnError
}

// Result is what applying one command returned.
type Result struct {
	Index uint64 // the Raft index the command was applied at
	// OK is false when a conditional write (CAS, lock, unlock, delete-cas)
	// found its condition unmet; true otherwise.
	OK  bool
	Err error        // a failure that left the catalog unchanged
	Txn *TxnResponse // for CmdTxn
}

// msgpackHandle encodes command bodies and stored entities. MaxInitLen caps
// how much a length prefix can make the decoder preallocate, so a corrupt
// or hostile body cannot allocate gigabytes.
var msgpackHandle = &codec.MsgpackHandle{
	BasicHandle: codec.BasicHandle{
		DecodeOptions: codec.DecodeOptions{MaxInitLen: 4096, RawToString: true},
		// Canonical sorts map keys, so an entity always encodes to the same
		// bytes: the store compares encodings to skip no-op writes, and Hash
		// must agree across servers.
		//
		// StructToArray writes a struct as an array of its fields in
		// declaration order, without their names: a fifth smaller and
		// cheaper to encode and decode than a map. The position is the
		// field's identity: new fields go at the END of a struct, and no
		// field is ever removed, reordered or retyped (layout_test.go pins
		// this). The decoder reads maps too, so data written before
		// (structs as maps) stays readable.
		EncodeOptions: codec.EncodeOptions{Canonical: true, StructToArray: true},
	},
	WriteExt: true,
}

// Encode returns the wire form of c: its type byte followed by its body.
func Encode(c Command) ([]byte, error) {
	buf, err := appendValue([]byte{byte(c.CommandType())}, c)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", c, err)
	}
	return buf, nil
}

// newCommand returns an empty command of type t, or nil if t is unknown.
func newCommand(t CommandType) Command {
	switch t {
	case CmdRegister:
		return new(RegisterRequest)
	case CmdDeregister:
		return new(DeregisterRequest)
	case CmdCheckStatus:
		return new(CheckStatusRequest)
	case CmdKV:
		return new(KVRequest)
	case CmdSession:
		return new(SessionRequest)
	case CmdTxn:
		return new(TxnRequest)
	case CmdReapTombstones:
		return new(ReapTombstonesRequest)
	case CmdMember:
		return new(MemberRequest)
	}
	return nil
}

// Decode parses a log entry's data. An unknown type yields ErrIgnoredCommand
// if it carries the IgnoreUnknown bit and ErrUnknownCommand otherwise; a
// known type with a body that does not parse yields ErrCorruptCommand. It
// never panics, whatever buf holds.
func Decode(buf []byte) (Command, error) {
	if len(buf) == 0 {
		return nil, fmt.Errorf("%w: empty entry", ErrCorruptCommand)
	}
	t := CommandType(buf[0])
	c := newCommand(t)
	if c == nil {
		if t&IgnoreUnknown != 0 {
			return nil, fmt.Errorf("%w: type %d", ErrIgnoredCommand, t)
		}
		return nil, fmt.Errorf("%w: type %d", ErrUnknownCommand, t)
	}
	if err := decodeExact(buf[1:], c); err != nil {
		return nil, fmt.Errorf("%w: type %d: %v", ErrCorruptCommand, t, err)
	}
	return c, nil
}

// decodeExact decodes msgpack data into v, turning any panic of the codec
// into an error and rejecting bytes after the value: a log entry with
// trailing garbage is corrupt, not a command.
func decodeExact(data []byte, v any) (err error) {
	dec := decoders.Get().(*codec.Decoder)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode panic: %v", r)
			return // a decoder that panicked is not reused
		}
		decoders.Put(dec)
	}()
	dec.ResetBytes(data)
	if err := dec.Decode(v); err != nil {
		return err
	}
	if n := dec.NumBytesRead(); n != len(data) {
		return fmt.Errorf("%d trailing bytes after the body", len(data)-n)
	}
	return nil
}

// isMsgpackMap reports whether an encoding is a msgpack map: a struct
// written before structs were encoded as arrays.
func isMsgpackMap(b []byte) bool {
	return len(b) > 0 && (b[0]&0xf0 == 0x80 || b[0] == 0xde || b[0] == 0xdf)
}

// valueEncoder is a msgpack encoder with the scratch buffer it encodes
// into; encoders pools them: building an encoder costs more than encoding
// a small value, and the apply path encodes several values per entry.
type valueEncoder struct {
	enc     *codec.Encoder
	scratch []byte
}

var encoders = sync.Pool{New: func() any {
	e := &valueEncoder{scratch: make([]byte, 0, 1<<10)}
	e.enc = codec.NewEncoderBytes(&e.scratch, msgpackHandle)
	return e
}}

// maxPooledScratch bounds the scratch buffer an encoder keeps in the pool
// (a 512 KiB value must not pin that much per pooled encoder).
const maxPooledScratch = 64 << 10

// encodeValue encodes v as msgpack into a new slice of its exact size.
func encodeValue(v any) ([]byte, error) { return appendValue(nil, v) }

// appendValue returns prefix followed by v's msgpack encoding, in one new
// slice of exactly that size: encoding into a fresh slice instead would
// allocate (and zero) the encoder's 1 KiB default buffer for every value,
// and the stores keep these slices until their transaction commits.
func appendValue(prefix []byte, v any) ([]byte, error) {
	e := encoders.Get().(*valueEncoder)
	e.enc.ResetBytes(&e.scratch)
	if err := e.enc.Encode(v); err != nil {
		return nil, err // an encoder that failed is not reused
	}
	out := make([]byte, len(prefix), len(prefix)+len(e.scratch))
	copy(out, prefix)
	out = append(out, e.scratch...)
	if cap(e.scratch) <= maxPooledScratch {
		encoders.Put(e)
	}
	return out, nil
}
