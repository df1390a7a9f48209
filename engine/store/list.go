package store

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Query selects journaled messages for the message browser. Empty fields
// do not filter.
type Query struct {
	// Before lists messages with a smaller sequence number (paging: the
	// last Seq of the previous page); 0 starts at the newest.
	Before uint64
	// Patient is a partition key (PID-3 identifier^authority): read from
	// the patient index instead of the journal.
	Patient   string
	ControlID string
	Sender    string // prefix of "MSH-3|MSH-4"
	Type      string // prefix of MSH-9, e.g. ADT or ADT^A01
	Status    Status // 0: any
	From, To  time.Time
	// Scan bounds how many journal records one call may read (the filters
	// are applied to records as they are read); 0 means 100,000.
	Scan int
}

// List calls fn for each message matching q, newest first, without the
// raw message, until fn returns false or the scan budget is spent. It
// returns the sequence number to pass as Before for the next page (0 when
// the journal's start was reached).
func (s *DB) List(q Query, fn func(*Record) bool) (next uint64, err error) {
	budget := q.Scan
	if budget <= 0 {
		budget = 100000
	}
	match := func(r *Record) bool {
		return (q.ControlID == "" || r.ControlID == q.ControlID) &&
			(q.Sender == "" || strings.HasPrefix(r.Sender, q.Sender)) &&
			(q.Type == "" || strings.HasPrefix(r.Type, q.Type)) &&
			(q.Status == 0 || r.Status == q.Status) &&
			(q.From.IsZero() || !r.Received.Before(q.From)) &&
			(q.To.IsZero() || !r.Received.After(q.To))
	}
	if q.Patient != "" {
		return s.listPatient(q, budget, match, fn)
	}
	upper := []byte{tJournal + 1}
	if q.Before > 0 {
		upper = seqKey(tJournal, q.Before)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tJournal}, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		seq := beUint64(it.Key()[1:])
		if budget == 0 {
			return seq + 1, nil
		}
		budget--
		r, err := decodeHead(seq, it.Value())
		if err != nil {
			return 0, err
		}
		if match(r) && !fn(r) {
			return seq, nil
		}
	}
	return 0, it.Error()
}

func (s *DB) listPatient(q Query, budget int, match func(*Record) bool, fn func(*Record) bool) (uint64, error) {
	prefix := append(key(tPatient, q.Patient), 0)
	upper := prefixEnd(prefix)
	if q.Before > 0 {
		upper = be64(bytes.Clone(prefix), q.Before)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		seq := beUint64(it.Key()[len(prefix):])
		if budget == 0 {
			return seq + 1, nil
		}
		budget--
		v, closer, err := s.db.Get(seqKey(tJournal, seq))
		if err != nil {
			continue // pruned since
		}
		r, err := decodeHead(seq, v)
		closer.Close()
		if err != nil {
			return 0, err
		}
		if match(r) && !fn(r) {
			return seq, nil
		}
	}
	return 0, it.Error()
}

// Head reads journaled message seq without its raw message (for the
// metadata a delivery carries: sender, control id, type).
func (s *DB) Head(seq uint64) (*Record, error) {
	v, closer, err := s.db.Get(seqKey(tJournal, seq))
	if err != nil {
		return nil, fmt.Errorf("journal read %d: %w", seq, err)
	}
	defer closer.Close()
	return decodeHead(seq, v)
}
