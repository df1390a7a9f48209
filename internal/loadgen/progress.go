package loadgen

import (
	"context"
	"time"
)

// Progress is a snapshot for a progress line.
type Progress struct {
	Elapsed time.Duration // since the start, warmup included
	Warmup  bool          // still in the warmup
	Rate    float64       // messages finished per second since the last call
	Total   int64         // measured messages finished (the warmup's are not counted)
	Failed  int64         // of Total, not acknowledged with AA/CA
	RSS     int64         // last RSS sample of WatchPID, 0 when not watching
}

// progress calls opts.Progress every progressEvery until ctx is done.
func (r *runner) progress(ctx context.Context, rss *rssSampler) {
	t := time.NewTicker(r.opts.progressEvery)
	defer t.Stop()
	last, lastAt := int64(0), r.start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := r.finished.Load()
			p := Progress{
				Elapsed: now.Sub(r.start),
				Warmup:  now.Before(r.measureFrom),
				Rate:    float64(n-last) / now.Sub(lastAt).Seconds(),
				Total:   r.measured.Load(),
				Failed:  r.failed.Load(),
			}
			if rss != nil {
				p.RSS = rss.last.Load()
			}
			last, lastAt = n, now
			r.opts.Progress(p)
		}
	}
}
