package loadgen

import "time"

// report merges the connections' counters.
func (r *runner) report(workers []*worker) Report {
	o := r.opts
	rep := Report{
		Addr: o.Addr, Conns: o.Conns, Messages: len(o.Messages), Rate: o.Rate,
		Warmup: o.Warmup, Duration: o.Duration, Count: o.Count,
		Nacked: map[string]int64{}, Errors: map[string]int64{}, ConnErrors: map[string]int64{},
	}
	var out [numOutcomes]int64
	lat, sched := new(histogram), new(histogram)
	var last time.Time
	for _, w := range workers {
		s := &w.st
		for i, n := range s.out {
			out[i] += n
		}
		lat.merge(s.lat)
		if s.sched != nil {
			sched.merge(s.sched)
		}
		rep.WarmupSent += s.warmSent
		rep.WarmupFailed += s.warmFailed
		rep.Interrupted += s.interrupted
		rep.Reconnects += s.reconnects
		rep.Late += s.late
		rep.MaxLag = max(rep.MaxLag, s.maxLag)
		addNonZero(rep.ConnErrors, "dial", s.dialErrs)
		addNonZero(rep.ConnErrors, "unsolicited", s.unsolicited)
		if s.lastDone.After(last) {
			last = s.lastDone
		}
	}
	for i, n := range out {
		o := outcome(i)
		rep.Sent += n
		switch {
		case o == outAcked:
			rep.Acked = n
		case o.nack():
			addNonZero(rep.Nacked, o.String(), n)
		default:
			addNonZero(rep.Errors, o.String(), n)
		}
	}
	if last.After(r.measureFrom) {
		rep.Elapsed = last.Sub(r.measureFrom)
	}
	if rep.Elapsed > 0 {
		rep.MsgsPerSec = float64(rep.Acked+rep.NackCount()) / rep.Elapsed.Seconds()
	}
	rep.Latency = lat.summary()
	if r.interval > 0 {
		s := sched.summary()
		rep.Scheduled = &s
	}
	return rep
}

func addNonZero(m map[string]int64, k string, n int64) {
	if n != 0 {
		m[k] += n
	}
}
