package engine

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/engine/store"
)

// destination runs one destination's outbox (step 8 of DESIGN.md's path).
//
// One goroutine, the scheduler, owns all the state: it reads the outbox
// from the store in order, keeps a small queue per partition key (the
// patient), and hands the head of each ready key to a free worker, one
// attempt at a time. A failed attempt parks only its key until its backoff
// is over; the workers go on with other keys. So one patient's failing
// message holds up that patient's later messages (their order must hold)
// and nobody else's, and a message that keeps failing is dead-lettered by
// the retry policy, after which its patient moves on.
//
// Memory is bounded: at most window entries are loaded, at most perKey of
// them per key, and a parked key keeps only its head. What is not loaded
// stays in the store, which is the real queue; a key whose later entries
// were left there gets them back, in order, when its queue runs dry.
//
// A destination that is down only holds up its own outbox: every
// destination has its own scheduler and workers.
type destination struct {
	e   *Engine
	cfg *config.Destination
	dst channels.Destination
	log *slog.Logger

	window, perKey int // see the constants; tests make them small

	wake    chan struct{} // new entries in the outbox
	pending atomic.Int64  // entries in the outbox, loaded or not
	wg      sync.WaitGroup

	delivered, retried, dead prometheus.Counter
	depth                    prometheus.Gauge
	oldest                   prometheus.Gauge
	endToEnd, attempt        prometheus.Observer
}

const (
	// window bounds the entries loaded in memory per destination.
	window = 1024
	// perKey bounds the entries loaded per partition key.
	perKey = 8
	// maxRetryAfter caps the wait an endpoint may ask for with Retry-After.
	maxRetryAfter = time.Hour
)

func newDestination(e *Engine, cfg *config.Destination, dst channels.Destination, pending int64) *destination {
	d := &destination{
		e: e, cfg: cfg, dst: dst,
		log:       e.log.With("destination", cfg.Name, "kind", cfg.Kind),
		window:    window,
		perKey:    perKey,
		wake:      make(chan struct{}, 1),
		delivered: e.m.deliveries.WithLabelValues(cfg.Name, "delivered"),
		retried:   e.m.deliveries.WithLabelValues(cfg.Name, "retried"),
		dead:      e.m.deliveries.WithLabelValues(cfg.Name, "dead"),
		depth:     e.m.outboxDepth.WithLabelValues(cfg.Name),
		oldest:    e.m.oldest.WithLabelValues(cfg.Name),
		endToEnd:  e.m.endToEnd.WithLabelValues(cfg.Name),
		attempt:   e.m.attemptTime.WithLabelValues(cfg.Name),
	}
	d.pending.Store(pending)
	d.depth.Set(float64(pending))
	return d
}

// queued is called after the pipeline (or a replay) wrote an entry to this
// outbox.
func (d *destination) queued() {
	d.depth.Set(float64(d.pending.Add(1)))
	signal(d.wake)
}

// task is one attempt at one entry, and its result.
type task struct {
	del *store.Delivery
	ks  *keyState
	// set by the worker
	result attemptResult
	wait   time.Duration // for retry
}

type attemptResult uint8

const (
	resDelivered attemptResult = iota
	resDead
	resRetry
	resStopped // the engine is stopping: the entry stays in the outbox
)

// keyState is the scheduler's view of one partition key.
type keyState struct {
	key string
	q   []*store.Delivery // loaded entries, in outbox order
	// skipped is the outbox position of this key's first entry that was
	// left in the store (0: none): later entries of the key must not be
	// loaded before it.
	skipped uint64
	busy    bool // a worker has the head
	parked  bool // waiting out a backoff
	ready   bool // in the ready queue
}

func (d *destination) start(ctx context.Context) {
	work := make(chan *task)
	done := make(chan *task, d.cfg.Workers)
	d.wg.Add(1 + d.cfg.Workers)
	for range d.cfg.Workers {
		go d.work(ctx, work, done)
	}
	go d.schedule(ctx, work, done)
}

func (d *destination) wait() { d.wg.Wait() }

type scheduler struct {
	d       *destination
	keys    map[string]*keyState
	readyQ  []*keyState
	loaded  int
	cursor  uint64 // last outbox position read
	unpark  chan *keyState
	working map[*keyState]time.Time
}

func (d *destination) schedule(ctx context.Context, work chan<- *task, done <-chan *task) {
	defer d.wg.Done()
	defer close(work)
	s := &scheduler{d: d, keys: map[string]*keyState{}, unpark: make(chan *keyState, d.window), working: map[*keyState]time.Time{}}
	busy := 0
	more := true // the outbox may hold entries not read yet
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var next *task
	for {
		if more && s.loaded < d.window {
			var err error
			if more, err = s.fill(); err != nil {
				d.log.Error("read outbox", "err", err)
				more = false
			}
		}
		var send chan<- *task
		if len(s.readyQ) > 0 {
			// one task per hand-out, not per turn of the loop
			if ks := s.readyQ[0]; next == nil || next.ks != ks || next.del != ks.q[0] {
				next = &task{del: ks.q[0], ks: ks}
			}
			send = work
		}
		select {
		case <-ctx.Done():
			// let the workers finish their attempt; results are written
			// by them, nothing more to schedule
			for busy > 0 {
				<-done
				busy--
			}
			return
		case send <- next:
			s.readyQ = s.readyQ[1:]
			next.ks.ready, next.ks.busy = false, true
			s.working[next.ks] = next.del.Received
			next = nil
			busy++
		case t := <-done:
			busy--
			if t.result != resRetry {
				delete(s.working, t.ks)
			}
			if err := s.finished(ctx, t); err != nil {
				d.log.Error("reload outbox", "err", err)
			}
			// no read of the outbox here: if the last one stopped at a
			// full window, more is still set and the room made is used;
			// if it reached the end, new entries come with a wake
		case ks := <-s.unpark:
			ks.parked = false
			s.makeReady(ks) // what was passed over comes back when its queue runs dry
		case <-d.wake:
			more = true
		case <-tick.C:
			// a safety net (a wake-up lost to a race costs a second), and
			// the age of the oldest entry being worked on or parked
			more = true
			s.publishOldest()
		}
	}
}

// fill loads entries after the cursor until the window is full or the
// outbox is read; it reports whether there may be more.
//
// An entry of a key that already has its share loaded (or is parked) is
// passed over and left in the store; the key records where, and reloads
// from there when its queue runs dry, which it will, since it has entries
// loaded. An entry of any other key is never passed over: when the window
// is full the cursor stops before it.
func (s *scheduler) fill() (bool, error) {
	// Keep reading while whole batches are passed over (a long backlog
	// of parked keys, after a restart say), up to a budget per call, so
	// that a ready key behind them is not left waiting for the next event.
	for range 64 {
		// near a full window, read only what may fit (each wake would
		// otherwise decode a whole batch to use one entry of it)
		batch, err := s.d.e.db.Outbox(s.d.cfg.Name, s.cursor, min(256, max(16, s.d.window-s.loaded)))
		if err != nil {
			return false, err
		}
		loaded := false
		for _, del := range batch {
			ks := s.keys[del.Key]
			if ks != nil && (ks.skipped != 0 || len(ks.q) >= s.d.perKey || ks.parked) {
				if ks.skipped == 0 {
					ks.skipped = del.OSeq
				}
				s.cursor = del.OSeq
				continue
			}
			if s.loaded >= s.d.window {
				return true, nil
			}
			if err := s.d.e.db.LoadBody(del); err != nil {
				return false, err
			}
			if ks == nil {
				ks = &keyState{key: del.Key}
				s.keys[del.Key] = ks
			}
			s.cursor = del.OSeq
			ks.q = append(ks.q, del)
			s.loaded++
			loaded = true
			s.makeReady(ks)
		}
		if len(batch) == 0 {
			return false, nil
		}
		if loaded {
			return true, nil
		}
	}
	return true, nil
}

func (s *scheduler) makeReady(ks *keyState) {
	if ks.ready || ks.busy || ks.parked || len(ks.q) == 0 {
		return
	}
	ks.ready = true
	s.readyQ = append(s.readyQ, ks)
}

// finished takes a worker's result.
func (s *scheduler) finished(ctx context.Context, t *task) error {
	ks := t.ks
	ks.busy = false
	switch t.result {
	case resStopped:
		return nil
	case resRetry:
		// Park the key; drop what was loaded behind the head (it stays in
		// the store), so that parked keys hold one entry each.
		if len(ks.q) > 1 {
			if ks.skipped == 0 || ks.q[1].OSeq < ks.skipped {
				ks.skipped = ks.q[1].OSeq
			}
			s.loaded -= len(ks.q) - 1
			ks.q = ks.q[:1]
		}
		ks.parked = true
		time.AfterFunc(t.wait, func() {
			select {
			case s.unpark <- ks:
			case <-ctx.Done():
			}
		})
		return nil
	}
	ks.q = ks.q[1:]
	s.loaded--
	if len(ks.q) == 0 && ks.skipped != 0 {
		// the rest of this key is in the store: bring it back, in order
		n := s.d.perKey
		more, err := s.d.e.db.OutboxOf(s.d.cfg.Name, ks.key, ks.skipped, s.cursor, n+1)
		if err != nil {
			return err
		}
		ks.skipped = 0
		if len(more) > n {
			ks.skipped = more[n].OSeq
			more = more[:n]
		}
		ks.q = append(ks.q, more...)
		s.loaded += len(more)
	}
	if len(ks.q) == 0 && ks.skipped == 0 {
		delete(s.keys, ks.key)
		return nil
	}
	s.makeReady(ks)
	return nil
}

// publishOldest sets the gauge of the oldest entry being worked on or
// parked.
func (s *scheduler) publishOldest() {
	var oldest time.Time
	for _, r := range s.working {
		if oldest.IsZero() || r.Before(oldest) {
			oldest = r
		}
	}
	if oldest.IsZero() {
		s.d.oldest.Set(0)
	} else {
		s.d.oldest.Set(time.Since(oldest).Seconds())
	}
}

func (d *destination) work(ctx context.Context, work <-chan *task, done chan<- *task) {
	defer d.wg.Done()
	for t := range work {
		t.result, t.wait = d.attemptOnce(ctx, t.del)
		done <- t
	}
}

// attemptOnce makes one delivery attempt and records its outcome.
func (d *destination) attemptOnce(ctx context.Context, del *store.Delivery) (attemptResult, time.Duration) {
	if ctx.Err() != nil {
		return resStopped, 0
	}
	msg := &channels.Message{
		Seq: del.Seq, Route: del.Route, Key: del.Key, ContentType: del.ContentType, Body: del.Body,
	}
	if rec, err := d.e.db.Head(del.Seq); err == nil {
		msg.Source, msg.MessageType, msg.ControlID = rec.Listener, rec.Type, rec.ControlID
		msg.IdempotencyKey = rec.Sender + "|" + rec.ControlID
		msg.Received = rec.Received
	}
	policy := d.cfg.Retry
	del.Attempts++
	msg.Attempt = del.Attempts
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	start := time.Now()
	err := d.safeDeliver(actx, msg)
	cancel()
	d.attempt.Observe(time.Since(start).Seconds())
	now := time.Now()
	if err == nil {
		if err := d.e.db.Delivered(del, now); err != nil {
			d.log.Error("mark delivered", "seq", del.Seq, "err", err)
		}
		d.delivered.Inc()
		d.endToEnd.Observe(now.Sub(del.Received).Seconds())
		d.depth.Set(float64(d.pending.Add(-1)))
		return resDelivered, 0
	}
	if ctx.Err() != nil {
		del.Attempts-- // cut short by the stop, not the endpoint's failure
		return resStopped, 0
	}
	detail := channels.Detail(err)
	var reason string
	switch {
	case channels.IsPermanent(err):
		reason = "refused: " + err.Error()
	case policy.MaxAttempts > 0 && del.Attempts >= policy.MaxAttempts:
		reason = "gave up after " + strconv.Itoa(del.Attempts) + " attempts: " + err.Error()
	case policy.MaxAge > 0 && now.Sub(del.Received) > policy.MaxAge:
		reason = "gave up after " + policy.MaxAge.String() + ": " + err.Error()
	}
	if reason != "" {
		if err := d.e.db.Dead(del, now, reason, detail); err != nil {
			d.log.Error("dead-letter", "seq", del.Seq, "err", err)
		}
		d.dead.Inc()
		d.depth.Set(float64(d.pending.Add(-1)))
		d.log.Warn("dead letter", "seq", del.Seq, "route", del.Route, "attempts", del.Attempts, "err", err)
		return resDead, 0
	}
	d.retried.Inc()
	if err := d.e.db.Retrying(del, now, err.Error(), detail); err != nil {
		d.log.Error("record attempt", "seq", del.Seq, "err", err)
	}
	wait := backoff(policy, del.Attempts)
	if ra, ok := channels.RetryDelay(err); ok && ra > wait {
		// honour the endpoint's Retry-After, but not a wait of hours
		wait = min(ra, maxRetryAfter)
	}
	d.log.Info("retry", "seq", del.Seq, "attempt", del.Attempts, "in", wait.String(), "err", err)
	return resRetry, wait
}

// safeDeliver calls the destination, making a panic in it a permanent
// failure of this message (dead-lettered with the panic's text) rather than
// a crash of the engine that would repeat at every restart.
func (d *destination) safeDeliver(ctx context.Context, m *channels.Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = channels.Permanent(fmt.Errorf("internal error in the %s destination (please report): %v", d.cfg.Kind, v), nil)
		}
	}()
	return d.dst.Deliver(ctx, m)
}

// backoff is exponential with full jitter: a random wait up to
// initial*2^(attempt-1), capped at max, so that many entries failing at
// once do not all come back at once.
func backoff(p config.Retry, attempt int) time.Duration {
	ceil := p.Initial
	for i := 1; i < attempt && ceil < p.Max; i++ {
		ceil *= 2
	}
	if ceil > p.Max {
		ceil = p.Max
	}
	// at least half the ceiling, so that retries never spin
	return ceil/2 + rand.N(ceil/2+1)
}
