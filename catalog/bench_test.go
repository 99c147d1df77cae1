package catalog_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func BenchmarkApplyBatch(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 256)
	for _, size := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("kv-set/batch=%d", size), func(b *testing.B) {
			opts := catalog.DefaultOptions()
			opts.Dir = b.TempDir()
			s, err := catalog.Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Pre-encode one batch's worth of distinct keys per iteration.
			var idx uint64
			entries := make([]catalog.Entry, size)
			b.SetBytes(int64(size * (16 + len(value))))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j := range entries {
					idx++
					data, _ := catalog.Encode(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{
						Key: fmt.Sprintf("key-%011d", idx%100_000), Value: value}})
					entries[j] = catalog.Entry{Index: idx, Time: t0.Add(time.Duration(idx) * time.Millisecond), Data: data}
				}
				b.StartTimer()
				if _, err := s.ApplyBatch(entries); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/entry")
		})
	}
}

func BenchmarkServiceHealth(b *testing.B) {
	h := newHarness(b)
	for i := 0; i < 10; i++ {
		node := fmt.Sprintf("node-%02d", i)
		h.ok(regService(node, "web", "web-1", "v1"))
		h.ok(regCheck(node, "serfHealth", "", catalog.HealthPassing))
		h.ok(regCheck(node, "web-check", "web-1", catalog.HealthPassing))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := h.s.View(func(tx *catalog.ReadTx) error {
			res, _ := tx.ServiceHealth("web", "", true)
			if len(res) != 10 {
				b.Fatalf("%d instances", len(res))
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot streams a snapshot of 100,000 KV entries of 256 bytes
// and their 100,000 events (on disk, the memtables flushed by a reopen).
func BenchmarkSnapshot(b *testing.B) {
	opts := catalog.DefaultOptions()
	opts.Dir = b.TempDir()
	h := newHarnessOpts(b, opts)
	value := string(bytes.Repeat([]byte("v"), 256))
	batch := make([]catalog.Entry, 0, 256)
	for i := range 100_000 {
		data, err := catalog.Encode(kvSet(fmt.Sprintf("key-%011d", i), value))
		if err != nil {
			b.Fatal(err)
		}
		// A millisecond apart: all 100,000 events stay within retention.
		batch = append(batch, catalog.Entry{Index: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), Data: data})
		if len(batch) == cap(batch) {
			h.applyEntries(batch...)
			batch = batch[:0]
		}
	}
	h.applyEntries(batch...)
	if err := h.s.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := catalog.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		sn, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		n, err = sn.WriteTo(io.Discard)
		sn.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(n)
}
