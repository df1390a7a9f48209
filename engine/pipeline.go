package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/engine/store"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// pipeline takes journaled messages in order (steps 4-7): a dispatcher
// reads the pending list from the store, parses each message, computes its
// partition key and hands it to the worker that owns the key; workers
// route, transform and write the outboxes. One key is always on one worker,
// so its messages keep their order; different keys run in parallel.
//
// The dispatcher reads from the store, not from memory, so a restart
// resumes exactly where routing stopped and memory stays bounded whatever
// the backlog.
type pipeline struct {
	e       *Engine
	log     *slog.Logger
	workers []chan *job
	seed    maphash.Seed

	wake chan struct{} // a message was journaled, or a rescan is asked

	backlog    atomic.Int64 // journaled, not yet routed
	maxBacklog int64
	room       chan struct{} // signalled when the backlog shrinks

	// fresh hands committed records to the dispatcher without a store
	// read; overflow is set when it was full (the dispatcher then reads
	// the store until it has caught up).
	fresh chan *store.Record

	mu       sync.Mutex
	inflight map[uint64]bool // dispatched, not yet routed
	rescan   bool
	overflow bool
	wg       sync.WaitGroup
}

type job struct {
	rec *store.Record
	msg *hl7.Message // nil when it did not parse: the outcome says why
	err error
	key string
}

func newPipeline(e *Engine, pending int64) *pipeline {
	p := &pipeline{
		e:          e,
		log:        e.log.With("component", "pipeline"),
		seed:       maphash.MakeSeed(),
		wake:       make(chan struct{}, 1),
		room:       make(chan struct{}, 1),
		maxBacklog: int64(e.cfg.Pipeline.MaxBacklog),
		inflight:   map[uint64]bool{},
		fresh:      make(chan *store.Record, min(e.cfg.Pipeline.MaxBacklog, 4096)),
	}
	p.backlog.Store(pending)
	e.m.backlog.Set(float64(pending))
	for range e.cfg.Pipeline.Workers {
		p.workers = append(p.workers, make(chan *job, e.cfg.Pipeline.Queue))
	}
	return p
}

func (p *pipeline) start(ctx context.Context) {
	p.wg.Add(1 + len(p.workers))
	go p.dispatch(ctx)
	for _, w := range p.workers {
		go p.work(w)
	}
}

// wait returns when the dispatcher and the workers have stopped (after ctx
// ends, with what was queued routed).
func (p *pipeline) wait() { p.wg.Wait() }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// journaled is called by ingest after each accepted append.
func (p *pipeline) journaled() {
	p.e.m.backlog.Set(float64(p.backlog.Add(1)))
}

// admit waits while the backlog is at its limit.
func (p *pipeline) admit(ctx context.Context) error {
	for p.backlog.Load() >= p.maxBacklog {
		select {
		case <-p.room:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// reroute asks the dispatcher to scan the pending list from the start:
// replay put older messages back on it.
func (p *pipeline) reroute(n int) {
	p.mu.Lock()
	p.rescan = true
	p.mu.Unlock()
	p.e.m.backlog.Set(float64(p.backlog.Add(int64(n))))
	signal(p.wake)
}

func (p *pipeline) dispatch(ctx context.Context) {
	defer p.wg.Done()
	defer func() {
		for _, w := range p.workers {
			close(w)
		}
	}()
	var cursor uint64
	scan := true // at start: resume what the journal holds
	// one ticker, not a timer per message
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if scan {
			p.mu.Lock()
			// Appends committed from here on are handed over again; those
			// before are in the store for the scan. A record can come both
			// ways: the cursor drops the second.
			p.overflow = false
			if p.rescan {
				cursor, p.rescan = 0, false
			}
			p.mu.Unlock()
			var ok bool
			if cursor, ok = p.scan(ctx, cursor); !ok {
				return
			}
			scan = false
		}
		select {
		case <-ctx.Done():
			return
		case r := <-p.fresh:
			if r.Seq <= cursor {
				continue
			}
			cursor = r.Seq
			if r.Status != store.Accepted && !r.Route {
				continue // rejected, or a duplicate not to route
			}
			if !p.send(ctx, r.Seq, func() *job { return p.parse(r) }, false) {
				return
			}
		case <-p.wake:
			p.mu.Lock()
			scan = p.overflow || p.rescan
			p.mu.Unlock()
			if scan {
				// what was handed over before the overflow comes first
				if cursor = p.drainFresh(ctx, cursor); ctx.Err() != nil {
					return
				}
			}
		case <-tick.C:
			// a safety net (and the retry of a failed routing write): a
			// scan costs one store iterator a second
			scan = true
		}
	}
}

// drainFresh dispatches what is queued in fresh without waiting.
func (p *pipeline) drainFresh(ctx context.Context, cursor uint64) uint64 {
	for {
		select {
		case r := <-p.fresh:
			if r.Seq <= cursor {
				continue
			}
			cursor = r.Seq
			if r.Status == store.Accepted || r.Route {
				if !p.send(ctx, r.Seq, func() *job { return p.parse(r) }, false) {
					return cursor
				}
			}
		default:
			return cursor
		}
	}
}

// scan dispatches the pending list after cursor, reading each message
// from the store, until it is empty; false when ctx ended.
func (p *pipeline) scan(ctx context.Context, cursor uint64) (uint64, bool) {
	for {
		seqs, err := p.e.db.Pending(cursor, 256)
		if err != nil {
			p.log.Error("read pending messages", "err", err)
			return cursor, ctx.Err() == nil
		}
		if len(seqs) == 0 {
			return cursor, true
		}
		for _, seq := range seqs {
			cursor = seq
			if !p.send(ctx, seq, func() *job { return p.load(seq) }, true) {
				return cursor, false
			}
		}
	}
}

// send hands message seq to the worker that owns its key, unless it is
// already being routed (a rescan finds messages in flight); false when ctx
// ended.
func (p *pipeline) send(ctx context.Context, seq uint64, make func() *job, fromScan bool) bool {
	p.mu.Lock()
	busy := p.inflight[seq]
	p.inflight[seq] = true
	p.mu.Unlock()
	if busy {
		return true
	}
	// A scan's list may be stale: a worker may have routed the message
	// since (it removes the pending mark before it clears its in-flight
	// mark, so this look cannot miss one that is still to be routed).
	if !fromScan {
		// handed over by the commit: pending, and new
	} else if pending, err := p.e.db.IsPending(seq); err == nil && !pending {
		p.mu.Lock()
		delete(p.inflight, seq)
		p.mu.Unlock()
		return true
	}
	j := make()
	w := p.workers[maphash.String(p.seed, j.key)%uint64(len(p.workers))]
	select {
	case w <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

// committed is the store's OnCommit hook: it hands each committed group to
// the dispatcher in order. When the hand-over queue is full it stops
// handing over until the dispatcher has read the rest from the store, so
// that no record is skipped and none overtakes another.
func (p *pipeline) committed(recs []*store.Record) {
	p.mu.Lock()
	if !p.overflow {
		for _, r := range recs {
			select {
			case p.fresh <- r:
				continue
			default:
				p.overflow = true
			}
			break
		}
	}
	p.mu.Unlock()
	signal(p.wake)
}

// load reads and parses one journaled message.
func (p *pipeline) load(seq uint64) *job {
	rec, err := p.e.db.Record(seq)
	if err != nil {
		return &job{rec: &store.Record{Seq: seq}, err: err}
	}
	return p.parse(rec)
}

// parse parses a journaled message and finds its partition key.
func (p *pipeline) parse(rec *store.Record) *job {
	j := &job{rec: rec}
	l := p.e.listeners[rec.Listener]
	opts := hl7.ParseOptions{}
	if l != nil {
		opts = l.parseOpts
	}
	j.msg, j.err = safeParse(rec.Raw, opts)
	if j.msg != nil {
		j.key = partitionKey(j.msg)
	} else {
		j.key = rec.Sender
	}
	return j
}

func (p *pipeline) work(in chan *job) {
	defer p.wg.Done()
	// Bundle buffers, one per route of a message, reused message after
	// message: the store copies a body when the routing is written, so
	// they are free again once route returns.
	var bufs [][]byte
	for j := range in {
		routed := p.route(j, &bufs)
		p.mu.Lock()
		delete(p.inflight, j.rec.Seq)
		p.mu.Unlock()
		if routed {
			p.e.m.backlog.Set(float64(p.backlog.Add(-1)))
			signal(p.room)
		}
	}
}

// route runs the routes over one message and records the result; false
// when the result could not be written (the message stays pending).
func (p *pipeline) route(j *job, bufs *[][]byte) bool {
	e := p.e
	seq := j.rec.Seq
	o := store.Outcome{Key: j.key, Received: j.rec.Received}
	var outs []store.Output
	switch {
	case j.err != nil:
		o.State = store.Failed
		o.Errors = []string{j.err.Error()}
	default:
		routes := e.matchRoutes(e.routesFrom(j.rec.Listener), j.msg, &o.Errors)
		skipped := 0
		for i, r := range routes {
			if len(*bufs) <= i {
				*bufs = append(*bufs, nil)
			}
			out, err := r.safeConvert((*bufs)[i][:0], j.msg, j.rec)
			if errors.Is(err, errNothingToConvert) {
				e.m.transform.WithLabelValues(r.cfg.Name, "skipped").Inc()
				skipped++
				continue
			}
			if err != nil {
				e.m.transform.WithLabelValues(r.cfg.Name, "error").Inc()
				o.Errors = append(o.Errors, fmt.Sprintf("route %s: %v", r.cfg.Name, err))
				continue
			}
			e.m.transform.WithLabelValues(r.cfg.Name, "ok").Inc()
			out.Keys = p.destKeys(r, j, &o.Errors)
			if out.ContentType == channels.ContentFHIR && cap(out.Body) <= maxKeptBuffer {
				(*bufs)[i] = out.Body[:0]
			}
			outs = append(outs, out)
		}
		switch {
		case len(outs) > 0:
			o.State = store.Routed
		case len(routes) == 0 && len(o.Errors) == 0:
			o.State = store.Unrouted
		case skipped == len(routes) && len(o.Errors) == 0:
			o.State = store.Skipped
		default:
			o.State = store.Failed
		}
	}
	e.m.routed.WithLabelValues(o.State.String()).Inc()
	ds, err := e.db.Route(seq, o, outs)
	if err != nil {
		// The message stays pending: scan the pending list again, from
		// the start, so that it is routed again (in a second, by the idle
		// scan), without waiting for a restart.
		p.log.Error("record routing", "seq", seq, "err", err)
		p.mu.Lock()
		p.rescan = true
		p.mu.Unlock()
		return false
	}
	if o.State != store.Routed {
		p.log.Info("not routed", "seq", seq, "outcome", o.State.String(), "control_id", j.rec.ControlID, "type", j.rec.Type, "errors", len(o.Errors))
	}
	for _, d := range ds {
		if r := e.dests[d.Dest]; r != nil {
			r.queued()
		}
	}
	return true
}

// destKeys computes the partition keys of the route's destinations that
// have a key: expression. One that fails, or comes out empty, leaves the
// message on the patient's key (with a note in the outcome), rather than
// holding up the delivery.
func (p *pipeline) destKeys(r *route, j *job, errs *[]string) map[string]string {
	var keys map[string]string
	for _, name := range r.cfg.To {
		d := p.e.dests[name]
		if d == nil || d.cfg.Key == nil {
			continue
		}
		k, err := d.cfg.Key.Eval(j.msg)
		if err != nil {
			*errs = append(*errs, fmt.Sprintf("destination %s: key: %v (the patient key is used)", name, err))
			continue
		}
		if k == "" {
			continue
		}
		if keys == nil {
			keys = map[string]string{}
		}
		keys[name] = k
	}
	return keys
}

// route is a compiled route.
type route struct {
	cfg   *config.Route
	rules *transforms.Rules
	// builtin maps by name, loaded at start for transform: builtin
	builtins map[string]*transforms.Rules
}

// matchRoutes returns the routes among rs whose when holds for m. A when
// that fails on m is an error for that route (recorded in errs if given).
func (e *Engine) matchRoutes(rs []*route, m *hl7.Message, errs *[]string) []*route {
	var out []*route
	for _, r := range rs {
		if r.cfg.When != nil {
			ok, err := r.cfg.When.Eval(m)
			if err != nil {
				if errs != nil {
					*errs = append(*errs, fmt.Sprintf("route %s: %v", r.cfg.Name, err))
				}
				continue
			}
			if !ok {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// safeConvert is convert that turns a panic (a bug, in a converter say)
// into this message's failure: the message was acknowledged already, and
// a panic would otherwise crash the engine again on every restart.
func (r *route) safeConvert(buf []byte, m *hl7.Message, rec *store.Record) (out store.Output, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error converting the message (please report): %v", v)
		}
	}()
	return r.convert(buf, m, rec)
}

// errNothingToConvert is a route's answer for a message that rightly
// makes no body (an ACK under transform: builtin): neither a delivery nor
// a failure.
var errNothingToConvert = errors.New("nothing to convert")

// maxKeptBuffer bounds the Bundle buffer a worker keeps between messages,
// so that one huge message does not pin its memory.
const maxKeptBuffer = 1 << 20

// convert makes the route's body for one message.
func (r *route) convert(buf []byte, m *hl7.Message, rec *store.Record) (store.Output, error) {
	out := store.Output{Route: r.cfg.Name, Dests: r.cfg.To}
	if r.cfg.Transform == config.TransformRaw {
		out.ContentType = channels.ContentHL7v2
		out.Body = rec.Raw
		return out, nil
	}
	rules := r.rules
	if rules == nil {
		if why := maps.NoResources(m.Header()); why != "" {
			return out, fmt.Errorf("%w: %s", errNothingToConvert, why)
		}
		name, err := maps.Select(m.Header())
		if err != nil {
			return out, err
		}
		if rules = r.builtins[name]; rules == nil {
			return out, fmt.Errorf("built-in map %s not loaded", name)
		}
	}
	res, err := rules.ConvertAppend(buf, m)
	if err != nil {
		return out, err
	}
	out.ContentType = channels.ContentFHIR
	out.Body = res.Bundle
	return out, nil
}

// partitionKey is the patient: PID-3's first identifier with its
// assigning authority; messages without one fall back to the sending
// facility, so that a feed without patients still keeps its order.
func partitionKey(m *hl7.Message) string {
	if v := m.Get(pidID); v.HasValue() {
		if aa := m.Get(pidAuthority).String(); aa != "" {
			return v.String() + "^" + aa
		}
		return v.String()
	}
	return "facility:" + m.Get(mshFacility).String()
}

var (
	pidID        = hl7.MustPath("PID-3[1].1")
	pidAuthority = hl7.MustPath("PID-3[1].4.1")
	mshFacility  = hl7.MustPath("MSH-4")
)

// safeParse is hl7.ParseWith with a panic made an error, for the same
// reason as safeConvert.
func safeParse(raw []byte, o hl7.ParseOptions) (m *hl7.Message, err error) {
	defer func() {
		if v := recover(); v != nil {
			m, err = nil, fmt.Errorf("internal error parsing the message (please report): %v", v)
		}
	}()
	return hl7.ParseWith(raw, o)
}
