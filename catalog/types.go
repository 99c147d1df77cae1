package catalog

import "time"

// Health statuses of a check, as Consul names them.
const (
	HealthPassing     = "passing"
	HealthWarning     = "warning"
	HealthCritical    = "critical"
	HealthMaintenance = "maintenance"
)

// Session behaviors: what happens to the keys a session holds when it ends.
const (
	SessionRelease = "release"
	SessionDelete  = "delete"
)

// RaftIndex is the pair of Raft indexes every stored entity carries: the
// index of the log entry that created it and of the one that last changed it.
type RaftIndex struct {
	CreateIndex uint64
	ModifyIndex uint64
}

// Node is a machine running an agent.
type Node struct {
	ID              string // UUID chosen by the agent; may be empty
	Node            string // unique node name
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	RaftIndex
}

// Weights are the DNS SRV weights of a service instance by health.
type Weights struct {
	Passing int
	Warning int
}

// Service is one instance of a service registered on a node.
type Service struct {
	Node              string // the node the instance runs on
	ID                string // unique on its node
	Service           string // the service name
	Tags              []string
	Address           string
	Port              int
	Meta              map[string]string
	Weights           Weights
	EnableTagOverride bool
	RaftIndex
}

// CheckDefinition is how an agent runs a check. The catalog stores it so a
// reader can show it; only the agent that owns the check executes it.
type CheckDefinition struct {
	Interval                       time.Duration       `json:",omitempty"`
	Timeout                        time.Duration       `json:",omitempty"`
	TTL                            time.Duration       `json:",omitempty"`
	HTTP                           string              `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	Args                           []string            `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	DeregisterCriticalServiceAfter time.Duration       `json:",omitempty"`
	SuccessBeforePassing           int                 `json:",omitempty"`
	FailuresBeforeWarning          int                 `json:",omitempty"`
	FailuresBeforeCritical         int                 `json:",omitempty"`
}

// Check is a health check on a node or on one service instance of it.
type Check struct {
	Node        string
	CheckID     string
	Name        string
	Status      string // HealthPassing, HealthWarning or HealthCritical
	Notes       string
	Output      string
	ServiceID   string // empty for a node-level check
	ServiceName string
	ServiceTags []string
	Type        string // "ttl", "http", "tcp", … ; empty for a check with no runner
	Definition  CheckDefinition
	RaftIndex
}

// KVEntry is one key in the key/value store.
type KVEntry struct {
	Key       string
	Value     []byte
	Flags     uint64
	LockIndex uint64 // how many times the key's lock has been acquired
	Session   string // the session holding the key's lock, if any
	RaftIndex
}

// ServiceCheck names a service-level check a session is bound to.
type ServiceCheck struct {
	ID string
}

// Session binds locks to the liveness of a node and some of its checks.
type Session struct {
	ID            string
	Name          string
	Node          string
	NodeChecks    []string // node-level check IDs; critical invalidates the session
	ServiceChecks []ServiceCheck
	LockDelay     time.Duration
	Behavior      string        // SessionRelease (default) or SessionDelete
	TTL           time.Duration // zero: no TTL
	CreateTime    time.Time     // stamped by the leader (the log entry's time)
	RaftIndex
}

// EventType says what an Event did.
type EventType uint8

// Event types.
const (
	EventPut    EventType = 1 // an entity was created or changed
	EventDelete EventType = 2 // an entity was removed
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	}
	return "unknown"
}

// Table names: the kinds of entity an Event can be about, and the names of
// the per-table indexes.
const (
	TableNodes    = "nodes"
	TableServices = "services"
	TableChecks   = "checks"
	TableKV       = "kvs"
	TableSessions = "sessions"
	TableMembers  = "members" // nodes that left (see Member)
)

// Event is one change to the catalog, recorded in the event log at the
// revision (Raft index) that made it. One log entry may produce several
// events (a transaction, a delete-tree); they share a revision and are
// ordered by Seq.
type Event struct {
	Revision uint64
	Seq      uint32
	Type     EventType
	Table    string
	// Key identifies the entity within its table: the KV key; the node name;
	// "node/serviceID" for a service; "node/checkID" for a check; the session ID.
	Key string
	// Service is the service name the event concerns, when there is one (a
	// service or service check change).
	Service string
	// Exactly one of the following is set for a put; none for a delete
	// unless noted.
	KV      *KVEntry `json:",omitempty"`
	Node    *Node    `json:",omitempty"`
	Svc     *Service `json:",omitempty"`
	Check   *Check   `json:",omitempty"`
	Session *Session `json:",omitempty"`
	Member  *Member  `json:",omitempty"`
}

// CheckServiceNode is one instance of a service with its node and every
// check that applies to it (node-level checks and its own).
type CheckServiceNode struct {
	Node    *Node
	Service *Service
	Checks  []*Check
}
