package storebench

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Run from this directory (its own module):
//
//	CGO_ENABLED=0 go test -run XXX -bench . -benchtime 2s -count 3 -timeout 30m
//
// Every benchmark reports msgs/s, commit latency p50/p99 in µs, CPU µs per
// message (the whole process: writers, committer and the store's background
// work such as flushes and compactions), and the mean group size.
// BenchmarkIngest and BenchmarkLifecycle also report the data directory's
// allocated size per message after Close (disk-B/msg), the bytes the process
// sent to the block layer per message (/proc/self/io write_bytes: WAL,
// flushes, compactions, checkpoints), and memory with the store open (Go heap
// in use after a GC, and resident set growth since before Open: modernc
// SQLite allocates outside the Go heap).

var writerCounts = []int{1, 8, 64}

// BenchmarkIngest: N writers each submit a new message and wait for its group
// commit (journal + 3 indexes + 2 outbox + 2 status entries per message).
func BenchmarkIngest(b *testing.B) {
	for _, c := range Candidates {
		for _, w := range writerCounts {
			b.Run(fmt.Sprintf("%s/w=%d", c.Name, w), func(b *testing.B) {
				benchRun(b, c, w, 0, runIngest)
			})
		}
	}
}

// BenchmarkIngestLinger is BenchmarkIngest with 8 writers and a committer
// that waits up to 100 µs for a group of 8 (see Committer.Linger): with one
// message in flight per connection, the eager committer alternates groups of
// about 4 (those who arrived during the last fsync).
func BenchmarkIngestLinger(b *testing.B) {
	for _, c := range Candidates {
		b.Run(c.Name+"/w=8", func(b *testing.B) {
			lingerTarget = 8
			defer func() { lingerTarget = 0 }()
			benchRun(b, c, 8, 0, runIngest)
		})
	}
}

var lingerTarget int

// BenchmarkDeliver: the store holds b.N/2 pending messages (2 destinations);
// 8 writers each mark one (message, destination) delivered per operation.
func BenchmarkDeliver(b *testing.B) {
	for _, c := range Candidates {
		b.Run(c.Name+"/w=8", func(b *testing.B) {
			benchRun(b, c, 8, (b.N+1)/2, runDeliver)
		})
	}
}

// BenchmarkLifecycle: the store's whole share of a message's life. 8 ingest
// writers; after each ingest commit, one delivery worker per destination
// (8 per destination) marks it delivered. Ingest and delivery items share
// the group commits. An operation is a message ingested and delivered to
// both destinations; the latencies are the ingest commits'.
func BenchmarkLifecycle(b *testing.B) {
	for _, c := range Candidates {
		b.Run(c.Name+"/w=8", func(b *testing.B) {
			benchRun(b, c, 8, 0, runLifecycle)
		})
	}
}

type runFunc func(b *testing.B, comm *Committer[Op], writers int, lat []int64)

// benchRun opens a fresh store, preloads it with preload messages, runs fn
// over b.N operations with the timer on, and reports the metrics.
func benchRun(b *testing.B, c Candidate, writers, preload int, fn runFunc) {
	dir := b.TempDir()
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := RSSBytes()
	s, err := c.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if preload > 0 {
		if err := Preload(s, 0, preload, time.Now().UnixNano()); err != nil {
			b.Fatal(err)
		}
	}
	comm := StoreCommitter(s, uint64(preload))
	if lingerTarget > 0 {
		comm.Linger, comm.Target = 100*time.Microsecond, lingerTarget
	}
	lat := make([]int64, b.N)
	wb0, cpu0 := WriteBytes(), CPUTime()
	b.ResetTimer()
	start := time.Now()
	fn(b, comm, writers, lat)
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := CPUTime() - cpu0
	comm.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := RSSBytes() - rss0
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	wb := WriteBytes() - wb0
	_, disk := DirSize(dir)

	n := float64(b.N)
	slices.Sort(lat)
	b.ReportMetric(n/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/msg")
	b.ReportMetric(float64(comm.Items)/float64(max(comm.Commits, 1)), "items/commit")
	if preload == 0 {
		b.ReportMetric(float64(disk)/n, "disk-B/msg")
		b.ReportMetric(float64(wb)/n, "wr-B/msg")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
	}
}

// Preload ingests count messages numbered from first in groups of 1024,
// with receive times 10 µs apart from t0.
func Preload(s Store, first uint64, count int, t0 int64) error {
	msgs := make([]*Msg, 0, 1024)
	pool := make([]Msg, 1024)
	for i := 0; i < count; {
		msgs = msgs[:0]
		for j := 0; j < 1024 && i < count; j, i = j+1, i+1 {
			m := &pool[j]
			n := first + uint64(i)
			Gen(m, n)
			m.Seq = n + 1
			m.Time = t0 + int64(n)*10_000
			msgs = append(msgs, m)
		}
		if err := s.Commit(msgs, nil); err != nil {
			return err
		}
	}
	return nil
}

func runIngest(b *testing.B, comm *Committer[Op], writers int, lat []int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWaiter[Op]()
			m := &Msg{}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				Gen(m, uint64(i))
				t0 := time.Now()
				m.Time = t0.UnixNano()
				w.Item = Op{Msg: m}
				if err := comm.Submit(w); err != nil {
					b.Error(err)
					return
				}
				lat[i] = int64(time.Since(t0))
			}
		}()
	}
	wg.Wait()
}

func runDeliver(b *testing.B, comm *Committer[Op], writers int, lat []int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWaiter[Op]()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				w.Item = Op{Del: Delivery{Seq: uint64(i/2) + 1, Dest: uint8(i % 2)}}
				if err := comm.Submit(w); err != nil {
					b.Error(err)
					return
				}
				lat[i] = int64(time.Since(t0))
			}
		}()
	}
	wg.Wait()
}

func runLifecycle(b *testing.B, comm *Committer[Op], writers int, lat []int64) {
	var next atomic.Int64
	var ingest, deliver sync.WaitGroup
	queues := make([]chan uint64, NumDests)
	for d := range queues {
		queues[d] = make(chan uint64, 4096)
		for range writers {
			deliver.Add(1)
			go func() {
				defer deliver.Done()
				w := NewWaiter[Op]()
				for seq := range queues[d] {
					w.Item = Op{Del: Delivery{Seq: seq, Dest: uint8(d)}}
					if err := comm.Submit(w); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
	}
	for range writers {
		ingest.Add(1)
		go func() {
			defer ingest.Done()
			w := NewWaiter[Op]()
			m := &Msg{}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				Gen(m, uint64(i))
				t0 := time.Now()
				m.Time = t0.UnixNano()
				w.Item = Op{Msg: m}
				if err := comm.Submit(w); err != nil {
					b.Error(err)
					return
				}
				lat[i] = int64(time.Since(t0))
				for _, q := range queues {
					q <- w.Item.Msg.Seq
				}
			}
		}()
	}
	ingest.Wait()
	for _, q := range queues {
		close(q)
	}
	deliver.Wait()
}
