// Package storebench measures candidate embedded stores for engine/store.
//
// It is a separate module so that the candidates' dependencies stay out of the
// product's go.mod. Every candidate implements Store for the work an interface
// engine does per message, and every write method is one durable commit.
package storebench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Msg is one inbound message as ingest sees it after a cheap MSH read.
type Msg struct {
	Seq       uint64 // assigned by the committer, monotonically increasing
	Time      int64  // receive time, unix nanoseconds
	ControlID []byte // MSH-10
	PatientID []byte // PID-3 first identifier
	Raw       []byte // the message as received (2 KB here)
}

// NumDests is the number of destinations each message fans out to: one outbox
// entry and one status entry per destination.
const NumDests = 2

// Delivery marks message Seq as delivered to destination Dest.
type Delivery struct {
	Seq  uint64
	Dest uint8
}

// Status values per (message, destination).
const (
	StatusNone      byte = 0
	StatusPending   byte = 'P'
	StatusDelivered byte = 'D'
)

// Store is the work engine/store does per message, in the shape each candidate
// has to support.
type Store interface {
	// Commit writes, in one durable commit (one transaction, one fsync):
	// for every message, the journal record (seq -> raw), 3 index entries
	// (time+seq, control id+seq, patient id+seq), and per destination an
	// outbox entry (dest, seq) plus a status entry = pending; for every
	// delivery, the removal of (dest, seq) from the outbox and status =
	// delivered. Either slice may be empty.
	Commit(msgs []*Msg, ds []Delivery) error
	// LastSeq is the highest journaled sequence (0 when empty): where a
	// restarted engine continues numbering.
	LastSeq() (uint64, error)
	// Pending calls fn for every outbox entry, per destination in seq order:
	// what a restart has to resume.
	Pending(fn func(dest uint8, seq uint64)) error
	// Verify checks that seq is fully present (journal, 3 indexes, statuses)
	// and returns its raw bytes.
	Verify(seq uint64) (raw []byte, err error)
	// Status returns the status of (seq, dest).
	Status(seq uint64, dest uint8) (byte, error)
	// DeleteBefore is retention: drop every message with Seq < cutoff and
	// everything that refers to it.
	DeleteBefore(cutoff uint64) error
	// Reclaim does whatever the store needs to give freed space back to the
	// file system (compaction, vacuum, ...). It may be a no-op.
	Reclaim() error
	Close() error
}

// Candidate names a store implementation and how to open it in a directory.
type Candidate struct {
	Name string
	Open func(dir string) (Store, error)
	// Note says what one commit means for durability.
	Note string
}

// Candidates is the list measured, in report order.
var Candidates = []Candidate{
	{"segfile", openSegfile, "own segment files: write(2) of the group + fsync(2); CRC32C per record, torn tail truncated on open"},
	{"pebble", openPebble, "pebble batch.Commit(pebble.Sync): WAL append + fdatasync before return"},
	{"pebble-vsep", openPebbleVsep, "as pebble, with value separation (values >= 1 KB go to blob files at flush)"},
	{"bbolt", openBbolt, "bbolt tx.Commit with NoSync=false: write dirty pages + fdatasync, write meta page + fdatasync"},
	{"sqlite", openSQLite, "modernc SQLite journal_mode=WAL synchronous=FULL: WAL frames + fsync at COMMIT"},
}

// CandidateByName returns the named candidate.
func CandidateByName(name string) (Candidate, error) {
	for _, c := range Candidates {
		if c.Name == name {
			return c, nil
		}
	}
	return Candidate{}, fmt.Errorf("unknown candidate %q", name)
}

// ErrMissing is returned by Verify when something acknowledged is not there.
var ErrMissing = errors.New("missing")

// --- shared encoding for the key-value candidates ---

// The journal value: time(8) | len(ctrl)(1) | ctrl | len(pid)(1) | pid | raw.
func encodeJournal(dst []byte, m *Msg) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Time))
	dst = append(dst, byte(len(m.ControlID)))
	dst = append(dst, m.ControlID...)
	dst = append(dst, byte(len(m.PatientID)))
	dst = append(dst, m.PatientID...)
	return append(dst, m.Raw...)
}

type journalHeader struct {
	time      int64
	ctrl, pid []byte
	raw       []byte
}

func decodeJournal(v []byte) (h journalHeader, err error) {
	if len(v) < 10 {
		return h, errors.New("short journal record")
	}
	h.time = int64(binary.BigEndian.Uint64(v))
	v = v[8:]
	n := int(v[0])
	if len(v) < 1+n+1 {
		return h, errors.New("short journal record")
	}
	h.ctrl = v[1 : 1+n]
	v = v[1+n:]
	n = int(v[0])
	if len(v) < 1+n {
		return h, errors.New("short journal record")
	}
	h.pid = v[1 : 1+n]
	h.raw = v[1+n:]
	return h, nil
}

func be64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// Index keys (without a table prefix): time(8)|seq(8); ctrl|0|seq(8); pid|0|seq(8).
func timeKey(dst []byte, t int64, seq uint64) []byte {
	return be64(be64(dst, uint64(t)), seq)
}

func strSeqKey(dst, s []byte, seq uint64) []byte {
	dst = append(dst, s...)
	dst = append(dst, 0)
	return be64(dst, seq)
}

// Outbox key: dest(1)|seq(8). Status key: seq(8)|dest(1).
func outboxKey(dst []byte, dest uint8, seq uint64) []byte {
	return be64(append(dst, dest), seq)
}

func statusKey(dst []byte, seq uint64, dest uint8) []byte {
	return append(be64(dst, seq), dest)
}

// DirSize is the total size of the regular files under dir (apparent size)
// and the space they occupy on disk (allocated blocks).
func DirSize(dir string) (apparent, allocated int64) {
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		apparent += fi.Size()
		allocated += allocatedBytes(fi)
		return nil
	})
	return apparent, allocated
}

// DirFiles lists the files under dir with their sizes (for debugging reports).
func DirFiles(dir string) []string {
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s %d", rel, fi.Size()))
		return nil
	})
	sort.Strings(out)
	return out
}
