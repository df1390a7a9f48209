package loadgen

import (
	"context"
	"time"
)

// stopContext is ctx, ended also at the end of a Duration: it bounds the
// waits between messages (pacing, reconnect backoff), never a message in
// flight.
func (r *runner) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.endAt.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, r.endAt)
}

// claim is one message a connection may send.
type claim struct {
	seq  int64     // 1-based; picks the template and makes the control id
	due  time.Time // when it should go out; zero without a Rate
	warm bool      // in the warmup
}

// next hands out the next message to send, waiting for its due time with a
// Rate. ok is false when the run is over.
func (r *runner) next(stop context.Context, t *time.Timer) (c claim, ok bool) {
	if stop.Err() != nil {
		return c, false
	}
	now := time.Now()
	if r.interval > 0 {
		k := r.tickets.Add(1) - 1
		c.due = r.start.Add(time.Duration(float64(k) * r.interval))
		if !r.endAt.IsZero() && !c.due.Before(r.endAt) {
			return c, false
		}
		if !sleepUntil(stop, t, c.due) {
			return c, false
		}
		now = c.due
	} else if !r.endAt.IsZero() && !now.Before(r.endAt) {
		return c, false
	}
	c.warm = now.Before(r.measureFrom)
	if !c.warm && r.opts.Count > 0 && r.claimed.Add(1) > r.opts.Count {
		return c, false
	}
	c.seq = r.seq.Add(1)
	return c, true
}

// sleepUntil waits for when, reusing t; false means ctx ended first.
func sleepUntil(ctx context.Context, t *time.Timer, when time.Time) bool {
	d := time.Until(when)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

func (r *runner) build(dst []byte, seq int64) (frame, id []byte) {
	t := &r.tmpl[(seq-1)%int64(len(r.tmpl))]
	return t.build(dst, seq, r.ids)
}
