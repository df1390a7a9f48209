//go:build unix

package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAppend: 64 goroutines append (each waits for its group commit,
// as a connection waits for its ACK). Besides time it reports the
// process's CPU per message (user + system, getrusage), which the shared
// disk's fsync times do not blur: the cost of what a commit writes per
// message (journal, pending entry, control and browser indexes).
//
//	go test -run XXX -bench Append -benchtime 20000x ./engine/store/
func BenchmarkAppend(b *testing.B) {
	s := open(b, b.TempDir(), Options{})
	ctx := context.Background()
	var n atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(32) // × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := rec(fmt.Sprint("c", i))
			if err := s.Append(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
