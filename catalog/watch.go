package catalog

import (
	"slices"
	"sync"
)

type watchKind uint8

const (
	watchTable watchKind = iota + 1
	watchService
	watchKVKey
	watchKVPrefix
	watchEvents
)

// WatchKey names something a Watch waits on. Make one with TableWatch,
// ServiceWatch, KVKeyWatch, KVPrefixWatch or EventsWatch; WatchKeys are
// comparable.
type WatchKey struct {
	kind watchKind
	name string
}

// TableWatch fires on any change to a table (TableNodes, TableKV, …).
func TableWatch(table string) WatchKey { return WatchKey{watchTable, table} }

// ServiceWatch fires when the per-service index of name is bumped: its
// instances, their checks, or a node running it (or its node checks)
// changed.
func ServiceWatch(name string) WatchKey { return WatchKey{watchService, name} }

// KVKeyWatch fires when the KV key changes (set, delete, lock, release).
func KVKeyWatch(key string) WatchKey { return WatchKey{watchKVKey, key} }

// KVPrefixWatch fires when any KV key with the prefix changes; "" means
// every key.
func KVPrefixWatch(prefix string) WatchKey { return WatchKey{watchKVPrefix, prefix} }

// EventsWatch fires when any event is appended to the event log.
func EventsWatch() WatchKey { return WatchKey{kind: watchEvents} }

// Watch is a one-shot registration: C is closed once, when any of its keys
// changes after Watch was called (or when the store closes or restores).
type Watch struct {
	hub  *WatchHub
	ch   chan struct{}
	fn   func() // WatchFunc's callback, run in its own goroutine when fired
	keys []WatchKey
	done bool // guarded by hub.mu: fired or stopped
}

// C returns the channel closed when the watch fires.
func (w *Watch) C() <-chan struct{} { return w.ch }

// Stop unregisters the watch. It is safe to call more than once, and after
// the watch fired.
func (w *Watch) Stop() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.done {
		w.done = true
		h.removeLocked(w)
	}
}

type watchSet map[*Watch]struct{}

// WatchHub wakes the readers whose data changed. Finding the watchers of a
// changed KV key costs one map lookup per distinct watched prefix length,
// not one per watcher. Its methods may be called from any goroutine.
type WatchHub struct {
	mu sync.Mutex
	// mu guards the following fields.
	exact      map[WatchKey]watchSet // every key but KV prefixes
	prefixes   map[string]watchSet   // KV prefix → watchers
	prefixLens []int                 // sorted distinct lengths of the keys of prefixes
	lenCount   map[int]int           // prefix length → prefixes of that length
	closed     bool                  // fireAll on close: later watches fire at once
}

func newWatchHub() *WatchHub {
	return &WatchHub{exact: map[WatchKey]watchSet{}, prefixes: map[string]watchSet{}, lenCount: map[int]int{}}
}

// Watch registers a watch on keys. The caller must Stop it when done.
func (h *WatchHub) Watch(keys ...WatchKey) *Watch {
	return h.watch(nil, keys)
}

// WatchFunc is Watch for a waiter that holds no goroutine: when the watch
// fires, fn runs once in a new goroutine (and C is closed as usual). A
// stopped watch never calls fn.
func (h *WatchHub) WatchFunc(fn func(), keys ...WatchKey) *Watch {
	return h.watch(fn, keys)
}

func (h *WatchHub) watch(fn func(), keys []WatchKey) *Watch {
	w := &Watch{hub: h, ch: make(chan struct{}), fn: fn, keys: keys}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		w.done = true
		close(w.ch)
		if fn != nil {
			go fn()
		}
		return w
	}
	for _, k := range keys {
		if k.kind == watchKVPrefix {
			h.addPrefixLocked(k.name, w)
			continue
		}
		set := h.exact[k]
		if set == nil {
			set = make(watchSet, 1)
			h.exact[k] = set
		}
		set[w] = struct{}{}
	}
	return w
}

func (h *WatchHub) addPrefixLocked(p string, w *Watch) {
	set := h.prefixes[p]
	if set == nil {
		set = make(watchSet, 1)
		h.prefixes[p] = set
		if h.lenCount[len(p)]++; h.lenCount[len(p)] == 1 {
			i, _ := slices.BinarySearch(h.prefixLens, len(p))
			h.prefixLens = slices.Insert(h.prefixLens, i, len(p))
		}
	}
	set[w] = struct{}{}
}

// removeLocked unregisters w from every key.
func (h *WatchHub) removeLocked(w *Watch) {
	for _, k := range w.keys {
		if k.kind != watchKVPrefix {
			if set := h.exact[k]; set != nil {
				delete(set, w)
				if len(set) == 0 {
					delete(h.exact, k)
				}
			}
			continue
		}
		set := h.prefixes[k.name]
		if set == nil {
			continue
		}
		delete(set, w)
		if len(set) > 0 {
			continue
		}
		delete(h.prefixes, k.name)
		if h.lenCount[len(k.name)]--; h.lenCount[len(k.name)] == 0 {
			delete(h.lenCount, len(k.name))
			if i, ok := slices.BinarySearch(h.prefixLens, len(k.name)); ok {
				h.prefixLens = slices.Delete(h.prefixLens, i, i+1)
			}
		}
	}
}

// fireLocked fires every watch of set.
func (h *WatchHub) fireLocked(set watchSet) {
	for w := range set {
		w.done = true
		close(w.ch)
		h.removeLocked(w)
		if w.fn != nil {
			go w.fn()
		}
	}
}

// notify fires the watches of what c changed.
func (h *WatchHub) notify(c *changeSet) {
	if c.empty() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.exact) == 0 && len(h.prefixes) == 0 {
		return
	}
	// Collect first, fire after: firing unregisters, which edits the maps
	// and prefixLens being walked.
	var sets []watchSet
	add := func(set watchSet) {
		if len(set) > 0 {
			sets = append(sets, set)
		}
	}
	for i, t := range tableBits {
		if c.tables&(1<<i) != 0 {
			add(h.exact[TableWatch(t)])
		}
	}
	for name := range c.services {
		add(h.exact[ServiceWatch(name)])
	}
	for _, key := range c.kvKeys {
		add(h.exact[KVKeyWatch(key)])
		for _, n := range h.prefixLens {
			if n > len(key) {
				break
			}
			add(h.prefixes[key[:n]])
		}
	}
	if c.events {
		add(h.exact[EventsWatch()])
	}
	for _, set := range sets {
		h.fireLocked(set)
	}
}

// fireAll fires every watch (everything changed: a restore).
func (h *WatchHub) fireAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.exact {
		h.fireLocked(set)
	}
	for _, set := range h.prefixes {
		h.fireLocked(set)
	}
}

// closeHub fires every watch and makes later ones fire at once.
func (h *WatchHub) closeHub() {
	h.fireAll()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// tableBits numbers the tables for changeSet.tables.
var tableBits = [...]string{TableNodes, TableServices, TableChecks, TableKV, TableSessions, TableMembers}

// changeSet is what one committed transaction changed, for the watch hub.
type changeSet struct {
	tables   uint8 // bit i: tableBits[i]
	services map[string]struct{}
	kvKeys   []string
	events   bool
}

func (c *changeSet) empty() bool {
	return c.tables == 0 && len(c.services) == 0 && len(c.kvKeys) == 0 && !c.events
}

func (c *changeSet) addTable(t string) {
	for i, name := range tableBits {
		if name == t {
			c.tables |= 1 << i
			return
		}
	}
}

func (c *changeSet) addService(name string) {
	if c.services == nil {
		c.services = make(map[string]struct{}, 2)
	}
	c.services[name] = struct{}{}
}

func (c *changeSet) addKV(key string) { c.kvKeys = append(c.kvKeys, key) }
