package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits checked before a command reaches Raft.
const (
	MaxKeyBytes         = 512       // a KV key
	MaxValueBytes       = 512 << 10 // a KV value (Consul's kv_max_value_size)
	MaxTxnOps           = 64        // operations in one transaction
	MaxTxnBytes         = 1 << 20   // keys and values of one transaction together
	MaxNameBytes        = 255       // node, service, check and session names and IDs
	MaxMetaPairs        = 64        // meta pairs on a node or service
	MaxMetaKeyBytes     = 128       // a meta key
	MaxMetaValueBytes   = 512       // a meta value
	MaxTags             = 64        // tags on a service
	MaxTagBytes         = 255       // one tag
	MaxCheckOutput      = 4 << 10   // check output is truncated to this by agents
	MaxCheckUpdates     = 1024      // updates in one CheckStatusRequest
	MaxSessionChecks    = 64        // checks a session can be bound to
	MaxSessionLockDelay = 60 * time.Second
	MinSessionTTL       = 10 * time.Second
	MaxSessionTTL       = 24 * time.Hour
)

var metaKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// checkKey validates a KV key (or, with allowEmpty, a delete-tree prefix).
func checkKey(field, key string, allowEmpty bool) error {
	if key == "" && !allowEmpty {
		return invalid(field, "must not be empty")
	}
	if len(key) > MaxKeyBytes {
		return invalid(field, "must be at most %d bytes, got %d", MaxKeyBytes, len(key))
	}
	return checkText(field, key)
}

// checkText rejects invalid UTF-8 and control characters (NUL among them,
// which the store uses as a separator).
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return invalid(field, "must not contain control character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkName validates a node, service, check or session name or ID.
func checkName(field, s string, required bool) error {
	if s == "" {
		if required {
			return invalid(field, "must not be empty")
		}
		return nil
	}
	if len(s) > MaxNameBytes {
		return invalid(field, "must be at most %d bytes, got %d", MaxNameBytes, len(s))
	}
	return checkText(field, s)
}

func checkMeta(field string, meta map[string]string) error {
	if len(meta) > MaxMetaPairs {
		return invalid(field, "must have at most %d pairs, got %d", MaxMetaPairs, len(meta))
	}
	for k, v := range meta {
		f := fmt.Sprintf("%s[%q]", field, k)
		if len(k) > MaxMetaKeyBytes {
			return invalid(f, "key must be at most %d characters, got %d", MaxMetaKeyBytes, len(k))
		}
		if !metaKeyRE.MatchString(k) {
			return invalid(f, "key must match [a-zA-Z0-9_-]+")
		}
		if len(v) > MaxMetaValueBytes {
			return invalid(f, "value must be at most %d characters, got %d", MaxMetaValueBytes, len(v))
		}
	}
	return nil
}

func checkStatus(field, s string) error {
	switch s {
	case HealthPassing, HealthWarning, HealthCritical:
		return nil
	}
	return invalid(field, "must be passing, warning or critical, got %q", s)
}

func (n *Node) validate(field string) error {
	if err := checkName(field+".Node", n.Node, true); err != nil {
		return err
	}
	if strings.Contains(n.Node, "/") {
		return invalid(field+".Node", "must not contain '/'")
	}
	if err := checkName(field+".ID", n.ID, false); err != nil {
		return err
	}
	if err := checkName(field+".Address", n.Address, false); err != nil {
		return err
	}
	return checkMeta(field+".Meta", n.Meta)
}

func (s *Service) validate(field string) error {
	if err := checkName(field+".Service", s.Service, true); err != nil {
		return err
	}
	if err := checkName(field+".ID", s.ID, true); err != nil {
		return err
	}
	switch s.Address {
	case "0.0.0.0", "::", "[::]":
		return invalid(field+".Address", "%q is not a routable address", s.Address)
	}
	if err := checkName(field+".Address", s.Address, false); err != nil {
		return err
	}
	if s.Port < 0 || s.Port > 65535 {
		return invalid(field+".Port", "must be between 0 and 65535, got %d", s.Port)
	}
	if len(s.Tags) > MaxTags {
		return invalid(field+".Tags", "must have at most %d tags, got %d", MaxTags, len(s.Tags))
	}
	for i, t := range s.Tags {
		if err := checkName(fmt.Sprintf("%s.Tags[%d]", field, i), t, false); err != nil {
			return err
		}
	}
	if s.Weights.Passing < 0 || s.Weights.Warning < 0 {
		return invalid(field+".Weights", "must not be negative")
	}
	return checkMeta(field+".Meta", s.Meta)
}

func (c *Check) validate(field string) error {
	if err := checkName(field+".CheckID", c.CheckID, true); err != nil {
		return err
	}
	if err := checkName(field+".Name", c.Name, false); err != nil {
		return err
	}
	if err := checkStatus(field+".Status", c.Status); err != nil {
		return err
	}
	if len(c.Output) > MaxValueBytes {
		return invalid(field+".Output", "must be at most %d bytes, got %d", MaxValueBytes, len(c.Output))
	}
	return checkName(field+".ServiceID", c.ServiceID, false)
}

// Validate checks a registration.
func (r *RegisterRequest) Validate() error {
	if err := r.Node.validate("Node"); err != nil {
		return err
	}
	if r.Service != nil {
		if err := r.Service.validate("Service"); err != nil {
			return err
		}
		if r.Service.Node != "" && r.Service.Node != r.Node.Node {
			return invalid("Service.Node", "must be empty or %q, got %q", r.Node.Node, r.Service.Node)
		}
	}
	for i, c := range r.Checks {
		f := fmt.Sprintf("Checks[%d]", i)
		if c == nil {
			return invalid(f, "must not be null")
		}
		if err := c.validate(f); err != nil {
			return err
		}
		if c.Node != "" && c.Node != r.Node.Node {
			return invalid(f+".Node", "must be empty or %q, got %q", r.Node.Node, c.Node)
		}
	}
	return nil
}

// Validate checks a deregistration.
func (r *DeregisterRequest) Validate() error {
	if err := checkName("Node", r.Node, true); err != nil {
		return err
	}
	if r.ServiceID != "" && r.CheckID != "" {
		return invalid("CheckID", "must be empty when ServiceID is set")
	}
	if err := checkName("ServiceID", r.ServiceID, false); err != nil {
		return err
	}
	return checkName("CheckID", r.CheckID, false)
}

// Validate checks a check status update.
func (r *CheckStatusRequest) Validate() error {
	if len(r.Updates) == 0 {
		return invalid("Updates", "must not be empty")
	}
	if len(r.Updates) > MaxCheckUpdates {
		return invalid("Updates", "must have at most %d updates, got %d", MaxCheckUpdates, len(r.Updates))
	}
	for i, u := range r.Updates {
		f := fmt.Sprintf("Updates[%d]", i)
		if err := checkName(f+".Node", u.Node, true); err != nil {
			return err
		}
		if err := checkName(f+".CheckID", u.CheckID, true); err != nil {
			return err
		}
		if err := checkStatus(f+".Status", u.Status); err != nil {
			return err
		}
		if len(u.Output) > MaxValueBytes {
			return invalid(f+".Output", "must be at most %d bytes, got %d", MaxValueBytes, len(u.Output))
		}
	}
	return nil
}

func validateKVEntry(field string, e *KVEntry, allowEmptyKey bool) error {
	if err := checkKey(field+"Key", e.Key, allowEmptyKey); err != nil {
		return err
	}
	if len(e.Value) > MaxValueBytes {
		return invalid(field+"Value", "must be at most %d bytes, got %d", MaxValueBytes, len(e.Value))
	}
	return checkName(field+"Session", e.Session, false)
}

// Validate checks a KV write.
func (r *KVRequest) Validate() error {
	switch r.Op {
	case KVSet, KVCAS, KVDelete, KVDeleteCAS:
	case KVDeleteTree:
		return validateKVEntry("", &r.Entry, true)
	case KVLock, KVUnlock:
		if r.Entry.Session == "" {
			return invalid("Session", "is required to %s a key", r.Op)
		}
	default:
		return invalid("Op", "unknown KV operation %q", r.Op)
	}
	return validateKVEntry("", &r.Entry, false)
}

// Validate checks a session operation.
func (r *SessionRequest) Validate() error {
	s := &r.Session
	if err := checkName("Session.ID", s.ID, true); err != nil {
		return err
	}
	switch r.Op {
	case SessionDestroy:
		return nil
	case SessionCreate:
	default:
		return invalid("Op", "unknown session operation %q", r.Op)
	}
	if err := checkName("Session.Node", s.Node, true); err != nil {
		return err
	}
	if err := checkName("Session.Name", s.Name, false); err != nil {
		return err
	}
	switch s.Behavior {
	case "", SessionRelease, SessionDelete:
	default:
		return invalid("Session.Behavior", "must be %q or %q, got %q", SessionRelease, SessionDelete, s.Behavior)
	}
	if s.TTL != 0 && (s.TTL < MinSessionTTL || s.TTL > MaxSessionTTL) {
		return invalid("Session.TTL", "must be between %s and %s, got %s", MinSessionTTL, MaxSessionTTL, s.TTL)
	}
	if s.LockDelay < 0 || s.LockDelay > MaxSessionLockDelay {
		return invalid("Session.LockDelay", "must be between 0s and %s, got %s", MaxSessionLockDelay, s.LockDelay)
	}
	if len(s.NodeChecks)+len(s.ServiceChecks) > MaxSessionChecks {
		return invalid("Session.NodeChecks", "a session can be bound to at most %d checks", MaxSessionChecks)
	}
	for i, c := range s.NodeChecks {
		if err := checkName(fmt.Sprintf("Session.NodeChecks[%d]", i), c, true); err != nil {
			return err
		}
	}
	for i, c := range s.ServiceChecks {
		if err := checkName(fmt.Sprintf("Session.ServiceChecks[%d].ID", i), c.ID, true); err != nil {
			return err
		}
	}
	return nil
}

var (
	txnKVVerbs = map[string]bool{
		"set": true, "cas": true, "lock": true, "unlock": true, "get": true,
		"get-tree": true, "check-index": true, "check-session": true,
		"check-not-exists": true, "delete": true, "delete-tree": true, "delete-cas": true,
	}
	txnEntityVerbs = map[string]bool{"set": true, "cas": true, "get": true, "delete": true, "delete-cas": true}
)

// Validate checks a transaction: the op count, each op's verb and fields,
// and the total size of its keys and values.
func (r *TxnRequest) Validate() error {
	if len(r.Ops) == 0 {
		return invalid("Ops", "a transaction needs at least one operation")
	}
	if len(r.Ops) > MaxTxnOps {
		return invalid("Ops", "must have at most %d operations, got %d", MaxTxnOps, len(r.Ops))
	}
	total := 0
	for i := range r.Ops {
		n, err := r.Ops[i].validate(fmt.Sprintf("Ops[%d].", i))
		if err != nil {
			return err
		}
		total += n
	}
	if total > MaxTxnBytes {
		return invalid("Ops", "keys and values must total at most %d bytes, got %d", MaxTxnBytes, total)
	}
	return nil
}

// validate checks one transaction operation and returns its payload size.
func (op *TxnOp) validate(field string) (int, error) {
	set := 0
	for _, p := range []bool{op.KV != nil, op.Node != nil, op.Service != nil, op.Check != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return 0, invalid(field[:len(field)-1], "must have exactly one of KV, Node, Service or Check, got %d", set)
	}
	switch {
	case op.KV != nil:
		if !txnKVVerbs[op.KV.Verb] {
			return 0, invalid(field+"KV.Verb", "unknown verb %q", op.KV.Verb)
		}
		if (op.KV.Verb == "lock" || op.KV.Verb == "unlock" || op.KV.Verb == "check-session") && op.KV.Entry.Session == "" {
			return 0, invalid(field+"KV.Session", "is required for verb %q", op.KV.Verb)
		}
		prefixVerb := op.KV.Verb == "delete-tree" || op.KV.Verb == "get-tree"
		if err := validateKVEntry(field+"KV.", &op.KV.Entry, prefixVerb); err != nil {
			return 0, err
		}
		return len(op.KV.Entry.Key) + len(op.KV.Entry.Value), nil
	case op.Node != nil:
		if !txnEntityVerbs[op.Node.Verb] {
			return 0, invalid(field+"Node.Verb", "unknown verb %q", op.Node.Verb)
		}
		if op.Node.Verb == "set" || op.Node.Verb == "cas" {
			return 0, op.Node.Node.validate(field + "Node.Node")
		}
		return 0, checkName(field+"Node.Node.Node", op.Node.Node.Node, true)
	case op.Service != nil:
		if !txnEntityVerbs[op.Service.Verb] {
			return 0, invalid(field+"Service.Verb", "unknown verb %q", op.Service.Verb)
		}
		if err := checkName(field+"Service.Node", op.Service.Node, true); err != nil {
			return 0, err
		}
		if op.Service.Verb == "set" || op.Service.Verb == "cas" {
			return 0, op.Service.Service.validate(field + "Service.Service")
		}
		return 0, checkName(field+"Service.Service.ID", op.Service.Service.ID, true)
	default:
		if !txnEntityVerbs[op.Check.Verb] {
			return 0, invalid(field+"Check.Verb", "unknown verb %q", op.Check.Verb)
		}
		if err := checkName(field+"Check.Node", op.Check.Check.Node, true); err != nil {
			return 0, err
		}
		if op.Check.Verb == "set" || op.Check.Verb == "cas" {
			return 0, op.Check.Check.validate(field + "Check.Check")
		}
		return 0, checkName(field+"Check.Check.CheckID", op.Check.Check.CheckID, true)
	}
}

// Validate checks a tombstone reap.
func (r *ReapTombstonesRequest) Validate() error {
	if r.Index == 0 {
		return invalid("Index", "must be positive")
	}
	return nil
}

// ValidateName checks a node, service, check or session name or ID given
// outside a command (a path segment, say): non-empty, short enough, no
// control characters.
func ValidateName(field, s string) error { return checkName(field, s, true) }
