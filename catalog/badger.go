package catalog

import (
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// BadgerTuning sizes a Badger database. Zero fields take the small-machine
// defaults of DefaultBadgerTuning, so a server with little data uses little
// memory; raise them on a big machine with a big catalog.
type BadgerTuning struct {
	MemTableSize     int64 // bytes per memtable
	NumMemtables     int   // memtables held in memory before writes stall
	BlockCacheSize   int64 // bytes of block cache (0 takes the default; DisableBlockCache turns it off)
	IndexCacheSize   int64 // bytes of index cache; 0 keeps all indexes in memory
	NumCompactors    int   // background compaction workers (0 or at least 2)
	ValueLogFileSize int64 // bytes per value log file
	ValueThreshold   int64 // values at least this large go to the value log
	NumL0Tables      int   // level-0 tables before compaction starts
	// DisableBlockCache runs without a block cache, and so without block
	// compression: Badger keeps decompressed blocks only in that cache and
	// refuses compressed tables without one.
	DisableBlockCache bool
}

// DefaultBadgerTuning returns the defaults: 16 MiB memtables (two of them),
// a 16 MiB block cache, two compactors and 64 MiB value log files.
func DefaultBadgerTuning() BadgerTuning {
	return BadgerTuning{
		MemTableSize:     16 << 20,
		NumMemtables:     2,
		BlockCacheSize:   16 << 20,
		IndexCacheSize:   0,
		NumCompactors:    2,
		ValueLogFileSize: 64 << 20,
		ValueThreshold:   4 << 10,
		NumL0Tables:      4,
	}
}

// Validate reports a tuning Badger would reject.
func (t BadgerTuning) Validate() error {
	if t.NumCompactors == 1 {
		return invalid("NumCompactors", "must be 0 or at least 2, got 1")
	}
	if t.MemTableSize < 0 || t.BlockCacheSize < 0 || t.IndexCacheSize < 0 || t.ValueLogFileSize < 0 {
		return invalid("BadgerTuning", "sizes must not be negative")
	}
	if t.ValueLogFileSize != 0 && (t.ValueLogFileSize < 1<<20 || t.ValueLogFileSize >= 2<<30) {
		return invalid("ValueLogFileSize", "must be in [1 MiB, 2 GiB), got %d", t.ValueLogFileSize)
	}
	return nil
}

// BadgerOptions returns Badger options for a database at dir (in memory
// when dir is ""), tuned by t with zero fields defaulted, logging through
// logger at warning level and above.
func (t BadgerTuning) BadgerOptions(dir string, logger *slog.Logger) badger.Options {
	d := DefaultBadgerTuning()
	pick := func(v, def int64) int64 {
		if v == 0 {
			return def
		}
		return v
	}
	o := badger.DefaultOptions(dir).
		WithInMemory(dir == "").
		WithMemTableSize(pick(t.MemTableSize, d.MemTableSize)).
		WithNumMemtables(int(pick(int64(t.NumMemtables), int64(d.NumMemtables)))).
		WithBlockCacheSize(pick(t.BlockCacheSize, d.BlockCacheSize)).
		WithIndexCacheSize(t.IndexCacheSize).
		WithNumCompactors(int(pick(int64(t.NumCompactors), int64(d.NumCompactors)))).
		WithValueLogFileSize(pick(t.ValueLogFileSize, d.ValueLogFileSize)).
		WithValueThreshold(pick(t.ValueThreshold, d.ValueThreshold)).
		WithNumLevelZeroTables(int(pick(int64(t.NumL0Tables), int64(d.NumL0Tables)))).
		WithNumLevelZeroTablesStall(int(pick(int64(t.NumL0Tables), int64(d.NumL0Tables))) * 3).
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{logger})
	if t.DisableBlockCache {
		o = o.WithBlockCacheSize(0).WithCompression(options.None)
	}
	return o
}

// badgerLogger forwards Badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
