package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

var snapshotCommands = []*command{{
	name:     "snapshot save",
	synopsis: "Saves a snapshot of the cluster's catalog to a file",
	usage:    "[options] FILE",
	help: `
  Downloads a snapshot of the catalog (GET /v1/snapshot), verifies it and
  writes it to FILE atomically (a temporary file renamed into place), then
  prints the index it was taken at.`,
	read: true,
	run:  runSnapshotSave,
}, {
	name:     "snapshot restore",
	synopsis: "Restores the cluster's catalog from a snapshot file",
	usage:    "[options] FILE",
	help: `
  Verifies FILE and uploads it (PUT /v1/snapshot): the whole cluster's catalog
  is replaced by the snapshot's.`,
	run: runSnapshotRestore,
}, {
	name:     "snapshot inspect",
	synopsis: "Describes a snapshot file",
	usage:    "[options] FILE",
	help: `
  Reads FILE locally (no agent needed) and prints the index it was taken at,
  its record count, format version, size, whether its checksum is valid, and
  the file's SHA-256.`,
	run: runSnapshotInspect,
}}

// The catalog snapshot stream (catalog/snapshot.go), all integers
// big-endian:
//
//	header  magic "BCNSNAP\x00" | version uint32 | applied index uint64
//	record  'R' | uvarint key length | key | uvarint value length | value
//	trailer 'E' | record count uint64 | SHA-256 of every byte before it
const (
	snapMagic    = "BCNSNAP\x00"
	snapVersion  = 1
	snapRecord   = 'R'
	snapEnd      = 'E'
	maxSnapKey   = 65000
	maxSnapValue = 64 << 20
)

// errBadSnapshot marks a file that is not a valid catalog snapshot.
var errBadSnapshot = errors.New("invalid snapshot")

// snapshotInfo is what "snapshot inspect" reports.
type snapshotInfo struct {
	Index    uint64
	Records  uint64
	Version  uint32
	Size     int64
	Valid    bool // the trailer's count and checksum match
	SHA256   string
	Problem  string `json:",omitempty"`
	complete bool   // the header was read
}

// snapScanner walks a snapshot stream without keeping its records.
type snapScanner struct {
	r   *bufio.Reader
	sum hash.Hash // the stream's checksum: every byte before it
}

// inspectSnapshot reads r to the end. It returns what it learned even when
// the stream is invalid (then err matches errBadSnapshot).
func inspectSnapshot(r io.Reader) (snapshotInfo, error) {
	var info snapshotInfo
	whole := sha256.New()
	counter := &countWriter{}
	sc := &snapScanner{r: bufio.NewReaderSize(io.TeeReader(r, io.MultiWriter(whole, counter)), 64<<10), sum: sha256.New()}
	err := sc.scan(&info)
	if _, derr := io.Copy(io.Discard, sc.r); derr != nil && err == nil {
		err = derr
	}
	info.Size = counter.n
	info.SHA256 = hex.EncodeToString(whole.Sum(nil))
	if errors.Is(err, errBadSnapshot) {
		info.Problem = err.Error()
	}
	info.Valid = err == nil
	return info, err
}

func (sc *snapScanner) scan(info *snapshotInfo) error {
	hdr, err := sc.read(len(snapMagic) + 12)
	if err != nil {
		return err
	}
	if string(hdr[:len(snapMagic)]) != snapMagic {
		return fmt.Errorf("%w: not a beacon catalog snapshot (bad magic)", errBadSnapshot)
	}
	info.Version = binary.BigEndian.Uint32(hdr[len(snapMagic):])
	info.Index = binary.BigEndian.Uint64(hdr[len(snapMagic)+4:])
	info.complete = true
	if info.Version != snapVersion {
		return fmt.Errorf("%w: unknown snapshot version %d", errBadSnapshot, info.Version)
	}
	for {
		tag, err := sc.read(1)
		if err != nil {
			return err
		}
		switch tag[0] {
		case snapEnd:
			return sc.trailer(info.Records)
		case snapRecord:
			if err := sc.record(); err != nil {
				return err
			}
			info.Records++
		default:
			return fmt.Errorf("%w: bad record tag %#x after %d records", errBadSnapshot, tag[0], info.Records)
		}
	}
}

// read reads n bytes into the checksum.
func (sc *snapScanner) read(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(sc.r, b); err != nil {
		return nil, truncated(err)
	}
	sc.sum.Write(b)
	return b, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", errBadSnapshot)
	}
	return err
}

// record skips one record's key and value, checksumming them.
func (sc *snapScanner) record() error {
	for _, limit := range []uint64{maxSnapKey, maxSnapValue} {
		n, err := sc.uvarint(limit)
		if err != nil {
			return err
		}
		if _, err := io.CopyN(sc.sum, sc.r, int64(n)); err != nil {
			return truncated(err)
		}
	}
	return nil
}

func (sc *snapScanner) uvarint(limit uint64) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		b, err := sc.read(1)
		if err != nil {
			return 0, err
		}
		buf[i] = b[0]
		if b[0] < 0x80 {
			n, _ := binary.Uvarint(buf[:i+1])
			if n > limit {
				return 0, fmt.Errorf("%w: record length %d exceeds %d", errBadSnapshot, n, limit)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: bad record length", errBadSnapshot)
}

// trailer checks the record count, the checksum and the end of the stream.
func (sc *snapScanner) trailer(records uint64) error {
	b, err := sc.read(8)
	if err != nil {
		return err
	}
	if n := binary.BigEndian.Uint64(b); n != records {
		return fmt.Errorf("%w: trailer counts %d records, read %d", errBadSnapshot, n, records)
	}
	want := sc.sum.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(sc.r, got); err != nil {
		return fmt.Errorf("%w: truncated checksum", errBadSnapshot)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: checksum mismatch", errBadSnapshot)
	}
	if _, err := sc.r.ReadByte(); err == nil {
		return fmt.Errorf("%w: data after the trailer", errBadSnapshot)
	} else if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// inspectFile runs inspectSnapshot on a file.
func inspectFile(path string) (snapshotInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return snapshotInfo{}, err
	}
	defer f.Close()
	return inspectSnapshot(f)
}

func runSnapshotInspect(inv *invocation, args []string) int {
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 1, 1); !ok {
		return code
	}
	info, err := inspectFile(args[0])
	if err != nil && !errors.Is(err, errBadSnapshot) {
		return inv.errorf("Error reading snapshot: %v", err)
	}
	if inv.json() {
		inv.printValue(info)
	} else {
		printSnapshotInfo(inv, info)
	}
	if err != nil {
		return inv.errorf("Error! %v", err)
	}
	return 0
}

func printSnapshotInfo(inv *invocation, info snapshotInfo) {
	tw := inv.table()
	if info.complete {
		row(tw, "Index", info.Index)
		row(tw, "Records", info.Records)
		row(tw, "Version", info.Version)
	}
	row(tw, "Size", info.Size)
	check := "valid"
	if !info.Valid {
		check = "INVALID: " + info.Problem
	}
	row(tw, "Checksum", check)
	row(tw, "SHA-256", info.SHA256)
	tw.Flush()
}

func runSnapshotSave(inv *invocation, args []string) int {
	args, c, code, ok := inv.start(args, 1, 1)
	if !ok {
		return code
	}
	resp, done, err := c.long().stream(http.MethodGet, "/v1/snapshot", inv.query(), nil)
	if err != nil {
		return inv.fail("saving snapshot", err)
	}
	defer done()
	info, err := saveAtomically(args[0], resp.Body)
	if err != nil {
		return inv.fail("saving snapshot", err)
	}
	inv.printf("Saved and verified snapshot to index %d\n", info.Index)
	return 0
}

// saveAtomically writes r to a temporary file next to path, verifies it
// and renames it to path; on failure nothing is left behind.
func saveAtomically(path string, r io.Reader) (info snapshotInfo, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return info, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return info, fmt.Errorf("downloading: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return info, err
	}
	if err = tmp.Close(); err != nil {
		return info, err
	}
	if info, err = inspectFile(tmp.Name()); err != nil {
		return info, fmt.Errorf("verifying: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return info, err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return info, nil
}

func runSnapshotRestore(inv *invocation, args []string) int {
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 1, 1); !ok {
		return code
	}
	if _, err := inspectFile(args[0]); err != nil {
		return inv.errorf("Error verifying snapshot file %s: %v", args[0], err)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return inv.errorf("Error opening snapshot file: %v", err)
	}
	defer f.Close()
	c := inv.client()
	if c == nil {
		return 1
	}
	_, done, err := c.long().stream(http.MethodPut, "/v1/snapshot", nil, f)
	if err != nil {
		return inv.fail("restoring snapshot", err)
	}
	done()
	inv.printf("Restored snapshot\n")
	return 0
}
