package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/beacon-sd/beacon/catalog"
)

// Readers, watchers and a snapshot writer run while the apply goroutine
// applies and restores; run with -race.
func TestConcurrentReadersDuringApplyAndRestore(t *testing.T) {
	src := newHarness(t)
	populate(src)
	snap := snapshotBytes(t, src.s)

	h := newHarness(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				w := h.s.Hub().Watch(catalog.KVPrefixWatch("k/"), catalog.ServiceWatch("web"))
				err := h.s.View(func(tx *catalog.ReadTx) error {
					entries, idx := tx.KVList("k/")
					if idx == 0 || entries == nil {
						return errors.New("bad list")
					}
					tx.ServiceHealth("web", "", false)
					_, _, err := tx.Events(0, 10)
					if err != nil && !errors.Is(err, catalog.ErrCompacted) {
						return err
					}
					return nil
				})
				w.Stop()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		h.ok(kvSet(fmt.Sprintf("k/%d", i%17), fmt.Sprint(i)))
		if i%50 == 25 {
			sn, err := h.s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer sn.Close()
				var buf bytes.Buffer
				sn.WriteTo(&buf) // may fail if a restore happened since: fine
			}()
		}
		if i%100 == 99 {
			if err := h.s.Restore(bytes.NewReader(snap)); err != nil {
				t.Fatal(err)
			}
			h.idx = h.s.AppliedIndex()
		}
	}
	close(stop)
	wg.Wait()
}

func TestSnapshotVoidAfterRestore(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("a", "1"))
	old, err := h.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var buf bytes.Buffer
	if _, err := old.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteTo(&bytes.Buffer{}); err == nil {
		t.Fatal("a snapshot taken before a restore was written after it")
	}
}

func TestClosedStore(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("a", "1"))
	w := h.s.Hub().Watch(catalog.KVKeyWatch("a"))
	sn, err := h.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("close did not wake watchers")
	}
	if err := h.s.View(func(*catalog.ReadTx) error { return nil }); !errors.Is(err, catalog.ErrClosed) {
		t.Fatalf("View after Close = %v", err)
	}
	if _, err := h.s.ApplyBatch([]catalog.Entry{h.entry(kvSet("b", "2"))}); !errors.Is(err, catalog.ErrClosed) {
		t.Fatalf("ApplyBatch after Close = %v", err)
	}
	if _, err := sn.WriteTo(&bytes.Buffer{}); !errors.Is(err, catalog.ErrClosed) {
		t.Fatalf("WriteTo after Close = %v", err)
	}
	if late := h.s.Hub().Watch(catalog.KVKeyWatch("a")); !fired(late) {
		t.Fatal("a watch made after Close never fires")
	}
}
