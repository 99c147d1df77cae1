// Package catalog is beacon's domain model and its Badger-backed store:
// nodes, services, health checks, KV entries and sessions, the commands
// that change them (applied by the Raft FSM), per-table and per-service
// indexes for blocking queries, an event log with history, and a watch hub
// that wakes exactly the readers whose data changed.
//
// # Applying
//
// Store.ApplyBatch applies committed Raft entries in one Badger write
// transaction per batch, which also stores the applied index, so a
// restarted server skips what it already applied. The apply path is
// deterministic: its only clock is Entry.Time, stamped by the leader.
// Writes are not synced: the Raft log is the durable copy, and replays
// whatever the store lost.
//
// # Key layout
//
// Keys are a one-letter prefix and a NUL, then parts joined by NUL (which
// validation forbids in names and keys). Values are msgpack (canonical),
// structs as arrays of their fields: a field is known by its position, so
// a stored or logged struct may only grow at its end (layout_test.go).
//
//	m\0applied                 applied index (excluded from Hash and snapshots' records)
//	m\0events, …               event log bookkeeping: count, compaction floor, clock
//	n\0<node>                  Node
//	s\0<node>\0<serviceID>     Service
//	S\0<name>\0<node>\0<id>    by service name: instances in node, then ID, order
//	c\0<node>\0<checkID>       Check
//	k\0<key>                   KVEntry
//	t\0<key>                   tombstone: the index that deleted the key
//	d\0<key>                   lock delay: Unix ns before which the key cannot be locked
//	x\0<sessionID>             Session
//	X\0<node>\0<sessionID>     sessions by node
//	b\0<node>\0<checkID>\0<id> sessions by the check they are bound to
//	h\0<sessionID>\0<key>      keys a session holds
//	l\0<node>                  Member: a node that left gracefully
//	i\0<table>                 table index
//	I\0<service name>          per-service index
//	e\0<revision><seq>         Event (8+4 bytes big-endian), value: time + Event
//
// # Concurrency
//
// ApplyBatch, Snapshot and Restore must be called from one goroutine: the
// FSM's. Snapshot.WriteTo may run on another, concurrently with applies;
// Snapshot.Close must follow it. View, Hash, AppliedIndex and Hub (and the
// WatchHub's methods) may be called from any goroutine at any time. Restore
// excludes views for its duration (a store-level RWMutex that views hold
// shared), so a reader sees either the old state or the new one, never a
// mix.
package catalog
