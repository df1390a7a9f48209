package engine

import (
	"context"
	"hash/maphash"
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

// destination runs one destination's outbox (step 8): a dispatcher reads
// the outbox from the store in order and hands each entry to the worker
// that owns its partition key; each worker delivers its entries one at a
// time, retrying with backoff, and dead-letters an entry that keeps
// failing so that its partition moves on. A destination that is down only
// holds up its own outbox: every destination has its own goroutines.
type destination struct {
	e       *Engine
	cfg     *config.Destination
	dst     channels.Destination
	log     *slog.Logger
	workers []chan *store.Delivery
	seed    maphash.Seed
	wake    chan struct{}
	pending atomic.Int64
	wg      sync.WaitGroup

	mu      sync.Mutex
	working map[uint64]time.Time // oseq -> received, of entries dispatched and not finished

	delivered, retried, dead prometheus.Counter
	depth                    prometheus.Gauge
	oldest                   prometheus.Gauge
	endToEnd, attempt        prometheus.Observer
}

const workerQueue = 64

// maxRetryAfter caps the wait an endpoint may ask for with Retry-After.
const maxRetryAfter = time.Hour

func newDestination(e *Engine, cfg *config.Destination, dst channels.Destination, pending int64) *destination {
	d := &destination{
		e: e, cfg: cfg, dst: dst,
		log:       e.log.With("destination", cfg.Name, "kind", cfg.Kind),
		seed:      maphash.MakeSeed(),
		wake:      make(chan struct{}, 1),
		working:   map[uint64]time.Time{},
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
	for range cfg.Workers {
		d.workers = append(d.workers, make(chan *store.Delivery, workerQueue))
	}
	return d
}

// queued is called after the pipeline wrote an entry to this outbox.
func (d *destination) queued() {
	d.depth.Set(float64(d.pending.Add(1)))
	signal(d.wake)
}

func (d *destination) start(ctx context.Context) {
	d.wg.Add(1 + len(d.workers))
	go d.dispatch(ctx)
	for _, w := range d.workers {
		go d.work(ctx, w)
	}
	go d.watchAge(ctx)
}

func (d *destination) wait() { d.wg.Wait() }

func (d *destination) dispatch(ctx context.Context) {
	defer d.wg.Done()
	defer func() {
		for _, w := range d.workers {
			close(w)
		}
	}()
	var cursor uint64
	for {
		batch, err := d.e.db.Outbox(d.cfg.Name, cursor, 256)
		if err != nil {
			d.log.Error("read outbox", "err", err)
		}
		for _, del := range batch {
			cursor = del.OSeq
			d.mu.Lock()
			d.working[del.OSeq] = del.Received
			d.mu.Unlock()
			w := d.workers[maphash.String(d.seed, del.Key)%uint64(len(d.workers))]
			select {
			case w <- del:
			case <-ctx.Done():
				return
			}
		}
		if len(batch) > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-time.After(time.Second):
		}
	}
}

func (d *destination) work(ctx context.Context, in chan *store.Delivery) {
	defer d.wg.Done()
	for del := range in {
		if ctx.Err() != nil {
			continue // shutting down: the entry stays in the outbox
		}
		d.deliver(ctx, del)
		d.mu.Lock()
		delete(d.working, del.OSeq)
		d.mu.Unlock()
	}
}

// deliver tries one entry until it is delivered, dead-lettered, or the
// engine stops (then it stays in the outbox for the next start).
func (d *destination) deliver(ctx context.Context, del *store.Delivery) {
	msg := &channels.Message{
		Seq: del.Seq, Route: del.Route, Key: del.Key, ContentType: del.ContentType, Body: del.Body,
	}
	if rec, err := d.e.db.Record(del.Seq); err == nil {
		msg.Source, msg.MessageType, msg.ControlID = rec.Listener, rec.Type, rec.ControlID
		msg.IdempotencyKey = rec.Sender + "|" + rec.ControlID
		msg.Received = rec.Received
	}
	policy := d.cfg.Retry
	for {
		del.Attempts++
		msg.Attempt = del.Attempts
		actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
		start := time.Now()
		err := d.dst.Deliver(actx, msg)
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
			return
		}
		if ctx.Err() != nil {
			return
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
			return
		}
		d.retried.Inc()
		if err := d.e.db.Retrying(del, now, err.Error(), detail); err != nil {
			d.log.Error("record attempt", "seq", del.Seq, "err", err)
		}
		wait := backoff(policy, del.Attempts)
		if ra, ok := channels.RetryDelay(err); ok && ra > wait {
			// honour the endpoint's Retry-After, but not a wait that would
			// park this worker's partitions for hours
			wait = min(ra, maxRetryAfter)
		}
		d.log.Info("retry", "seq", del.Seq, "attempt", del.Attempts, "in", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
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

// watchAge publishes the age of the oldest entry being worked on.
func (d *destination) watchAge(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var oldest time.Time
			d.mu.Lock()
			for _, r := range d.working {
				if oldest.IsZero() || r.Before(oldest) {
					oldest = r
				}
			}
			d.mu.Unlock()
			if oldest.IsZero() {
				d.oldest.Set(0)
			} else {
				d.oldest.Set(now.Sub(oldest).Seconds())
			}
		}
	}
}
