package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

func TestReportFellBehind(t *testing.T) {
	noop := NoopHandler()
	// Each reply takes at least 20 ms: one connection cannot carry the
	// 1,000 msgs/s offered, and every message after the first goes out
	// later than the one before.
	addr, _ := serve(t, mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		time.Sleep(20 * time.Millisecond)
		return noop.ServeMLLP(ctx, ci, msg)
	}))
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Count: 10, Rate: 1000})
	if !rep.FellBehind() || rep.Late < 9 || rep.MaxLag < 9*20*time.Millisecond-10*time.Millisecond {
		t.Errorf("late %d, max lag %v", rep.Late, rep.MaxLag)
	}
	if s := rep.String(); !strings.Contains(s, "fell behind the offered rate: ") {
		t.Errorf("report does not say it fell behind:\n%s", s)
	}
}

func TestReportText(t *testing.T) {
	rep := Report{
		Addr: "h:1", Conns: 8, Messages: 2, Sent: 10, Acked: 6,
		Nacked: map[string]int64{"AR": 1, "AE": 1}, Errors: map[string]int64{"timeout": 2},
		ConnErrors: map[string]int64{"dial": 3}, Reconnects: 2,
		Elapsed: 2 * time.Second, MsgsPerSec: 4,
		Latency: Latency{Count: 8, P50: 80 * time.Microsecond, P99: 2500 * time.Microsecond, Max: 1500 * time.Millisecond},
		RSS:     &RSS{PID: 7, Start: 10 << 20, Min: 11 << 20, Max: 12 << 20, Last: 12 << 20, Samples: 3},
	}
	s := rep.String()
	for _, want := range []string{
		"h:1: 8 connections, closed loop, 2 input messages\n",
		"sent 10, acked 6, nacked 2 (AE 1, AR 1), errors 2 (timeout 2)\n",
		"reconnects 2, connection errors 3 (dial 3), interrupted 0\n",
		"4 msgs/s over 2s\n",
		"p50 80 µs, p90 0 µs, p99 2.50 ms, p99.9 0 µs, max 1.50 s",
		"RSS of pid 7: 10.0 MiB before, then min 11.0 MiB, max 12.0 MiB, last 12.0 MiB (3 samples)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if rep.Failed() != 4 {
		t.Errorf("failed %d", rep.Failed())
	}
	head, row := MarkdownHeader(), rep.MarkdownRow()
	cols := func(s string) int { return strings.Count(strings.SplitN(s, "\n", 2)[0], "|") }
	if cols(head) != cols(row) || !strings.HasPrefix(row, "| 8 | max | 4 | 80 µs |") {
		t.Errorf("table:\n%s%s", head, row)
	}
}
