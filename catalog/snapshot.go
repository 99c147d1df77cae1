package catalog

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"

	"github.com/dgraph-io/badger/v4"
)

// Snapshot stream format (version 1), all integers big-endian:
//
//	header  magic "BCNSNAP\x00" | version uint32 | applied index uint64
//	record  'R' | uvarint key length | key | uvarint value length | value   (repeated, in key order)
//	trailer 'E' | record count uint64 | SHA-256 of every byte before it
//
// The applied index travels in the header, not as a record.
const (
	snapMagic    = "BCNSNAP\x00"
	snapVersion  = 1
	snapRecord   = 'R'
	snapEnd      = 'E'
	maxSnapKey   = 65000    // Badger's key limit
	maxSnapValue = 64 << 20 // far above any value the store writes
)

// Snapshot is a consistent view of the catalog at one applied index, to be
// written out later. Close it when done; it must not be closed while
// WriteTo runs.
type Snapshot struct {
	s     *Store
	txn   *badger.Txn
	index uint64
	gen   uint64
}

// Snapshot captures the catalog at the current applied index. Call it from
// the apply goroutine; WriteTo may then run concurrently with further
// applies.
func (s *Store) Snapshot() (*Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	txn := s.db.NewTransaction(false)
	index, err := getU64(txn, []byte(keyApplied))
	if err != nil {
		txn.Discard()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &Snapshot{s: s, txn: txn, index: index, gen: s.gen}, nil
}

// Index returns the applied index the snapshot captures.
func (sn *Snapshot) Index() uint64 { return sn.index }

// Close releases the snapshot's view.
func (sn *Snapshot) Close() { sn.txn.Discard() }

// WriteTo writes the snapshot stream to w. It fails if the store was
// closed or restored since the snapshot was taken.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	s := sn.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.gen != sn.gen {
		return 0, fmt.Errorf("snapshot at index %d: the store was restored since it was taken", sn.index)
	}
	cw := &countingWriter{w: w}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(cw, h), 64<<10)
	bw.WriteString(snapMagic)
	bw.Write(binary.BigEndian.AppendUint32(nil, snapVersion))
	bw.Write(u64(sn.index))
	count, err := writeRecords(bw, sn.txn)
	if err != nil {
		return cw.n, fmt.Errorf("snapshot at index %d: %w", sn.index, err)
	}
	bw.WriteByte(snapEnd)
	bw.Write(u64(count))
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("snapshot at index %d: %w", sn.index, err)
	}
	if _, err := cw.Write(h.Sum(nil)); err != nil {
		return cw.n, fmt.Errorf("snapshot at index %d: %w", sn.index, err)
	}
	return cw.n, nil
}

// writeRecords writes every record of the logical state (eachRecord).
func writeRecords(bw *bufio.Writer, txn *badger.Txn) (uint64, error) {
	var count uint64
	err := eachRecord(txn, func(k, v []byte) error {
		bw.WriteByte(snapRecord)
		count++
		if count%256 == 0 {
			// A snapshot is background work that runs for a while; let the
			// write path's goroutines have the processor between records
			// (Go would preempt this one only after 10 ms).
			runtime.Gosched()
		}
		return writeKV(bw, k, v)
	})
	return count, err
}

// eachRecord calls fn with every key and value of the logical state: all
// but the applied index. Snapshots carry exactly these and Hash covers
// them.
func eachRecord(txn *badger.Txn, fn func(k, v []byte) error) error {
	// No prefetching: it copies every value into a fresh buffer, while
	// Item.Value hands fn the value where it lies.
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if string(k) == keyApplied {
			continue
		}
		if err := item.Value(func(v []byte) error { return fn(k, v) }); err != nil {
			return err
		}
	}
	return nil
}

// writeKV writes k and then v, each after its length as a uvarint.
func writeKV(w io.Writer, k, v []byte) error {
	var n [binary.MaxVarintLen64]byte
	for _, b := range [][]byte{k, v} {
		if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))]); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// snapReader parses and checks a snapshot stream.
type snapReader struct {
	r     *bufio.Reader
	h     hash.Hash
	index uint64
	count uint64
}

func snapCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruptSnapshot, fmt.Sprintf(format, args...))
}

// newSnapReader reads and checks the stream's header.
func newSnapReader(r io.Reader) (*snapReader, error) {
	sr := &snapReader{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}
	hdr, err := sr.read(len(snapMagic) + 12)
	if err != nil {
		return nil, err
	}
	if string(hdr[:len(snapMagic)]) != snapMagic {
		return nil, snapCorrupt("not a catalog snapshot (bad magic)")
	}
	if v := binary.BigEndian.Uint32(hdr[len(snapMagic):]); v != snapVersion {
		return nil, snapCorrupt("unknown snapshot version %d", v)
	}
	sr.index = binary.BigEndian.Uint64(hdr[len(snapMagic)+4:])
	return sr, nil
}

// read reads n bytes into the checksum.
func (sr *snapReader) read(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(sr.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, snapCorrupt("truncated")
		}
		return nil, err
	}
	sr.h.Write(b)
	return b, nil
}

func (sr *snapReader) readLen(limit uint64) (int, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		b, err := sr.read(1)
		if err != nil {
			return 0, err
		}
		buf[i] = b[0]
		if b[0] < 0x80 {
			n, _ := binary.Uvarint(buf[:i+1])
			if n > limit {
				return 0, snapCorrupt("record length %d exceeds %d", n, limit)
			}
			return int(n), nil
		}
	}
	return 0, snapCorrupt("bad record length")
}

// next returns the next record, or io.EOF after a trailer that checks out.
func (sr *snapReader) next() (key, val []byte, err error) {
	tag, err := sr.read(1)
	if err != nil {
		return nil, nil, err
	}
	switch tag[0] {
	case snapEnd:
		return nil, nil, sr.trailer()
	case snapRecord:
	default:
		return nil, nil, snapCorrupt("bad record tag %#x", tag[0])
	}
	n, err := sr.readLen(maxSnapKey)
	if err == nil {
		key, err = sr.read(n)
	}
	if err == nil {
		n, err = sr.readLen(maxSnapValue)
	}
	if err == nil {
		val, err = sr.read(n)
	}
	sr.count++
	return key, val, err
}

// trailer checks the record count, the checksum and the end of the stream.
func (sr *snapReader) trailer() error {
	b, err := sr.read(8)
	if err != nil {
		return err
	}
	if n := binary.BigEndian.Uint64(b); n != sr.count {
		return snapCorrupt("trailer counts %d records, read %d", n, sr.count)
	}
	want := sr.h.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(sr.r, got); err != nil {
		return snapCorrupt("truncated checksum")
	}
	if !bytes.Equal(got, want) {
		return snapCorrupt("checksum mismatch")
	}
	switch _, err := sr.r.ReadByte(); {
	case err == nil:
		return snapCorrupt("data after the trailer")
	case !errors.Is(err, io.EOF):
		return err
	}
	return io.EOF
}
