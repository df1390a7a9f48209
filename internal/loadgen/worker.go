package loadgen

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

// worker is one connection: it sends a message, waits for the reply, checks
// it, and sends the next.
type worker struct {
	r  *runner
	id int

	nc        net.Conn
	rd        *mllp.Reader
	stopWatch func() bool // unregisters the ctx watch of nc
	buf       []byte      // the frame being sent, reused
	timer     *time.Timer // for pacing and backoff, reused

	st stats
}

// stats are one connection's counters, read by Run once the worker is done.
type stats struct {
	out                   [numOutcomes]int64
	warmSent, warmFailed  int64
	interrupted           int64 // claimed or in flight when ctx ended
	dialErrs, unsolicited int64
	reconnects            int64
	late                  int64
	maxLag                time.Duration
	lat, sched            *histogram // sched only with a Rate
	lastDone              time.Time
}

func newWorker(r *runner, id int) *worker {
	t := time.NewTimer(time.Hour)
	t.Stop()
	w := &worker{r: r, id: id, timer: t}
	w.st.lat = new(histogram)
	if r.interval > 0 {
		w.st.sched = new(histogram)
	}
	return w
}

// run sends until the run is over. It returns an error only when the
// connection could not be reopened for ReconnectFor.
func (w *worker) run(ctx, stop context.Context) error {
	defer w.discard()
	for {
		c, ok := w.r.next(stop, w.timer)
		if !ok {
			return nil
		}
		if err := w.ensureConn(ctx, stop); err != nil {
			if stop.Err() != nil {
				return nil // the run ended while reconnecting
			}
			return err
		}
		w.send(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// ensureConn makes sure there is a connection fit to carry the next
// message.
func (w *worker) ensureConn(ctx, stop context.Context) error {
	// A receiver may follow its <FS><CR> with a stray LF or CRLF, which the
	// reader skips as bytes outside any frame. More than that is something
	// nobody asked for (a second reply?); reading it as the next reply
	// would mismatch from now on.
	if w.nc != nil && w.rd.Buffered() > 2 {
		w.st.unsolicited++
		w.discard()
	}
	if w.nc != nil {
		return nil
	}
	backoff := 10 * time.Millisecond
	var failingSince time.Time
	for {
		err := w.dial(ctx)
		if err == nil {
			w.st.reconnects++
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		w.st.dialErrs++
		now := time.Now()
		if failingSince.IsZero() {
			failingSince = now
		} else if now.Sub(failingSince) > w.r.opts.ReconnectFor {
			return fmt.Errorf("loadgen: connection %d: no connection for %v: %w", w.id, w.r.opts.ReconnectFor, err)
		}
		if !sleepUntil(stop, w.timer, now.Add(backoff)) {
			return err
		}
		backoff = min(2*backoff, time.Second)
	}
}

// dial opens the connection.
func (w *worker) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: w.r.opts.Timeout}
	nc, err := d.DialContext(ctx, "tcp", w.r.opts.Addr)
	if err != nil {
		return fmt.Errorf("connection %d: %w", w.id, err)
	}
	if w.rd == nil {
		w.rd = mllp.NewReader(nc, mllp.ReaderOptions{})
	} else {
		w.rd.Reset(nc)
	}
	w.nc = nc
	// Deadlines bound each reply; this makes a cancelled run return at once
	// rather than after Timeout.
	w.stopWatch = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (w *worker) discard() {
	if w.nc == nil {
		return
	}
	w.stopWatch()
	w.nc.Close()
	w.nc = nil
}

// send makes one round trip and counts its outcome.
func (w *worker) send(ctx context.Context, c claim) {
	frame, id := w.r.build(w.buf[:0], c.seq)
	w.buf = frame

	t0 := time.Now()
	_ = w.nc.SetDeadline(t0.Add(w.r.opts.Timeout))
	// Checked after SetDeadline: a cancellation from now on sets the
	// deadline after ours, and one before it is seen here.
	if ctx.Err() != nil {
		w.st.interrupted++
		return
	}
	_, err := w.nc.Write(frame)
	var reply []byte
	if err == nil {
		reply, err = w.rd.ReadFrame()
	}
	t1 := time.Now()
	if err != nil && ctx.Err() != nil {
		w.st.interrupted++
		w.discard()
		return
	}
	out := outAcked
	if err != nil {
		out = classifyErr(err)
	} else {
		out = classifyAck(reply, id)
	}
	if !out.answered() {
		// After a timeout a late reply could be read as the next one's;
		// after a mismatch the replies may already be out of step. A new
		// connection starts clean.
		w.discard()
	}
	w.record(c, out, t0, t1)
}

func (w *worker) record(c claim, out outcome, t0, t1 time.Time) {
	r, s := w.r, &w.st
	r.finished.Add(1)
	if c.warm {
		s.warmSent++
		if out != outAcked {
			s.warmFailed++
		}
		return
	}
	r.measured.Add(1)
	if out != outAcked {
		r.failed.Add(1)
	}
	s.out[out]++
	s.lastDone = t1
	if out.answered() {
		s.lat.record(t1.Sub(t0))
	}
	if s.sched != nil {
		if out.answered() {
			s.sched.record(t1.Sub(c.due))
		}
		lag := t0.Sub(c.due)
		if lag > LateAfter {
			s.late++
		}
		s.maxLag = max(s.maxLag, lag)
	}
}
