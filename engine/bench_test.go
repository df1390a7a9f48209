package engine_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/plexus-hl7/plexus/channels/file"
	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/internal/loadgen"
	"github.com/plexus-hl7/plexus/mllp"
)

// BenchmarkServe drives MLLP listeners with 8 (and 64) connections, each
// waiting for its ACK before sending the next message, through three
// receivers in one run so that they can be compared as ratios on a noisy
// machine:
//
//	noop    answers AA at once, stores nothing (the baseline)
//	ingest  the engine with no routes: journal with a synced group commit, then ACK
//	default the engine on the repo's default routes: journal, built-in IG map, one
//	        JSON file per Bundle (synced), as `plexus serve` runs out of the box
//	ndjson  the same, appending the Bundles to one NDJSON file instead
//
// go test -run XXX -bench Serve -benchtime 20000x ./engine/
func BenchmarkServe(b *testing.B) {
	msg, err := os.ReadFile("testdata/adt_a01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	for _, conns := range []int{8, 64} {
		b.Run(fmt.Sprintf("noop/c=%d", conns), func(b *testing.B) {
			srv := loadgen.NoopServer(mllp.ServerOptions{})
			addr := serveOn(b, srv)
			drive(b, addr, msg, conns)
		})
		b.Run(fmt.Sprintf("ingest/c=%d", conns), func(b *testing.B) {
			addr := startEngine(b, `listeners: [{ name: in, mllp: { addr: "127.0.0.1:0" } }]
routes: []
`)
			drive(b, addr, msg, conns)
		})
		b.Run(fmt.Sprintf("default/c=%d", conns), func(b *testing.B) {
			routes, err := os.ReadFile("../routes.yaml")
			if err != nil {
				b.Fatal(err)
			}
			addr := startEngine(b, string(routes), ":2575", "127.0.0.1:0")
			drive(b, addr, msg, conns)
		})
		b.Run(fmt.Sprintf("ndjson/c=%d", conns), func(b *testing.B) {
			routes, err := os.ReadFile("../routes.yaml")
			if err != nil {
				b.Fatal(err)
			}
			addr := startEngine(b, string(routes), ":2575", "127.0.0.1:0", "{ dir: ./out }", "{ dir: ./out, format: ndjson }")
			drive(b, addr, msg, conns)
		})
	}
}

func serveOn(b *testing.B, srv *mllp.Server) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startEngine runs an engine on routes (with each pair of replace strings
// applied) in a temporary directory and returns its first listener's
// address; it drains and stops when the benchmark ends.
func startEngine(b *testing.B, routes string, replace ...string) string {
	b.Helper()
	for i := 0; i+1 < len(replace); i += 2 {
		routes = strings.ReplaceAll(routes, replace[i], replace[i+1])
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(file, []byte(routes), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(context.Background(), engine.Options{Config: cfg, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e.Addr(cfg.Listeners[0].Name).String()
}

// drive sends b.N messages and reports msgs/s and ACK latency.
func drive(b *testing.B, addr string, msg []byte, conns int) {
	b.Helper()
	b.ResetTimer()
	rep, err := loadgen.Run(context.Background(), loadgen.Options{
		Addr: addr, Messages: [][]byte{msg}, Conns: conns, Count: int64(b.N), Patients: 500,
		Warmup: 200 * time.Millisecond,
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Acked != rep.Sent {
		b.Fatalf("%d sent, %d acknowledged: %v %v", rep.Sent, rep.Acked, rep.Nacked, rep.Errors)
	}
	b.ReportMetric(rep.MsgsPerSec, "msgs/s")
	b.ReportMetric(float64(rep.Latency.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(rep.Latency.P99.Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
