package loadgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Latency summarises ACK latencies: from writing a message to reading its
// reply. Percentiles come from a log-linear histogram and are within 0.8%
// of the exact value; Min, Max and Mean are exact.
type Latency struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Report is the outcome of a Run. Every count leaves out the warmup.
//
// Sent = Acked + the Nacked counts + the Errors counts: each message sent is
// acknowledged, refused or failed, exactly once.
type Report struct {
	Addr     string        `json:"addr"`
	Conns    int           `json:"conns"`
	Messages int           `json:"messages"`        // distinct input messages, sent in turn
	Rate     float64       `json:"rate,omitempty"`  // offered msgs/s; 0 means as fast as the replies come
	Warmup   time.Duration `json:"warmup_ns"`       // excluded from everything below
	Duration time.Duration `json:"duration_ns"`     // asked for; 0 with a Count
	Count    int64         `json:"count,omitempty"` // asked for

	Sent   int64            `json:"sent"`
	Acked  int64            `json:"acked"`  // MSA-1 AA or CA with our control id in MSA-2
	Nacked map[string]int64 `json:"nacked"` // by MSA-1: AE, AR, CE, CR
	// Errors are messages without a valid answer, by kind: timeout (none
	// within Timeout), closed (connection closed before the reply), io
	// (other read or write failure), mismatch (MSA-2 is not the control id
	// sent), bad-ack (no MSA, or MSA-1 no ACK code).
	Errors map[string]int64 `json:"errors"`
	// ConnErrors are failures not tied to a message: dial (a reconnect
	// failed) and unsolicited (bytes arrived that no message asked for).
	ConnErrors map[string]int64 `json:"conn_errors"`
	Reconnects int64            `json:"reconnects"` // connections reopened after an error
	// Interrupted messages were about to be sent or in flight when ctx
	// ended the run; they are not counted in Sent.
	Interrupted  int64 `json:"interrupted,omitempty"`
	WarmupSent   int64 `json:"warmup_sent"`
	WarmupFailed int64 `json:"warmup_failed"` // not acknowledged with AA/CA

	// Elapsed runs from the end of the warmup to the last reply.
	Elapsed    time.Duration `json:"elapsed_ns"`
	MsgsPerSec float64       `json:"msgs_per_sec"` // replies (Acked + Nacked) per second of Elapsed
	Latency    Latency       `json:"latency"`

	// With a Rate: Scheduled is the latency from when each message was due
	// to be sent, which includes any wait for a free connection (what a
	// sender with that rate would see) and the pacing's own imprecision
	// (see LateAfter); Late counts messages sent more than LateAfter after
	// they were due, and MaxLag is the worst delay.
	Scheduled *Latency      `json:"scheduled,omitempty"`
	Late      int64         `json:"late,omitempty"`
	MaxLag    time.Duration `json:"max_lag_ns,omitempty"`

	RSS *RSS `json:"rss,omitempty"`
}

// LateAfter is how long after its due time a message may be sent before it
// counts as late. Go's timers wake a sleeping process up to about a
// millisecond late (epoll waits in whole milliseconds): measured here at
// 1,000 and 20,000 msgs/s, sends went out 0.5 ms after their due time at the
// median and 3.7 ms at worst while every connection was free. That is the
// pacing's precision, not the generator falling behind; a generator that
// cannot keep up falls further behind with every message and soon passes
// any threshold.
const LateAfter = 5 * time.Millisecond

// NackCount is the total of Nacked.
func (r *Report) NackCount() int64 { return sum(r.Nacked) }

// ErrorCount is the total of Errors.
func (r *Report) ErrorCount() int64 { return sum(r.Errors) }

// Failed counts messages not acknowledged with AA or CA.
func (r *Report) Failed() int64 { return r.NackCount() + r.ErrorCount() }

// FellBehind reports that the generator could not offer the asked Rate:
// more than 1% of messages went out more than LateAfter after they were
// due (no connection was free, or the generator itself is short of CPU).
func (r *Report) FellBehind() bool {
	return r.Rate > 0 && r.Late*100 > r.Sent
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// String is the report for people, several lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d connection%s", r.Addr, r.Conns, plural(r.Conns))
	switch {
	case r.Rate > 0:
		fmt.Fprintf(&b, ", offered %.0f msgs/s", r.Rate)
	default:
		b.WriteString(", closed loop")
	}
	fmt.Fprintf(&b, ", %d input message%s", r.Messages, plural(r.Messages))
	if r.Warmup > 0 {
		fmt.Fprintf(&b, ", warmup %v (%d sent, %d not acked)", r.Warmup, r.WarmupSent, r.WarmupFailed)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "sent %d, acked %d, nacked %d%s, errors %d%s\n",
		r.Sent, r.Acked, r.NackCount(), counts(r.Nacked), r.ErrorCount(), counts(r.Errors))
	if r.Reconnects > 0 || sum(r.ConnErrors) > 0 || r.Interrupted > 0 {
		fmt.Fprintf(&b, "reconnects %d, connection errors %d%s, interrupted %d\n",
			r.Reconnects, sum(r.ConnErrors), counts(r.ConnErrors), r.Interrupted)
	}
	fmt.Fprintf(&b, "%.0f msgs/s over %v\n", r.MsgsPerSec, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "ACK latency: %s\n", r.Latency.String())
	if r.Scheduled != nil {
		fmt.Fprintf(&b, "from due time: %s\n", r.Scheduled.String())
	}
	if r.FellBehind() {
		fmt.Fprintf(&b, "fell behind the offered rate: %d of %d messages sent more than %v late (worst %v);"+
			" more connections help if the receiver is slow to answer\n",
			r.Late, r.Sent, LateAfter, fmtDur(r.MaxLag))
	}
	if r.RSS != nil {
		x := r.RSS
		fmt.Fprintf(&b, "RSS of pid %d: %s before, then min %s, max %s, last %s (%d samples)",
			x.PID, fmtBytes(x.Start), fmtBytes(x.Min), fmtBytes(x.Max), fmtBytes(x.Last), x.Samples)
		if x.Err != "" {
			fmt.Fprintf(&b, "; stopped: %s", x.Err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// String gives the percentiles on one line.
func (l Latency) String() string {
	if l.Count == 0 {
		return "no replies"
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, p99.9 %s, max %s (mean %s, %d replies)",
		fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max), fmtDur(l.Mean), l.Count)
}

// MarkdownHeader is the header of the table whose rows MarkdownRow writes.
func MarkdownHeader() string {
	return "| conns | offered msgs/s | msgs/s | p50 | p90 | p99 | p99.9 | max | sent | acked | nacked | errors |\n" +
		"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
}

// MarkdownRow is the report as one row of a Markdown table (BENCHMARKS.md).
func (r *Report) MarkdownRow() string {
	offered := "max"
	if r.Rate > 0 {
		offered = fmt.Sprintf("%.0f", r.Rate)
	}
	l := r.Latency
	return fmt.Sprintf("| %d | %s | %.0f | %s | %s | %s | %s | %s | %d | %d | %d | %d |\n",
		r.Conns, offered, r.MsgsPerSec, fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max),
		r.Sent, r.Acked, r.NackCount(), r.ErrorCount())
}

// counts lists a map's entries as " (A 1, B 2)", sorted by name.
func counts(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// fmtDur prints µs below a millisecond and ms below a second, which keeps
// a column of latencies readable.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtBytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
