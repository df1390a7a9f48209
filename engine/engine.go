// Package engine wires routes.yaml into a running interface engine: MLLP
// listeners that journal before they acknowledge, the pipeline that routes
// and converts, one outbox runner per destination, metrics, health and the
// admin API. See DESIGN.md, "The path of one message".
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/engine/store"
	"github.com/plexus-hl7/plexus/mllp"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// Options configure an Engine.
type Options struct {
	Config *config.Config
	// DataDir holds the store.
	DataDir string
	Logger  *slog.Logger
}

// Engine is a running Plexus.
type Engine struct {
	cfg  *config.Config
	log  *slog.Logger
	m    *metrics
	db   *store.DB
	pipe *pipeline

	listeners map[string]*listener
	routing   atomic.Pointer[routing] // swapped whole by Reload
	dests     map[string]*destination

	senders senders
	// handlers counts messages being ingested, so that the store is not
	// closed under one
	handlers sync.WaitGroup

	pipeCancel, destCancel context.CancelFunc
	retentionDone          chan struct{}
	started                bool
	ready                  atomic.Bool
	stopOnce               sync.Once
}

var dedupeModes = map[string]store.Dedupe{"off": store.DedupeOff, "record": store.DedupeRecord,
	"ignore": store.DedupeIgnore, "process": store.DedupeProcess}

// New opens the store and the destinations and compiles the routes;
// nothing listens yet.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	e := &Engine{cfg: cfg, log: o.Logger, m: newMetrics(), listeners: map[string]*listener{},
		dests: map[string]*destination{}}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	dedupe := dedupeModes[cfg.Duplicates.Action]
	db, err := store.Open(filepath.Join(o.DataDir, "store"), store.Options{
		Dedupe: dedupe, DedupeWindow: cfg.Duplicates.Window, Logger: o.Logger,
		Commit: func(n int, d time.Duration) {
			e.m.commitSize.Observe(float64(n))
			e.m.commitLatency.Observe(d.Seconds())
		},
		Writers: e.senders.active,
		OnCommit: func(recs []*store.Record) {
			if e.pipe != nil {
				e.pipe.committed(recs)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	e.db = db
	if err := e.build(ctx); err != nil {
		e.closeAll()
		return nil, err
	}
	return e, nil
}

func (e *Engine) build(ctx context.Context) error {
	cfg := e.cfg
	rt, err := buildRouting(cfg)
	if err != nil {
		return err
	}
	e.routing.Store(rt)
	// destinations
	for _, dc := range cfg.Destinations {
		dst, err := dc.Config.Open(ctx, channels.OpenOptions{Name: dc.Name, Logger: e.log.With("destination", dc.Name, "kind", dc.Kind), BaseDir: cfg.Dir})
		if err != nil {
			return fmt.Errorf("open destination %s (%s): %w", dc.Name, dc.Kind, err)
		}
		n, err := e.db.OutboxLen(dc.Name)
		if err != nil {
			dst.Close()
			return err
		}
		e.dests[dc.Name] = newDestination(e, dc, dst, n)
	}
	if err := e.deadLetterOrphans(); err != nil {
		return err
	}
	// listeners
	for _, lc := range cfg.Listeners {
		if err := e.listener(lc); err != nil {
			return err
		}
	}
	pending, err := e.db.PendingLen()
	if err != nil {
		return err
	}
	e.pipe = newPipeline(e, pending)
	return nil
}

// deadLetterOrphans dead-letters the deliveries still waiting for a
// destination that routes.yaml no longer names (removed or renamed while
// they waited). Nothing would ever deliver them, and they would keep their
// messages unsettled (never pruned) and out of sight; as dead letters they
// show in the browser, with the reason, and can be replayed with reroute
// through the routes as they are now.
func (e *Engine) deadLetterOrphans() error {
	names, err := e.db.OutboxDests()
	if err != nil {
		return err
	}
	for _, name := range names {
		if e.dests[name] != nil {
			continue
		}
		reason := fmt.Sprintf("destination %s is no longer in %s", name, e.cfg.File)
		n := 0
		for {
			batch, err := e.db.Outbox(name, 0, 512)
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				break
			}
			now := time.Now()
			for _, d := range batch {
				if err := e.db.Dead(d, now, reason, nil); err != nil {
					return err
				}
				e.m.deliveries.WithLabelValues(name, "dead").Inc()
			}
			n += len(batch)
		}
		e.log.Warn("dead-lettered the deliveries of a destination no longer configured; replay them with reroute", "destination", name, "deliveries", n)
	}
	return nil
}

// routing is the compiled routes, per listener, in file order.
type routing struct {
	from map[string][]*route
}

func buildRouting(cfg *config.Config) (*routing, error) {
	var builtins map[string]*transforms.Rules
	var all []*route
	for _, rc := range cfg.Routes {
		r := &route{cfg: rc, rules: rc.Rules}
		if rc.Transform == config.TransformBuiltin {
			if builtins == nil {
				var err error
				if builtins, err = loadBuiltins(); err != nil {
					return nil, err
				}
			}
			r.builtins = builtins
		}
		all = append(all, r)
	}
	rt := &routing{from: map[string][]*route{}}
	for _, lc := range cfg.Listeners {
		for _, r := range all {
			if len(r.cfg.From) == 0 || slices.Contains(r.cfg.From, lc.Name) {
				rt.from[lc.Name] = append(rt.from[lc.Name], r)
			}
		}
	}
	return rt, nil
}

// routesFrom returns listener's routes as they are now.
func (e *Engine) routesFrom(listener string) []*route { return e.routing.Load().from[listener] }

// ErrRestartNeeded is returned by Reload for a change it cannot make live.
var ErrRestartNeeded = errors.New("restart needed")

// Reload swaps in cfg's routes (when, transform, to, from) without
// dropping a connection; messages routed from then on use them. Listeners,
// destinations, pipeline, duplicates and retention must be as before
// (ErrRestartNeeded otherwise): they hold sockets, connections and state.
func (e *Engine) Reload(cfg *config.Config) error {
	if why := cfg.SameEndpoints(e.cfg); why != "" {
		return fmt.Errorf("%w: %s", ErrRestartNeeded, why)
	}
	rt, err := buildRouting(cfg)
	if err != nil {
		return err
	}
	e.routing.Store(rt)
	e.log.Info("routes reloaded", "routes", len(cfg.Routes))
	return nil
}

func loadBuiltins() (map[string]*transforms.Rules, error) {
	names, err := maps.Names()
	if err != nil {
		return nil, err
	}
	out := map[string]*transforms.Rules{}
	for _, n := range names {
		r, err := (&transforms.Loader{Builtins: maps.FS}).Load(n)
		if err != nil {
			return nil, fmt.Errorf("built-in map %s: %w", n, err)
		}
		out[n] = r
	}
	return out, nil
}

func (e *Engine) listener(lc *config.Listener) error {
	l := &listener{e: e, cfg: lc, log: e.log.With("listener", lc.Name), index: len(e.listeners),
		received:   e.m.received.WithLabelValues(lc.Name),
		ackLatency: e.m.ackLatency.WithLabelValues(lc.Name),
		duplicates: e.m.duplicates.WithLabelValues(lc.Name),
	}
	l.parseOpts.FallbackCharset = lc.Charset
	if d := lc.Duplicates; d != nil {
		l.dedupe = &store.DedupePolicy{Mode: dedupeModes[d.Action], Window: d.Window}
	}
	if len(lc.Versions) > 0 {
		l.versions = map[string]bool{}
		for _, v := range lc.Versions {
			l.versions[v] = true
		}
	}
	opts := mllp.ServerOptions{
		MaxConns: lc.MLLP.MaxConns, MaxFrameSize: lc.MLLP.MaxFrame,
		ReadTimeout: lc.MLLP.ReadTimeout, IdleTimeout: lc.MLLP.IdleTimeout, WriteTimeout: lc.MLLP.WriteTimeout,
		Logger:       l.log,
		OnFrameError: l.frameTooLarge,
	}
	if t := lc.MLLP.TLS; t != nil {
		abs := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(e.cfg.Dir, p)
		}
		tc, err := mllp.ServerTLSConfig(abs(t.Cert), abs(t.Key), abs(t.ClientCA))
		if err != nil {
			return fmt.Errorf("listener %s: %w", lc.Name, err)
		}
		opts.TLSConfig = tc
	}
	l.srv = mllp.NewServer(l, opts)
	e.listeners[lc.Name] = l
	return nil
}

// Start binds every listener and starts the pipeline and the outbox
// runners. Messages journaled before a crash resume first, in order.
func (e *Engine) Start(ctx context.Context) error {
	for _, l := range e.listeners {
		ln, err := net.Listen("tcp", l.cfg.MLLP.Addr)
		if err != nil {
			for _, o := range e.listeners {
				if o.ln != nil {
					o.ln.Close()
				}
			}
			return fmt.Errorf("listener %s: %w", l.cfg.Name, err)
		}
		l.ln = ln
	}
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	dctx, dcancel := context.WithCancel(context.WithoutCancel(ctx))
	e.pipeCancel, e.destCancel = pcancel, dcancel
	for _, d := range e.dests {
		d.start(dctx)
	}
	e.pipe.start(pctx)
	if e.cfg.Retention.Keep > 0 {
		e.retentionDone = make(chan struct{})
		go e.prune(pctx)
	}
	for _, l := range e.listeners {
		go func() {
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, mllp.ErrServerClosed) {
				e.log.Error("listener stopped", "listener", l.cfg.Name, "err", err)
			}
		}()
		e.log.Info("listening", "listener", l.cfg.Name, "addr", l.ln.Addr().String())
	}
	e.started = true
	e.ready.Store(true)
	return nil
}

// Addr is the address listener name is bound to (after Start).
func (e *Engine) Addr(name string) net.Addr {
	if l := e.listeners[name]; l != nil && l.ln != nil {
		return l.ln.Addr()
	}
	return nil
}

// Shutdown stops taking messages (connections finish their current
// message and get its ACK), routes what was journaled, gives the
// destinations until ctx ends to deliver what is pending, then stops
// everything and closes the store. Undelivered entries stay in the outbox
// for the next start.
func (e *Engine) Shutdown(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		e.ready.Store(false)
		if !e.started {
			e.closeAll()
			return
		}
		var wg sync.WaitGroup
		for _, l := range e.listeners {
			wg.Go(func() {
				if e := l.srv.Shutdown(ctx); e != nil && !errors.Is(e, mllp.ErrServerClosed) {
					l.log.Warn("listener shutdown", "err", e)
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			// out of time: cut the connections still busy (their
			// handlers see their context end) ...
			for _, l := range e.listeners {
				l.srv.Close()
			}
		}
		// ... and let every handler return before anything closes
		e.handlers.Wait()
		// Route everything journaled, unless time runs out.
		for e.pipe.backlog.Load() > 0 && ctx.Err() == nil {
			sleep(ctx, 10*time.Millisecond)
		}
		e.pipeCancel()
		e.pipe.wait()
		if e.retentionDone != nil {
			<-e.retentionDone
		}
		for e.pendingDeliveries() > 0 && ctx.Err() == nil {
			sleep(ctx, 10*time.Millisecond)
		}
		e.destCancel()
		for _, d := range e.dests {
			d.wait()
		}
		err = e.closeAll()
	})
	return err
}

func (e *Engine) pendingDeliveries() int64 {
	var n int64
	for _, d := range e.dests {
		n += d.pending.Load()
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (e *Engine) closeAll() error {
	var errs []error
	for _, d := range e.dests {
		if err := d.dst.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close destination %s: %w", d.cfg.Name, err))
		}
	}
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	return errors.Join(errs...)
}

// Handler serves the admin endpoints: /metrics, /healthz, /readyz and the
// API under /api/.
func (e *Engine) Handler() http.Handler { return e.adminMux() }

// senders tracks the connections that sent a message lately: the group
// commit lingers for as many appends as there are such senders, since each
// of them is about to send its next message (an MLLP sender waits for the
// ACK of one before it sends the next).
type senders struct {
	mu     sync.Mutex
	last   map[uint64]time.Time // connection id -> last message
	count  atomic.Int64
	pruned time.Time
}

// recentSender is how recently a connection must have sent to count.
const recentSender = 20 * time.Millisecond

func (s *senders) saw(conn uint64, now time.Time) {
	s.mu.Lock()
	if s.last == nil {
		s.last = map[uint64]time.Time{}
	}
	s.last[conn] = now
	if now.Sub(s.pruned) > recentSender/4 {
		n := 0
		for id, t := range s.last {
			if now.Sub(t) > recentSender {
				delete(s.last, id)
			} else {
				n++
			}
		}
		s.count.Store(int64(n))
		s.pruned = now
	}
	s.mu.Unlock()
}

func (s *senders) active() int { return int(s.count.Load()) }

// prune deletes settled messages older than the retention, now and then.
func (e *Engine) prune(ctx context.Context) {
	defer close(e.retentionDone)
	t := time.NewTicker(e.cfg.Retention.Every)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-e.cfg.Retention.Keep)
		n, err := e.db.Prune(cutoff, 0)
		if err != nil {
			e.log.Error("retention", "err", err)
		} else if n > 0 {
			e.m.pruned.Add(float64(n))
			e.log.Info("retention", "pruned", n, "received_before", cutoff.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
