package storebench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// One bbolt file, one bucket per kind, the same keys as the pebble layout
// without the prefix byte.
var (
	bJournal = []byte("journal")
	bTime    = []byte("by_time")
	bCtrl    = []byte("by_ctrl")
	bPid     = []byte("by_pid")
	bOutbox  = []byte("outbox")
	bStatus  = []byte("status")
	bBuckets = [][]byte{bJournal, bTime, bCtrl, bPid, bOutbox, bStatus}
)

type bboltStore struct {
	db   *bolt.DB
	path string
}

func bboltOptions() *bolt.Options {
	// etcd's settings: no freelist written at commit (rebuilt by a scan at
	// open), hashmap freelist. NoSync stays false: every commit fdatasyncs.
	return &bolt.Options{
		Timeout:        time.Second,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	}
}

func openBbolt(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "plexus.bolt")
	db, err := bolt.Open(path, 0o600, bboltOptions())
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range bBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &bboltStore{db: db, path: path}, nil
}

func (s *bboltStore) Commit(msgs []*Msg, ds []Delivery) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		j, t, c, p, o, st := tx.Bucket(bJournal), tx.Bucket(bTime), tx.Bucket(bCtrl), tx.Bucket(bPid), tx.Bucket(bOutbox), tx.Bucket(bStatus)
		// Append-only keys: fill pages completely instead of splitting at 50%.
		j.FillPercent, t.FillPercent = 1.0, 1.0
		for _, m := range msgs {
			// bbolt keeps references to key and value until commit: no reuse.
			if err := j.Put(be64(nil, m.Seq), encodeJournal(nil, m)); err != nil {
				return err
			}
			if err := t.Put(timeKey(nil, m.Time, m.Seq), nil); err != nil {
				return err
			}
			if err := c.Put(strSeqKey(nil, m.ControlID, m.Seq), nil); err != nil {
				return err
			}
			if err := p.Put(strSeqKey(nil, m.PatientID, m.Seq), nil); err != nil {
				return err
			}
			for d := uint8(0); d < NumDests; d++ {
				if err := o.Put(outboxKey(nil, d, m.Seq), nil); err != nil {
					return err
				}
				if err := st.Put(statusKey(nil, m.Seq, d), []byte{StatusPending}); err != nil {
					return err
				}
			}
		}
		for _, d := range ds {
			if err := o.Delete(outboxKey(nil, d.Dest, d.Seq)); err != nil {
				return err
			}
			if err := st.Put(statusKey(nil, d.Seq, d.Dest), []byte{StatusDelivered}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *bboltStore) LastSeq() (seq uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bJournal).Cursor().Last()
		if k != nil {
			seq = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return seq, err
}

func (s *bboltStore) Pending(fn func(dest uint8, seq uint64)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			fn(k[0], binary.BigEndian.Uint64(k[1:]))
		}
		return nil
	})
}

func (s *bboltStore) Verify(seq uint64) (raw []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bJournal).Get(be64(nil, seq))
		if v == nil {
			return fmt.Errorf("journal %d: %w", seq, ErrMissing)
		}
		h, err := decodeJournal(v)
		if err != nil {
			return err
		}
		checks := []struct {
			b []byte
			k []byte
		}{
			{bTime, timeKey(nil, h.time, seq)},
			{bCtrl, strSeqKey(nil, h.ctrl, seq)},
			{bPid, strSeqKey(nil, h.pid, seq)},
			{bStatus, statusKey(nil, seq, 0)},
			{bStatus, statusKey(nil, seq, 1)},
		}
		for _, ck := range checks {
			if tx.Bucket(ck.b).Get(ck.k) == nil {
				return fmt.Errorf("seq %d %s: %w", seq, ck.b, ErrMissing)
			}
		}
		raw = bytes.Clone(h.raw)
		return nil
	})
	return raw, err
}

func (s *bboltStore) Status(seq uint64, dest uint8) (st byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bStatus).Get(statusKey(nil, seq, dest)); len(v) > 0 {
			st = v[0]
		}
		return nil
	})
	return st, err
}

// DeleteBefore deletes in transactions of 10,000 messages.
func (s *bboltStore) DeleteBefore(cutoff uint64) error {
	for {
		done := false
		err := s.db.Update(func(tx *bolt.Tx) error {
			j, t, c, p, o, st := tx.Bucket(bJournal), tx.Bucket(bTime), tx.Bucket(bCtrl), tx.Bucket(bPid), tx.Bucket(bOutbox), tx.Bucket(bStatus)
			type old struct {
				seq       uint64
				time      int64
				ctrl, pid []byte
			}
			var olds []old
			cur := j.Cursor()
			for k, v := cur.First(); k != nil && len(olds) < 10000; k, v = cur.Next() {
				seq := binary.BigEndian.Uint64(k)
				if seq >= cutoff {
					break
				}
				h, err := decodeJournal(v)
				if err != nil {
					return err
				}
				olds = append(olds, old{seq, h.time, bytes.Clone(h.ctrl), bytes.Clone(h.pid)})
			}
			if len(olds) == 0 {
				done = true
				return nil
			}
			for _, m := range olds {
				for _, del := range []struct {
					b *bolt.Bucket
					k []byte
				}{
					{j, be64(nil, m.seq)},
					{t, timeKey(nil, m.time, m.seq)},
					{c, strSeqKey(nil, m.ctrl, m.seq)},
					{p, strSeqKey(nil, m.pid, m.seq)},
					{o, outboxKey(nil, 0, m.seq)},
					{o, outboxKey(nil, 1, m.seq)},
					{st, statusKey(nil, m.seq, 0)},
					{st, statusKey(nil, m.seq, 1)},
				} {
					if err := del.b.Delete(del.k); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// Reclaim: bbolt never shrinks its file; freed pages are only reused. Giving
// the space back means copying the live data into a new file (bbolt.Compact)
// and swapping it in, with the store closed meanwhile.
func (s *bboltStore) Reclaim() error {
	tmp := s.path + ".compact"
	dst, err := bolt.Open(tmp, 0o600, bboltOptions())
	if err != nil {
		return err
	}
	if err := bolt.Compact(dst, s.db, 64<<20); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := s.db.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	db, err := bolt.Open(s.path, 0o600, bboltOptions())
	if err != nil {
		return err
	}
	s.db = db
	return nil
}

func (s *bboltStore) Close() error { return s.db.Close() }
