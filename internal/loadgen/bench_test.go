package loadgen

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRunNoop is the generator and the no-op receiver in one process,
// over loopback: b.N messages of the sample ADT, answered with hl7.Ack.
func BenchmarkRunNoop(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			addr, _ := serve(b, NoopHandler())
			b.SetBytes(int64(len(sample)))
			b.ReportAllocs()
			b.ResetTimer()
			rep, err := Run(context.Background(), Options{Addr: addr, Messages: [][]byte{sample}, Conns: conns, Count: int64(b.N)})
			b.StopTimer()
			if err != nil || rep.Acked != int64(b.N) {
				b.Fatalf("acked %d of %d: %v", rep.Acked, b.N, err)
			}
			b.ReportMetric(rep.MsgsPerSec, "msgs/s")
			b.ReportMetric(float64(rep.Latency.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(rep.Latency.P99.Microseconds()), "p99-µs")
		})
	}
}
