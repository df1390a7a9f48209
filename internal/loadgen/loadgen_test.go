package loadgen

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// serve runs h on a loopback port until the test ends.
func serve(t testing.TB, h mllp.Handler) (addr string, srv *mllp.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = mllp.NewServer(h, mllp.ServerOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return l.Addr().String(), srv
}

func run(t *testing.T, opts Options) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Acked + rep.NackCount() + rep.ErrorCount(); got != rep.Sent {
		t.Errorf("sent %d, but acked + nacked + errors = %d", rep.Sent, got)
	}
	return rep
}

func wantCounts(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func TestRunNoop(t *testing.T) {
	var (
		mu       sync.Mutex
		ctrl     = map[string]int{}
		patients = map[string]int{}
		noop     = NoopHandler()
	)
	addr, srv := serve(t, mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		m, err := hl7.Parse(msg)
		if err != nil {
			t.Error(err)
			return nil
		}
		mu.Lock()
		ctrl[m.Header().ControlID]++
		patients[m.Get(hl7.MustPath("PID-3.1")).String()]++
		mu.Unlock()
		return noop.ServeMLLP(ctx, ci, msg)
	}))
	two := "MSH|^~\\&|A|B|C|D|2024||ADT^A08|C1|P|2.5\rPID|1||X\r"
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample, []byte(two)}, Conns: 4, Count: 1000, Patients: 7})

	if rep.Sent != 1000 || rep.Acked != 1000 || rep.Latency.Count != 1000 {
		t.Errorf("sent %d, acked %d, latencies %d", rep.Sent, rep.Acked, rep.Latency.Count)
	}
	wantCounts(t, "nacked", rep.Nacked, map[string]int64{})
	wantCounts(t, "errors", rep.Errors, map[string]int64{})
	wantCounts(t, "connection errors", rep.ConnErrors, map[string]int64{})
	if rep.Reconnects != 0 || rep.WarmupSent != 0 || rep.Scheduled != nil || rep.RSS != nil {
		t.Errorf("report: %+v", rep)
	}
	if rep.Elapsed <= 0 || rep.MsgsPerSec <= 0 || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.Max {
		t.Errorf("elapsed %v, %v msgs/s, latency %+v", rep.Elapsed, rep.MsgsPerSec, rep.Latency)
	}
	if got := srv.Stats().Frames; got != 1000 {
		t.Errorf("server saw %d messages", got)
	}
	if len(ctrl) != 1000 {
		t.Errorf("%d distinct control ids in 1000 messages", len(ctrl))
	}
	prefix := ""
	for id := range ctrl {
		if prefix == "" {
			prefix = id[:8]
		}
		if len(id) > 20 || !strings.HasPrefix(id, "LG") || !strings.HasPrefix(id, prefix) {
			t.Errorf("control id %q (run prefix %q)", id, prefix)
			break
		}
	}
	want := map[string]int{}
	for i := range 1000 {
		want[fmt.Sprintf("LG%d", i%7)]++
	}
	if !maps.Equal(patients, want) {
		t.Errorf("patients %v, want %v", patients, want)
	}
}

// faultyAnswer is what the faulty server does with the n-th message it
// receives (1-based), whichever connection it comes on.
func faultyAnswer(n int64) string {
	switch n % 10 {
	case 1:
		return "AE"
	case 2:
		return "AR"
	case 3:
		return "CE"
	case 4:
		return "CR"
	case 5:
		return "mismatch" // AA for another control id
	case 6:
		return "closed" // handler panics: the server closes without a reply
	case 7:
		return "bad-ack" // a reply that is no ACK
	case 8:
		return "CA"
	}
	return "AA"
}

// faultyServer answers as faultyAnswer says; skip makes it answer nothing
// (the sender times out) to the messages it names.
func faultyServer(t *testing.T, skip func(n int64) bool) (string, *mllp.Server) {
	var n atomic.Int64
	return serve(t, mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
		m, err := hl7.Parse(msg)
		if err != nil {
			t.Error(err)
			return nil
		}
		i := n.Add(1)
		if skip != nil && skip(i) {
			return nil
		}
		switch a := faultyAnswer(i); a {
		case "mismatch":
			if err := m.Set(hl7.MustPath("MSH-10"), "SOMEONE-ELSE"); err != nil {
				t.Error(err)
			}
			return hl7.Ack(m, hl7.AA, hl7.AckOptions{})
		case "closed":
			panic("dropping the connection")
		case "bad-ack":
			return []byte("hello")
		default:
			return hl7.Ack(m, hl7.AckCode(a), hl7.AckOptions{})
		}
	}))
}

func TestRunCountsEveryAnswerExactly(t *testing.T) {
	addr, srv := faultyServer(t, nil)
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 4, Count: 1000})

	wantNacked, wantErrors := map[string]int64{}, map[string]int64{}
	var wantAcked int64
	for i := range int64(1000) {
		switch a := faultyAnswer(i + 1); a {
		case "AA", "CA":
			wantAcked++
		case "AE", "AR", "CE", "CR":
			wantNacked[a]++
		default:
			wantErrors[a]++
		}
	}
	if rep.Sent != 1000 || rep.Acked != wantAcked {
		t.Errorf("sent %d, acked %d, want 1000 and %d", rep.Sent, rep.Acked, wantAcked)
	}
	wantCounts(t, "nacked", rep.Nacked, wantNacked)
	wantCounts(t, "errors", rep.Errors, wantErrors)
	wantCounts(t, "connection errors", rep.ConnErrors, map[string]int64{})
	// Every error drops the connection; each is reopened unless the run
	// was over for that connection.
	if rep.Reconnects > rep.ErrorCount() || rep.Reconnects < rep.ErrorCount()-4 {
		t.Errorf("%d reconnects after %d errors on 4 connections", rep.Reconnects, rep.ErrorCount())
	}
	if rep.Latency.Count != rep.Acked+rep.NackCount() {
		t.Errorf("%d latencies for %d replies", rep.Latency.Count, rep.Acked+rep.NackCount())
	}
	if got := srv.Stats().Frames; got != 1000 {
		t.Errorf("server saw %d messages: a message was sent twice or not at all", got)
	}
}

func TestRunTimeouts(t *testing.T) {
	addr, _ := faultyServer(t, func(n int64) bool { return n == 3 || n == 17 })
	// The timeout is long enough that a reply that does come is never
	// late, even under -race on a loaded machine.
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 2, Count: 20, Timeout: 2 * time.Second})
	wantErrors := map[string]int64{"timeout": 2}
	for i := range int64(20) {
		if i+1 == 3 || i+1 == 17 {
			continue
		}
		switch a := faultyAnswer(i + 1); a {
		case "mismatch", "closed", "bad-ack":
			wantErrors[a]++
		}
	}
	wantCounts(t, "errors", rep.Errors, wantErrors)
	if rep.Sent != 20 {
		t.Errorf("sent %d", rep.Sent)
	}
}

func TestRunWarmupLeftOut(t *testing.T) {
	addr, srv := serve(t, NoopHandler())
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 2, Count: 300, Warmup: 50 * time.Millisecond})
	if rep.Sent != 300 || rep.Acked != 300 || rep.WarmupFailed != 0 {
		t.Errorf("sent %d, acked %d, warmup failed %d", rep.Sent, rep.Acked, rep.WarmupFailed)
	}
	if got := srv.Stats().Frames; got != rep.Sent+rep.WarmupSent {
		t.Errorf("server saw %d messages, report %d + %d in the warmup", got, rep.Sent, rep.WarmupSent)
	}
}

func TestRunDuration(t *testing.T) {
	addr, srv := serve(t, NoopHandler())
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 3, Duration: 100 * time.Millisecond})
	if rep.Sent == 0 || rep.Acked != rep.Sent || srv.Stats().Frames != rep.Sent {
		t.Errorf("sent %d, acked %d, server saw %d", rep.Sent, rep.Acked, srv.Stats().Frames)
	}
}

func TestRunRate(t *testing.T) {
	addr, _ := serve(t, NoopHandler())
	rep := run(t, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 2, Count: 100, Rate: 5000})
	if rep.Sent != 100 || rep.Acked != 100 || rep.Scheduled == nil || rep.Scheduled.Count != 100 {
		t.Fatalf("sent %d, acked %d, scheduled %+v", rep.Sent, rep.Acked, rep.Scheduled)
	}
	// Time from the due time includes the round trip.
	if rep.Scheduled.Max < rep.Latency.Min {
		t.Errorf("scheduled %+v, latency %+v", rep.Scheduled, rep.Latency)
	}
	if rep.Late > rep.Sent || (rep.Late > 0 && rep.MaxLag <= LateAfter) {
		t.Errorf("late %d, max lag %v", rep.Late, rep.MaxLag)
	}
}

func TestRunProgressAndRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	addr, _ := serve(t, NoopHandler())
	var (
		mu    sync.Mutex
		calls []Progress
	)
	rep := run(t, Options{
		Addr: addr, Messages: [][]byte{sample}, Conns: 2, Count: 2000,
		WatchPID: os.Getpid(), RSSEvery: time.Millisecond,
		Progress:      func(p Progress) { mu.Lock(); calls = append(calls, p); mu.Unlock() },
		progressEvery: time.Millisecond,
	})
	mu.Lock()
	defer mu.Unlock()
	for i, p := range calls {
		if p.Total > 2000 || p.Failed != 0 || p.RSS <= 0 || p.Rate < 0 || (i > 0 && p.Total < calls[i-1].Total) {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	r := rep.RSS
	if r == nil || r.PID != os.Getpid() || r.Samples < 1 || r.Start <= 0 || r.Min <= 0 || r.Min > r.Max || r.Last > r.Max || r.Err != "" {
		t.Errorf("RSS %+v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	noop := NoopHandler()
	addr, srv := serve(t, mllp.HandlerFunc(func(c context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if n.Add(1) == 50 {
			cancel()
		}
		return noop.ServeMLLP(c, ci, msg)
	}))
	rep, err := Run(ctx, Options{Addr: addr, Messages: [][]byte{sample}, Conns: 2, Count: 1 << 40})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	frames := srv.Stats().Frames
	if rep.ErrorCount() != 0 || rep.Sent != rep.Acked || rep.Sent > frames || frames > rep.Sent+rep.Interrupted {
		t.Errorf("sent %d, acked %d, interrupted %d, errors %v; server saw %d", rep.Sent, rep.Acked, rep.Interrupted, rep.Errors, frames)
	}
}

func TestRunUnsolicitedReply(t *testing.T) {
	// A raw receiver that answers the first message twice, in one write.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		first := true
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				rd := mllp.NewReader(nc, mllp.ReaderOptions{})
				for {
					msg, err := rd.ReadFrame()
					if err != nil {
						return
					}
					m, err := hl7.Parse(msg)
					if err != nil {
						return
					}
					out, _ := mllp.AppendFrame(nil, hl7.Ack(m, hl7.AA, hl7.AckOptions{}))
					if first {
						first = false
						out = append(out, out...)
					}
					if _, err := nc.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	rep := run(t, Options{Addr: l.Addr().String(), Messages: [][]byte{sample}, Count: 3})
	if rep.Acked != 3 || rep.Reconnects != 1 {
		t.Errorf("acked %d, reconnects %d", rep.Acked, rep.Reconnects)
	}
	wantCounts(t, "connection errors", rep.ConnErrors, map[string]int64{"unsolicited": 1})
}

func TestRunGivesUpReconnecting(t *testing.T) {
	var n atomic.Int64
	var srv *mllp.Server
	noop := NoopHandler()
	stopped := make(chan struct{})
	addr, srv := serve(t, mllp.HandlerFunc(func(c context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if n.Add(1) == 10 {
			go func() { _ = srv.Close(); close(stopped) }()
			<-stopped
			return nil
		}
		return noop.ServeMLLP(c, ci, msg)
	}))
	rep, err := Run(context.Background(), Options{Addr: addr, Messages: [][]byte{sample}, Count: 100, ReconnectFor: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no connection for 50ms") {
		t.Fatalf("error %v", err)
	}
	if rep.Acked != 9 || rep.Sent != 10 || rep.ConnErrors["dial"] < 1 {
		t.Errorf("acked %d, sent %d, errors %v, connection errors %v", rep.Acked, rep.Sent, rep.Errors, rep.ConnErrors)
	}
}

func TestRunRefuses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	msgs := [][]byte{sample}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no address", Options{Messages: msgs, Count: 1}, "no address"},
		{"no messages", Options{Addr: closed, Count: 1}, "no messages"},
		{"no end", Options{Addr: closed, Messages: msgs}, "Duration or a Count"},
		{"bad message", Options{Addr: closed, Messages: [][]byte{[]byte("MSH|^~\\&|A\r")}, Count: 1}, "message 1: MSH has no field 10"},
		{"no PID", Options{Addr: closed, Messages: [][]byte{[]byte("MSH|^~\\&|A|B|C|D|1||ORU^R01|X|P|2.5\r")}, Count: 1, Patients: 3}, "no message has a PID-3"},
		{"nobody listening", Options{Addr: closed, Messages: msgs, Count: 1}, "connection refused"},
		{"no such process", Options{Addr: closed, Messages: msgs, Count: 1, WatchPID: -1}, "RSS of process -1"},
	} {
		_, err := Run(context.Background(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
