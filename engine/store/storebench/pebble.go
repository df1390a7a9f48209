package storebench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Everything in one pebble keyspace, one table prefix byte per kind:
//
//	j seq            -> journal value (header + raw)
//	t time seq       -> ""   (index by receive time)
//	c ctrl 0 seq     -> ""   (index by control id)
//	p pid 0 seq      -> ""   (index by patient id)
//	o dest seq       -> ""   (outbox: pending deliveries)
//	s seq dest       -> status byte
const (
	pJournal = 'j'
	pTime    = 't'
	pCtrl    = 'c'
	pPid     = 'p'
	pOutbox  = 'o'
	pStatus  = 's'
)

type pebbleStore struct {
	db  *pebble.DB
	key []byte
	val []byte
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func pebbleOptions() *pebble.Options {
	return &pebble.Options{
		Logger: quietLogger{},
		// 32 MB memtables instead of the 4 MB default: fewer, larger flushes
		// for a write-mostly journal. The only tuning applied.
		MemTableSize:       32 << 20,
		FormatMajorVersion: pebble.FormatNewest,
	}
}

func openPebble(dir string) (Store, error) {
	db, err := pebble.Open(dir, pebbleOptions())
	if err != nil {
		return nil, err
	}
	return &pebbleStore{db: db}, nil
}

func openPebbleVsep(dir string) (Store, error) {
	o := pebbleOptions()
	o.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           1024,
			MaxBlobReferenceDepth: 10,
			RewriteMinimumAge:     0,
			TargetGarbageRatio:    0.2,
		}
	}
	db, err := pebble.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &pebbleStore{db: db}, nil
}

func (s *pebbleStore) Commit(msgs []*Msg, ds []Delivery) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, m := range msgs {
		s.key = be64(append(s.key[:0], pJournal), m.Seq)
		s.val = encodeJournal(s.val[:0], m)
		if err := b.Set(s.key, s.val, nil); err != nil {
			return err
		}
		// Batch.Set copies, so s.key is reused key after key.
		if err := b.Set(timeKey(append(s.key[:0], pTime), m.Time, m.Seq), nil, nil); err != nil {
			return err
		}
		if err := b.Set(strSeqKey(append(s.key[:0], pCtrl), m.ControlID, m.Seq), nil, nil); err != nil {
			return err
		}
		if err := b.Set(strSeqKey(append(s.key[:0], pPid), m.PatientID, m.Seq), nil, nil); err != nil {
			return err
		}
		for d := uint8(0); d < NumDests; d++ {
			if err := b.Set(outboxKey(append(s.key[:0], pOutbox), d, m.Seq), nil, nil); err != nil {
				return err
			}
			if err := b.Set(statusKey(append(s.key[:0], pStatus), m.Seq, d), []byte{StatusPending}, nil); err != nil {
				return err
			}
		}
	}
	for _, d := range ds {
		if err := b.Delete(outboxKey(append(s.key[:0], pOutbox), d.Dest, d.Seq), nil); err != nil {
			return err
		}
		if err := b.Set(statusKey(append(s.key[:0], pStatus), d.Seq, d.Dest), []byte{StatusDelivered}, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (s *pebbleStore) LastSeq() (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pJournal}, UpperBound: []byte{pJournal + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	return binary.BigEndian.Uint64(it.Key()[1:]), nil
}

func (s *pebbleStore) Pending(fn func(dest uint8, seq uint64)) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pOutbox}, UpperBound: []byte{pOutbox + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		fn(k[1], binary.BigEndian.Uint64(k[2:]))
	}
	return it.Error()
}

func (s *pebbleStore) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if err == pebble.ErrNotFound {
		return nil, ErrMissing
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	return out, closer.Close()
}

func (s *pebbleStore) Verify(seq uint64) ([]byte, error) {
	v, err := s.get(be64([]byte{pJournal}, seq))
	if err != nil {
		return nil, fmt.Errorf("journal %d: %w", seq, err)
	}
	h, err := decodeJournal(v)
	if err != nil {
		return nil, err
	}
	for _, k := range [][]byte{
		timeKey([]byte{pTime}, h.time, seq),
		strSeqKey([]byte{pCtrl}, h.ctrl, seq),
		strSeqKey([]byte{pPid}, h.pid, seq),
		statusKey([]byte{pStatus}, seq, 0),
		statusKey([]byte{pStatus}, seq, 1),
	} {
		if _, err := s.get(k); err != nil {
			return nil, fmt.Errorf("seq %d key %q: %w", seq, k[:1], err)
		}
	}
	return h.raw, nil
}

func (s *pebbleStore) Status(seq uint64, dest uint8) (byte, error) {
	v, err := s.get(statusKey([]byte{pStatus}, seq, dest))
	if err == ErrMissing {
		return StatusNone, nil
	}
	if err != nil || len(v) == 0 {
		return StatusNone, err
	}
	return v[0], nil
}

// DeleteBefore range-deletes the journal, status and outbox spans (one
// tombstone each) and point-deletes the index entries, whose keys it reads
// from the journal headers.
func (s *pebbleStore) DeleteBefore(cutoff uint64) error {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{pJournal},
		UpperBound: be64([]byte{pJournal}, cutoff),
	})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	var k []byte
	for it.First(); it.Valid(); it.Next() {
		seq := binary.BigEndian.Uint64(it.Key()[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			break
		}
		h, err := decodeJournal(v)
		if err != nil {
			it.Close()
			return err
		}
		_ = b.Delete(timeKey(append(k[:0], pTime), h.time, seq), nil)
		_ = b.Delete(strSeqKey(append(k[:0], pCtrl), h.ctrl, seq), nil)
		_ = b.Delete(strSeqKey(append(k[:0], pPid), h.pid, seq), nil)
		if b.Count() >= 30000 {
			if err := b.Commit(pebble.NoSync); err != nil {
				it.Close()
				return err
			}
			b.Reset()
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	_ = b.DeleteRange([]byte{pJournal}, be64([]byte{pJournal}, cutoff), nil)
	_ = b.DeleteRange([]byte{pStatus}, be64([]byte{pStatus}, cutoff), nil)
	for d := uint8(0); d < NumDests; d++ {
		_ = b.DeleteRange([]byte{pOutbox, d}, be64([]byte{pOutbox, d}, cutoff), nil)
	}
	err = b.Commit(pebble.Sync)
	b.Close()
	return err
}

// Reclaim forces a compaction of the whole keyspace. Pebble frees the files
// covered by range tombstones on its own (delete-only compactions); the
// measurement reports the size before and after this call.
func (s *pebbleStore) Reclaim() error {
	return s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

func (s *pebbleStore) Close() error { return s.db.Close() }
