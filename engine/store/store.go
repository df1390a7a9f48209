// Package store is the engine's embedded store: the journal of every inbound
// message, the outcome of routing it, the converted bodies, the outbox of
// pending deliveries per destination, the delivery status of each (message,
// route, destination) and the indexes the message browser reads.
//
// It sits on pebble (an LSM key-value store with a write-ahead log), chosen
// by engine/store/storebench (see its README for the numbers). Only the
// journal append is synced before it returns: it is what the ACK promises.
// Every later write (routing, delivery status) is applied without waiting
// for a sync; pebble's WAL is sequential, so those writes become durable with
// the next synced append, and losing the tail of them in a power cut only
// means a message is routed or delivered again, which at-least-once delivery
// allows (receivers drop duplicates by the idempotency key).
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Status is what ingest made of an inbound message.
type Status uint8

const (
	// Accepted messages were ACKed (AA/CA) and are routed.
	Accepted Status = 1 + iota
	// Rejected messages were NAKed (unparseable, unsupported, too large)
	// and are kept only for the browser.
	Rejected
	// Duplicate messages repeat the sender and control id of an accepted
	// message within the dedupe window: a sender's retry after a lost ACK.
	Duplicate
)

func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	case Duplicate:
		return "duplicate"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Record is one inbound message as journaled.
type Record struct {
	Seq      uint64
	Received time.Time
	Listener string
	Remote   string
	// Sender is MSH-3 and MSH-4 (sending application and facility), the
	// namespace of ControlID for duplicate detection.
	Sender      string
	ControlID   string
	Type        string // MSH-9: ADT^A01
	Version     string
	Status      Status
	Reason      string // why it was rejected
	DuplicateOf uint64 // the earlier message's Seq
	// Route is set for duplicates that are routed anyway (DedupeProcess).
	Route bool
	Raw   []byte

	// Policy, when set, is this record's duplicate handling instead of
	// the store's (a listener's own).
	Policy *DedupePolicy

	// set by Append's look in the store before the record is queued
	ck        []byte // the control-id index key, built once per append
	checked   bool
	checkedAt uint64 // the last sequence number committed before that look
	dupOf     uint64
}

const recordFormat = 1

func (r *Record) encode(b []byte) []byte {
	e := enc{b}
	e.uvarint(recordFormat)
	e.uvarint(uint64(r.Received.UnixNano()))
	e.str(r.Listener)
	e.str(r.Remote)
	e.str(r.Sender)
	e.str(r.ControlID)
	e.str(r.Type)
	e.str(r.Version)
	e.uvarint(uint64(r.Status))
	e.str(r.Reason)
	e.uvarint(r.DuplicateOf)
	e.bytes(r.Raw)
	return e.b
}

func decodeRecord(seq uint64, b []byte) (*Record, error) {
	d := dec{b: b}
	r, err := decodeFields(seq, &d)
	if err != nil {
		return nil, err
	}
	r.Raw = bytes.Clone(d.bytes())
	if d.err != nil {
		return nil, fmt.Errorf("journal record %d: %w", seq, d.err)
	}
	return r, nil
}

// decodeHead decodes a journal record without its raw message.
func decodeHead(seq uint64, b []byte) (*Record, error) {
	d := dec{b: b}
	return decodeFields(seq, &d)
}

// decodeFields reads everything of a record but the raw message, which
// comes last.
func decodeFields(seq uint64, d *dec) (*Record, error) {
	if v := d.uvarint(); v != recordFormat && d.err == nil {
		return nil, fmt.Errorf("journal record %d: format %d unknown", seq, v)
	}
	r := &Record{Seq: seq}
	r.Received = time.Unix(0, int64(d.uvarint()))
	r.Listener = d.str()
	r.Remote = d.str()
	r.Sender = d.str()
	r.ControlID = d.str()
	r.Type = d.str()
	r.Version = d.str()
	r.Status = Status(d.uvarint())
	r.Reason = d.str()
	r.DuplicateOf = d.uvarint()
	if d.err != nil {
		return nil, fmt.Errorf("journal record %d: %w", seq, d.err)
	}
	return r, nil
}

// Dedupe says what Append does with a duplicate.
type Dedupe uint8

const (
	// DedupeOff checks nothing.
	DedupeOff Dedupe = iota
	// DedupeRecord journals the duplicate as such (the browser shows it)
	// and does not route it.
	DedupeRecord
	// DedupeIgnore does not journal it at all.
	DedupeIgnore
	// DedupeProcess journals it marked as a duplicate and routes it again.
	DedupeProcess
)

// DedupePolicy is how duplicates of one source are handled.
type DedupePolicy struct {
	Mode   Dedupe
	Window time.Duration
}

// policy is r's duplicate handling.
func (s *DB) policy(r *Record) (Dedupe, time.Duration) {
	if r.Policy != nil {
		return r.Policy.Mode, r.Policy.Window
	}
	return s.opts.Dedupe, s.opts.DedupeWindow
}

// Options tunes Open.
type Options struct {
	// Linger is how long a group commit waits for the messages still in
	// flight on other connections before it syncs (storebench: 100 us
	// nearly doubles throughput at 8 connections). 0 means 100 us; < 0 off.
	Linger time.Duration
	// DedupeWindow is how far back a control id counts as a duplicate.
	DedupeWindow time.Duration
	Dedupe       Dedupe
	Logger       *slog.Logger
	// Commit, when set, observes each group commit (size, latency).
	Commit func(items int, d time.Duration)
	// Writers, when set, says how many appends to expect at once (the
	// connections with a message in flight): a group lingers for them.
	Writers func() int
	// OnCommit, when set, gets each committed group's records in sequence
	// order, from the one goroutine that commits, before the appenders
	// return. It must not block or keep the slice (the records it may
	// keep). The engine hands them to its pipeline this way, in order,
	// without reading them back from the store.
	OnCommit func(recs []*Record)
}

// DB is the embedded store. It is safe for concurrent use.
type DB struct {
	db     *pebble.DB
	opts   Options
	c      *committer
	seq    atomic.Uint64 // last journal sequence number
	omu    sync.Mutex    // orders outbox sequence numbers with their writes
	oseq   uint64
	close  sync.Once
	closed atomic.Bool
}

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("store closed")

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(f string, a ...any)  { p.l.Debug(fmt.Sprintf(f, a...)) }
func (p pebbleLogger) Errorf(f string, a ...any) { p.l.Error(fmt.Sprintf(f, a...)) }
func (p pebbleLogger) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// Open opens (or creates) the store in dir and resumes its sequence
// numbers. Opening replays pebble's WAL, which after kill -9 holds every
// synced append.
func Open(dir string, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Microsecond
	}
	db, err := pebble.Open(dir, &pebble.Options{
		Logger: pebbleLogger{o.Logger.With("component", "pebble")},
		// Larger memtables than the 4 MB default: fewer flushes for a
		// write-mostly journal (the setting storebench measured).
		MemTableSize:       32 << 20,
		FormatMajorVersion: pebble.FormatNewest,
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s := &DB{db: db, opts: o}
	last, err := s.lastKey([]byte{tJournal})
	if err != nil {
		db.Close()
		return nil, err
	}
	s.seq.Store(last)
	if v, closer, err := db.Get(key(tMeta, "oseq")); err == nil {
		d := dec{b: v}
		s.oseq = d.uvarint()
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		db.Close()
		return nil, fmt.Errorf("open store: read outbox sequence: %w", err)
	}
	if err := s.backfill(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.c = newCommitter(s)
	s.c.recent.floor = last
	return s, nil
}

// lastKey returns the big-endian number after prefix in the last key with
// that prefix, 0 when there is none.
func (s *DB) lastKey(prefix []byte) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()[len(prefix):]
	if len(k) != 8 {
		return 0, fmt.Errorf("store: key %q: %w", it.Key(), errCorrupt)
	}
	return beUint64(k), nil
}

func beUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// LastSeq is the sequence number of the last journaled message.
func (s *DB) LastSeq() uint64 { return s.seq.Load() }

// Close waits for queued appends, makes every write durable and closes.
func (s *DB) Close() error {
	var err error
	s.close.Do(func() {
		s.closed.Store(true)
		s.c.close()
		// Routing and delivery writes were applied without a sync; sync
		// them now so that a clean stop redelivers nothing.
		if e := s.db.LogData(nil, pebble.Sync); e != nil {
			err = fmt.Errorf("close store: sync: %w", e)
		}
		if e := s.db.Close(); e != nil && err == nil {
			err = fmt.Errorf("close store: %w", e)
		}
	})
	return err
}

// controlKey is r's key in the control-id index.
func (r *Record) controlKey() []byte {
	if r.ck == nil {
		r.ck = key(tControl, r.Sender, r.ControlID)
	}
	return r.ck
}

// Append journals r durably and returns once it is synced, with r.Seq set
// (and r.Status set to Duplicate when it repeats an accepted message within
// the dedupe window; with DedupeIgnore such a record is not written and
// r.Seq stays 0). Many concurrent Appends share one sync.
func (s *DB) Append(ctx context.Context, r *Record) error {
	if s.closed.Load() {
		return fmt.Errorf("journal append: %w", ErrClosed)
	}
	r.checked, r.dupOf, r.ck = false, 0, nil
	if mode, window := s.policy(r); mode != DedupeOff && r.Status == Accepted && r.ControlID != "" {
		r.checkedAt = s.seq.Load()
		prev, err := s.lookupControl(r.controlKey(), r.Received, window)
		if err != nil {
			return fmt.Errorf("journal append: %w", err)
		}
		r.checked, r.dupOf = true, prev
	}
	if err := s.c.submit(ctx, r); err != nil {
		return fmt.Errorf("journal append: %w", err)
	}
	return nil
}

// Record reads the journaled message seq.
func (s *DB) Record(seq uint64) (*Record, error) {
	v, closer, err := s.db.Get(seqKey(tJournal, seq))
	if err != nil {
		return nil, fmt.Errorf("journal read %d: %w", seq, err)
	}
	defer closer.Close()
	return decodeRecord(seq, v)
}

// Pending returns up to max sequence numbers after after of messages that
// were accepted and not yet routed, in order.
func (s *DB) Pending(after uint64, max int) ([]uint64, error) {
	lo := seqKey(tPending, after+1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tPending + 1}})
	if err != nil {
		return nil, fmt.Errorf("pending scan: %w", err)
	}
	defer it.Close()
	var out []uint64
	for ok := it.First(); ok && len(out) < max; ok = it.Next() {
		out = append(out, beUint64(it.Key()[1:]))
	}
	return out, it.Error()
}

// Journal calls fn for each journaled record from seq from on, in order,
// until fn returns false (for the browser and replay).
func (s *DB) Journal(from uint64, fn func(*Record) bool) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(tJournal, from), UpperBound: []byte{tJournal + 1}})
	if err != nil {
		return fmt.Errorf("journal scan: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		r, err := decodeRecord(beUint64(it.Key()[1:]), it.Value())
		if err != nil {
			return err
		}
		if !fn(r) {
			break
		}
	}
	return it.Error()
}
