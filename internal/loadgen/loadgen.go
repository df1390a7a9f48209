// Package loadgen drives an MLLP listener with HL7 v2 messages and measures
// what it answers: throughput, ACK latency percentiles, every NAK and error
// by kind, and optionally the receiver's memory. It is the engine of
// `plexus bench`.
//
// Each connection is a raw TCP connection with an mllp.Reader: it sends a
// message, waits for its reply, checks it and sends the next, as an HL7
// sender in original mode does. Messages are built from prebuilt templates
// with a fresh control id (and optionally patient id) spliced in, and replies
// are checked by reading MSA alone, so that the generator, which usually
// shares the machine with the receiver, spends as little CPU as it can.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultReconnectFor = 30 * time.Second
	DefaultRSSEvery     = time.Second
)

// Options describe a run. A run needs Addr, Messages, and a Duration or a
// Count (or both: whichever ends first).
type Options struct {
	Addr string // host:port of the MLLP listener

	// Messages are sent in turn, each with its MSH-10 replaced by a control
	// id unique to the run (a random prefix and a sequence number, at most
	// 20 characters, ST's length before v2.7).
	Messages [][]byte

	// Conns is the number of connections, each with one message in flight.
	// Zero means 1.
	Conns int

	// Duration is how long to measure, after the Warmup.
	Duration time.Duration
	// Count is how many messages to measure, after the Warmup.
	Count int64
	// Warmup is a time spent sending before measuring; what happens in it
	// is left out of the report (connections are always opened before it).
	Warmup time.Duration

	// Rate, when positive, offers this many messages per second in total,
	// open loop: message k is due at start + k/Rate whatever the replies
	// do, and is sent by the first connection free. When no connection is
	// free the message goes out late; the report counts those.
	Rate float64

	// Patients, when positive, replaces PID-3.1 with one of this many
	// patient ids ("LG0", "LG1", ...) in turn, so that a receiver that
	// partitions by patient spreads the load. Make it larger than the
	// number of messages for a new patient each time. Zero keeps PID-3.1.
	Patients int64

	// Timeout bounds each reply and each connection attempt. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// ReconnectFor is how long a connection keeps trying to reconnect
	// before the run gives up. Zero means DefaultReconnectFor.
	ReconnectFor time.Duration

	// WatchPID, when not 0, is a process whose RSS (Linux) is sampled every
	// RSSEvery (zero: DefaultRSSEvery) and reported.
	WatchPID int
	RSSEvery time.Duration

	// Progress, when set, is called about once a second from a goroutine
	// of Run's, never after Run returns.
	Progress func(Progress)

	progressEvery time.Duration // tests shorten it; zero means a second
}

// runner is the state the connections of one run share.
type runner struct {
	opts     Options
	tmpl     []template
	ids      ids
	interval float64 // ns between due times with a Rate; 0 without

	start, measureFrom, endAt time.Time // endAt is zero without a Duration

	seq     atomic.Int64 // control id sequence, warmup included
	tickets atomic.Int64 // due-time slots handed out (with a Rate)
	claimed atomic.Int64 // measured messages handed out (with a Count)

	// For the progress line only; the report is built from each
	// connection's own counters.
	finished, measured, failed atomic.Int64
}

// Run drives opts.Addr until the Duration has passed, the Count has been
// sent, or ctx is done, and reports what happened. The error is nil when the
// run completed, whatever the receiver answered (see Report.Failed); it is
// not nil when the run could not start, when a connection could not be
// reopened for ReconnectFor, or when ctx was done. In the last two cases the
// Report holds what was measured until then.
func Run(ctx context.Context, opts Options) (Report, error) {
	r, err := newRunner(opts)
	if err != nil {
		return Report{}, err
	}
	opts = r.opts

	var rss *rssSampler
	if opts.WatchPID != 0 {
		if rss, err = newRSSSampler(opts.WatchPID, opts.RSSEvery); err != nil {
			return Report{}, fmt.Errorf("loadgen: %w", err)
		}
	}

	workers := make([]*worker, opts.Conns)
	if err := r.connectAll(ctx, workers); err != nil {
		return Report{}, err
	}

	r.start = time.Now()
	r.measureFrom = r.start.Add(opts.Warmup)
	// stop ends waits (pacing, backoff) at the end of the run; messages in
	// flight then still get their reply, under ctx.
	if opts.Duration > 0 {
		r.endAt = r.measureFrom.Add(opts.Duration)
	}
	stop, cancelStop := r.stopContext(ctx)
	defer cancelStop()

	// The helpers stop when the workers are done, not at a deadline.
	helpers, stopHelpers := context.WithCancel(ctx)
	var hw sync.WaitGroup
	if rss != nil {
		hw.Go(func() { rss.run(helpers, r.measureFrom) })
	}
	if opts.Progress != nil {
		hw.Go(func() { r.progress(helpers, rss) })
	}

	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Go(func() { errs[i] = w.run(ctx, stop) })
	}
	wg.Wait()
	stopHelpers()
	hw.Wait()

	rep := r.report(workers)
	if rss != nil {
		rss.sample(true)
		rep.RSS = rss.result()
	}
	err = errors.Join(errs...)
	if ctx.Err() != nil {
		err = errors.Join(fmt.Errorf("loadgen: run cut short: %w", context.Cause(ctx)), err)
	}
	return rep, err
}

func newRunner(opts Options) (*runner, error) {
	switch {
	case opts.Addr == "":
		return nil, errors.New("loadgen: no address to send to")
	case len(opts.Messages) == 0:
		return nil, errors.New("loadgen: no messages to send")
	case opts.Duration <= 0 && opts.Count <= 0:
		return nil, errors.New("loadgen: set a Duration or a Count")
	case opts.Rate < 0 || opts.Patients < 0 || opts.Conns < 0:
		return nil, errors.New("loadgen: Rate, Patients and Conns must not be negative")
	}
	opts.Conns = max(opts.Conns, 1)
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ReconnectFor <= 0 {
		opts.ReconnectFor = DefaultReconnectFor
	}
	if opts.RSSEvery <= 0 {
		opts.RSSEvery = DefaultRSSEvery
	}
	if opts.progressEvery <= 0 {
		opts.progressEvery = time.Second
	}
	r := &runner{opts: opts, ids: ids{prefix: runPrefix(), patients: opts.Patients}}
	if opts.Rate > 0 {
		r.interval = float64(time.Second) / opts.Rate
	}
	withPID := false
	for i, raw := range opts.Messages {
		t, err := newTemplate(raw)
		if err == nil {
			err = t.check(r.ids)
		}
		if err != nil {
			return nil, fmt.Errorf("loadgen: message %d: %w", i+1, err)
		}
		withPID = withPID || t.hasPID
		r.tmpl = append(r.tmpl, t)
	}
	if opts.Patients > 0 && !withPID {
		return nil, errors.New("loadgen: Patients is set but no message has a PID-3 to rewrite")
	}
	return r, nil
}

// runPrefix starts every control id of a run: "LG" and 6 random base-36
// digits, so that a receiver that drops duplicate control ids does not take
// a second run's messages for the first's. With a decimal sequence number
// after it, a control id stays within 20 characters up to 10^12 messages.
func runPrefix() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := []byte("LG")
	for range 6 {
		b = append(b, digits[rand.N(len(digits))])
	}
	return string(b)
}

// connectAll opens every connection before the clock starts, so that
// connection setup is not measured, and fails at once if the receiver
// cannot be reached.
func (r *runner) connectAll(ctx context.Context, workers []*worker) error {
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = newWorker(r, i)
		wg.Go(func() { errs[i] = workers[i].dial(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, w := range workers {
			w.discard()
		}
		return fmt.Errorf("loadgen: %w", err)
	}
	return nil
}
