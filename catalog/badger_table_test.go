package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Badger patch 5 (third_party/badger/BEACON.md) writes a new table with
// write(2) instead of copying it into a mapping. A table it writes must
// read back whole, with its checksums verified, after a reopen from disk;
// and creating a table over an existing file must still fail.
func TestBadgerTableWrittenByWriteReadsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		comp options.CompressionType
	}{
		{"one key", 1, options.None},
		{"many blocks", 20000, options.None},
		{"many blocks, compressed", 20000, options.ZSTD},
		{"values past the 1 MiB write buffer", 600, options.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := table.Options{
				BlockSize:          4 << 10,
				BloomFalsePositive: 0.01,
				Compression:        tc.comp,
				ChkMode:            options.OnTableAndBlockRead,
			}
			value := func(i int) []byte {
				v := fmt.Sprintf("value-%d-", i)
				if strings.Contains(tc.name, "past") {
					v += strings.Repeat("x", 8<<10) // 600 × 8 KiB ≈ 4.7 MiB
				}
				return []byte(v)
			}
			b := table.NewTableBuilder(opts)
			for i := range tc.n {
				b.Add(y.KeyWithTs(fmt.Appendf(nil, "key-%08d", i), 1), y.ValueStruct{Value: value(i), Meta: 1}, 0)
			}
			path := filepath.Join(t.TempDir(), "000001.sst")
			tbl, err := table.CreateTable(path, b)
			b.Close()
			if err != nil {
				t.Fatalf("CreateTable: %v", err)
			}
			size := tbl.Size()
			if err := tbl.Close(-1); err != nil { // unmaps; DecrRef would delete the file
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != size {
				t.Fatalf("file after CreateTable: %v, size %v, want %d", err, fi, size)
			}

			mf, err := z.OpenMmapFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err = table.OpenTable(mf, opts)
			if err != nil {
				t.Fatalf("OpenTable of the written file: %v", err)
			}
			defer func() { _ = tbl.DecrRef() }()
			it := tbl.NewIterator(0)
			defer it.Close()
			i := 0
			for it.Rewind(); it.Valid(); it.Next() {
				wantKey := fmt.Appendf(nil, "key-%08d", i)
				if got := y.ParseKey(it.Key()); !bytes.Equal(got, wantKey) {
					t.Fatalf("key %d = %q, want %q", i, got, wantKey)
				}
				if got := it.Value().Value; !bytes.Equal(got, value(i)) {
					t.Fatalf("value of key %d = %.40q…, want %.40q…", i, got, value(i))
				}
				i++
			}
			if i != tc.n {
				t.Fatalf("read back %d keys, want %d", i, tc.n)
			}

			b = table.NewTableBuilder(opts)
			defer b.Close()
			b.Add(y.KeyWithTs([]byte("k"), 1), y.ValueStruct{Value: []byte("v")}, 0)
			if _, err := table.CreateTable(path, b); err == nil || !strings.Contains(err.Error(), "file already exists") {
				t.Fatalf("CreateTable over an existing file: err = %v, want file already exists", err)
			}
		})
	}
}
