package store

import (
	"bytes"
	"errors"
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
	// Patient is a partition key (PID-3 identifier^authority).
	Patient   string
	ControlID string
	// Sender is MSH-3, or MSH-3|MSH-4.
	Sender string
	// Type is MSH-9.1 (ADT) or MSH-9.1^MSH-9.2 (ADT^A01).
	Type    string
	Status  Status       // 0: any
	Outcome OutcomeState // 0: any
	From    time.Time
	To      time.Time
	// Scan bounds how many records one call may read (the filters are
	// applied to records as they are read); 0 means 100,000.
	Scan int
}

// fromSlack is how far out of order receive times can be in the journal:
// a record is numbered when its group commits, after it was received, and
// a sender held back by backpressure may wait. A newest-first read stops
// once it is this far before From.
const fromSlack = 10 * time.Minute

// List calls fn for each message matching q, newest first, without the
// raw message, until fn returns false or the scan budget is spent. It
// returns the sequence number to pass as Before for the next page (0 when
// the start was reached). It reads the most selective index that q names
// (patient, control id, a status other than accepted, an outcome other
// than routed, type, sender), else the journal, and applies the other
// filters to what it reads.
func (s *DB) List(q Query, fn func(*Record) bool) (next uint64, err error) {
	budget := q.Scan
	if budget <= 0 {
		budget = 100000
	}
	prefix := indexFor(q)
	if prefix == nil {
		prefix = []byte{tJournal}
	}
	upper := prefixEnd(prefix)
	if q.Before > 0 {
		upper = be64(bytes.Clone(prefix), q.Before)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	defer it.Close()
	journal := prefix[0] == tJournal
	for ok := it.Last(); ok; ok = it.Prev() {
		seq := seqOfIndexKey(it.Key())
		if budget == 0 {
			return seq + 1, nil
		}
		budget--
		var r *Record
		if journal {
			r, err = decodeHead(seq, it.Value())
		} else {
			r, err = s.Head(seq)
			if errors.Is(err, pebble.ErrNotFound) {
				continue // pruned since
			}
		}
		if err != nil {
			return 0, err
		}
		if !q.From.IsZero() && r.Received.Before(q.From.Add(-fromSlack)) {
			return 0, nil
		}
		ok, err := s.matches(q, r)
		if err != nil {
			return 0, err
		}
		if ok && !fn(r) {
			return seq, nil
		}
	}
	return 0, it.Error()
}

func (s *DB) matches(q Query, r *Record) (bool, error) {
	ok := (q.ControlID == "" || r.ControlID == q.ControlID) &&
		(q.Sender == "" || r.Sender == q.Sender || strings.HasPrefix(r.Sender, q.Sender+"|")) &&
		(q.Type == "" || r.Type == q.Type || strings.HasPrefix(r.Type, q.Type+"^")) &&
		(q.Status == 0 || r.Status == q.Status) &&
		(q.From.IsZero() || !r.Received.Before(q.From)) &&
		(q.To.IsZero() || !r.Received.After(q.To))
	if !ok || q.Outcome == 0 {
		return ok, nil
	}
	o, err := s.Outcome(r.Seq)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil // not routed (yet), or rejected
	}
	if err != nil {
		return false, err
	}
	return o.State == q.Outcome, nil
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
