package catalog

import (
	"testing"
	"time"
)

// A restore that dies after dropping the old state leaves the applied
// index at 0, so Raft restores the snapshot again after the restart.
func TestInterruptedRestoreReadsZero(t *testing.T) {
	opts := DefaultOptions()
	opts.Dir = t.TempDir()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := Encode(&KVRequest{Op: KVSet, Entry: KVEntry{Key: "a", Value: []byte("1")}})
	if _, err := s.ApplyBatch([]Entry{{Index: 7, Time: time.Unix(1, 0), Data: data}}); err != nil {
		t.Fatal(err)
	}
	// Steps 1 and 2 of replaceAll, then "crash".
	if err := s.setAppliedSynced(0); err != nil {
		t.Fatal(err)
	}
	if err := s.db.DropAll(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.AppliedIndex(); got != 0 {
		t.Fatalf("AppliedIndex after an interrupted restore = %d, want 0", got)
	}
}
