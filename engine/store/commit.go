package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// maxGroup bounds one group commit.
const maxGroup = 1024

// committer is group commit for journal appends: callers queue a record
// and wait; one goroutine takes whatever is queued, assigns sequence
// numbers in order, writes the group as one pebble batch with one sync and
// wakes them all. While a sync runs the next group gathers, so the group
// size follows the load. With Linger set it also waits, briefly, for the
// appends already in flight on other connections: an MLLP sender waits for
// each ACK, so without that the groups alternate at half the connections
// (engine/store/storebench/README.md, "What the numbers say", 1).
type committer struct {
	s        *DB
	in       chan *waiter
	inflight atomic.Int64
	mu       sync.RWMutex
	closed   bool
	done     chan struct{}
	pool     sync.Pool
	recs     []*Record
	recent   recentKeys // only the committer goroutine touches it
	ibuf     []byte     // index keys, built one at a time
}

type waiter struct {
	r    *Record
	done chan error
}

var errClosed = ErrClosed

func newCommitter(s *DB) *committer {
	c := &committer{s: s, in: make(chan *waiter, maxGroup), done: make(chan struct{})}
	c.pool.New = func() any { return &waiter{done: make(chan error, 1)} }
	go c.loop()
	return c
}

func (c *committer) submit(ctx context.Context, r *Record) error {
	c.inflight.Add(1)
	w := c.pool.Get().(*waiter)
	w.r = r
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		c.inflight.Add(-1)
		return errClosed
	}
	select {
	case c.in <- w:
	case <-ctx.Done():
		c.mu.RUnlock()
		c.inflight.Add(-1)
		return ctx.Err()
	}
	c.mu.RUnlock()
	// Once queued the append will be committed; wait for it even if ctx
	// ends, or the waiter would be reused while the committer holds it.
	err := <-w.done
	w.r = nil
	c.pool.Put(w)
	return err
}

func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	group := make([]*waiter, 0, maxGroup)
	var buf []byte
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		w, ok := <-c.in
		if !ok {
			return
		}
		group = append(group[:0], w)
		group = c.drain(group)
		if linger := c.s.opts.Linger; linger > 0 && len(group) < c.target() {
			timer.Reset(linger)
		wait:
			for len(group) < maxGroup && len(group) < c.target() {
				select {
				case w, ok := <-c.in:
					if !ok {
						break wait
					}
					group = append(group, w)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		start := time.Now()
		var err error
		buf, err = c.commit(group, buf)
		if c.s.opts.Commit != nil {
			c.s.opts.Commit(len(group), time.Since(start))
		}
		// Count the group out before waking it, so that the next group
		// does not wait for writers who are already done.
		c.inflight.Add(-int64(len(group)))
		if c.s.opts.OnCommit != nil && err == nil {
			recs := c.recs[:0]
			for _, w := range group {
				if w.r.Seq != 0 {
					recs = append(recs, w.r)
				}
			}
			c.recs = recs
			c.s.opts.OnCommit(recs)
		}
		for _, w := range group {
			w.done <- err
		}
	}
}

// target is the group size worth waiting for: the appends already
// submitted, or the writers the caller expects (its active connections),
// whichever is larger.
func (c *committer) target() int {
	n := int(c.inflight.Load())
	if c.s.opts.Writers != nil {
		n = max(n, c.s.opts.Writers())
	}
	return n
}

func (c *committer) drain(group []*waiter) []*waiter {
	for len(group) < maxGroup {
		select {
		case w, ok := <-c.in:
			if !ok {
				return group
			}
			group = append(group, w)
		default:
			return group
		}
	}
	return group
}

// commit writes one group. Sequence numbers are taken only when the batch
// commits, so a failed commit leaves no gap and no record half-numbered.
func (c *committer) commit(group []*waiter, buf []byte) ([]byte, error) {
	s := c.s
	b := s.db.NewBatch()
	defer b.Close()
	seq := s.seq.Load()
	// control ids seen earlier in this group (not yet readable in the db)
	var inGroup map[string]recentEntry
	var kbuf []byte
	for _, w := range group {
		r := w.r
		r.Seq = 0
		mode, window := s.policy(r)
		if mode != DedupeOff && r.Status == Accepted && r.ControlID != "" {
			ck := r.controlKey()
			prev, err := c.duplicateOf(r, ck, inGroup, window)
			if err != nil {
				return buf, err
			}
			if prev != 0 {
				r.Status, r.DuplicateOf = Duplicate, prev
			}
			if r.Status == Duplicate {
				r.Route = mode == DedupeProcess
				if mode == DedupeIgnore {
					continue
				}
			}
		}
		seq++
		r.Seq = seq
		buf = r.encode(buf[:0])
		if err := b.Set(seqKey(tJournal, seq), buf, nil); err != nil {
			return buf, err
		}
		var err error
		if c.ibuf, err = forIngestIndexes(r, c.ibuf, func(k []byte) error { return b.Set(k, nil, nil) }); err != nil {
			return buf, err
		}
		if r.Status == Accepted || r.Route {
			if err := b.Set(seqKey(tPending, seq), nil, nil); err != nil {
				return buf, err
			}
		}
		if r.Status == Accepted && r.ControlID != "" {
			ck := r.controlKey()
			kbuf = be64(kbuf[:0], seq)
			kbuf = be64(kbuf, uint64(r.Received.UnixNano()))
			if err := b.Set(ck, kbuf, nil); err != nil {
				return buf, err
			}
			// every accepted record, whatever its own policy: another
			// listener's may look for it
			if inGroup == nil {
				inGroup = map[string]recentEntry{}
			}
			inGroup[string(ck)] = recentEntry{seq: seq, at: r.Received.UnixNano()}
		}
	}
	if b.Empty() {
		return buf, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		for _, w := range group {
			w.r.Seq = 0
		}
		return buf, fmt.Errorf("commit: %w", err)
	}
	s.seq.Store(seq)
	for k, e := range inGroup {
		c.recent.add(k, e)
	}
	return buf, nil
}

// duplicateOf finds an accepted message with r's control key within the
// window. Append looked in the store before queuing r (in the caller's
// goroutine, so that those reads run in parallel); what was committed
// since is in this group or in recent, the control keys of the last
// commits, unless so many were committed that recent no longer reaches
// back that far: then the store is read again here.
func (c *committer) duplicateOf(r *Record, ck []byte, inGroup map[string]recentEntry, window time.Duration) (uint64, error) {
	if r.dupOf != 0 {
		return r.dupOf, nil
	}
	if prev, ok := inGroup[string(ck)]; ok {
		return prev.seq, nil
	}
	if e, ok := c.recent.m[string(ck)]; ok {
		if r.Received.Sub(time.Unix(0, e.at)) <= window {
			return e.seq, nil
		}
		return 0, nil
	}
	if r.checked && r.checkedAt >= c.recent.floor {
		return 0, nil
	}
	return c.s.lookupControl(ck, r.Received, window)
}

// recentKeys holds the control keys of the last commits, oldest evicted
// first; every key committed with a sequence number above floor is in it.
type recentKeys struct {
	m     map[string]recentEntry
	order []string // ring of keys, in commit order
	head  int
	floor uint64
	max   int // 0: recentMax
}

type recentEntry struct {
	seq uint64
	at  int64
}

const recentMax = 1 << 16

func (rk *recentKeys) add(k string, e recentEntry) {
	if rk.max == 0 {
		rk.max = recentMax
	}
	if rk.m == nil {
		rk.m = make(map[string]recentEntry, rk.max)
		rk.order = make([]string, 0, rk.max)
	}
	if len(rk.order) < rk.max {
		rk.order = append(rk.order, k)
	} else {
		old := rk.order[rk.head]
		if oe, ok := rk.m[old]; ok {
			rk.floor = max(rk.floor, oe.seq)
			delete(rk.m, old)
		}
		rk.order[rk.head] = k
		rk.head = (rk.head + 1) % rk.max
	}
	rk.m[k] = e
}

// lookupControl returns the seq of the accepted message with control key ck
// received within the dedupe window before t, or 0.
func (s *DB) lookupControl(ck []byte, t time.Time, window time.Duration) (uint64, error) {
	v, closer, err := s.db.Get(ck)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dedupe lookup: %w", err)
	}
	defer closer.Close()
	if len(v) != 16 {
		return 0, errCorrupt
	}
	seq, at := beUint64(v), time.Unix(0, int64(beUint64(v[8:])))
	if t.Sub(at) > window {
		return 0, nil
	}
	return seq, nil
}
