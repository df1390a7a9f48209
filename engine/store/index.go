package store

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// The message browser's indexes, beside the patient index that routing
// writes: by message type, sender, control id, and the statuses and
// outcomes an operator looks for (rejected, duplicate; unrouted, failed,
// skipped). Each entry is a key ending in the message's sequence number,
// so one index reads newest first like the journal. The type and sender
// indexes hold two entries per message, the whole value and its first
// component (ADT and ADT^A01; EPIC and EPIC|HOSP), which are the filters
// the browser offers; any other filter is applied to what an index or the
// journal yields.
//
// The ingest entries are written in the journal's group commit, the
// outcome entry with the routing; Prune deletes them with the message.

// indexVersion is stored under meta "index" once a store has the
// indexes for all its messages (see backfill).
const indexVersion = 1

// forIngestIndexes calls fn with each index key of r (a reused buffer,
// valid during the call: pebble copies keys into its batches).
func forIngestIndexes(r *Record, buf []byte, fn func(k []byte) error) ([]byte, error) {
	str := func(t byte, v string) error {
		if v == "" {
			return nil
		}
		buf = append(append(append(buf[:0], t), v...), 0)
		buf = be64(buf, r.Seq)
		return fn(buf)
	}
	if r.Type != "" && r.Type != "^" {
		if i := strings.IndexByte(r.Type, '^'); i > 0 {
			if err := str(tByType, r.Type[:i]); err != nil {
				return buf, err
			}
		}
		if err := str(tByType, r.Type); err != nil {
			return buf, err
		}
	}
	if r.Sender != "" && r.Sender != "|" {
		if i := strings.IndexByte(r.Sender, '|'); i > 0 {
			if err := str(tBySender, r.Sender[:i]); err != nil {
				return buf, err
			}
		}
		if err := str(tBySender, r.Sender); err != nil {
			return buf, err
		}
	}
	if err := str(tByControl, r.ControlID); err != nil {
		return buf, err
	}
	if r.Status != Accepted && r.Status != 0 {
		buf = be64(append(buf[:0], tByStatus, byte(r.Status)), r.Seq)
		if err := fn(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// outcomeIndexKey is the index entry of a message whose outcome is not
// Routed (nil for Routed: the browser looks for the others).
func outcomeIndexKey(state OutcomeState, seq uint64) []byte {
	if state == Routed || state == 0 {
		return nil
	}
	return be64([]byte{tByOutcome, byte(state)}, seq)
}

// indexFor picks the index that answers q with the fewest reads: the
// prefix of its keys, or nil to read the journal.
func indexFor(q Query) []byte {
	switch {
	case q.Patient != "":
		return append(key(tPatient, q.Patient), 0)
	case q.ControlID != "":
		return append(key(tByControl, q.ControlID), 0)
	case q.Status != 0 && q.Status != Accepted:
		return []byte{tByStatus, byte(q.Status)}
	case q.Outcome != 0 && q.Outcome != Routed:
		return []byte{tByOutcome, byte(q.Outcome)}
	case q.Type != "":
		return append(key(tByType, q.Type), 0)
	case q.Sender != "":
		return append(key(tBySender, q.Sender), 0)
	}
	return nil
}

// backfill writes the browser indexes of the messages journaled before
// the store had them, once (a store made by an earlier version).
func (s *DB) backfill() error {
	v, closer, err := s.db.Get(key(tMeta, "index"))
	if err == nil {
		done := len(v) == 1 && v[0] >= indexVersion
		closer.Close()
		if done {
			return nil
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tJournal}, UpperBound: []byte{tJournal + 1}})
	if err != nil {
		return fmt.Errorf("index backfill: %w", err)
	}
	defer it.Close()
	b := s.db.NewBatch()
	defer func() { b.Close() }()
	var buf []byte
	for ok := it.First(); ok; ok = it.Next() {
		seq := beUint64(it.Key()[1:])
		r, err := decodeHead(seq, it.Value())
		if err != nil {
			return fmt.Errorf("index backfill: %w", err)
		}
		if buf, err = forIngestIndexes(r, buf, func(k []byte) error { return b.Set(k, nil, nil) }); err != nil {
			return err
		}
		if o, err := s.Outcome(seq); err == nil {
			if k := outcomeIndexKey(o.State, seq); k != nil {
				if err := b.Set(k, nil, nil); err != nil {
					return err
				}
			}
		}
		if b.Len() > 4<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				return fmt.Errorf("index backfill: %w", err)
			}
			b.Close()
			b = s.db.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("index backfill: %w", err)
	}
	if err := b.Set(key(tMeta, "index"), []byte{indexVersion}, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index backfill: %w", err)
	}
	return nil
}

// seqOfIndexKey is the sequence number an index key ends with.
func seqOfIndexKey(k []byte) uint64 { return beUint64(k[len(k)-8:]) }
