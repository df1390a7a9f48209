package file

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// BenchmarkDeliver writes new files (a distinct Seq each) of a 6 KB Bundle
// with every sync setting, by one caller, by 4 and by 8 at once (the engine
// runs one Deliver per outbox worker, 4 by default). Run the settings in one
// go and compare them as ratios: the absolute numbers depend on the disk
// and on what else the machine is doing. On a shared machine run it a few
// times (with -count 1: -count repeats each variant in place, so a quiet or
// busy minute favours one variant) and look at the spread.
//
//	go test -run XXX -bench Deliver -benchmem -benchtime 2000x ./channels/file/
//
// msgs/s is the delivery rate, cpu-µs/msg the process's CPU time (user
// and kernel) per file, which is what the engine loses to this destination
// on a small machine, syncs/msg the data and directory syncs per file (2
// for sync: file; 2 per group for sync: group, so it shows the group
// size). Every variant writes below one directory that is removed
// only when the whole benchmark ends: on ext4 without a journal, inodes
// freed in the last half minute make creating files much slower, so
// removing the files of one variant would slow down the next.
func BenchmarkDeliver(b *testing.B) {
	base := b.TempDir()
	var dirs atomic.Int64
	body := benchBundle(6 << 10)
	for _, callers := range []int{1, 4, 8} { // 4: the engine's default outbox workers
		for _, mode := range syncModes {
			b.Run(fmt.Sprintf("%s/c=%d", mode, callers), func(b *testing.B) {
				c := New()
				c.Dir, c.Sync = filepath.Join(base, fmt.Sprint(dirs.Add(1))), mode
				dst, err := c.Open(context.Background(), channels.OpenOptions{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				defer dst.Close()
				d := dst.(*destination)
				var syncs atomic.Int64
				d.fault = func(step string) error {
					if step == "sync" || step == "syncdir" {
						syncs.Add(1)
					}
					return nil
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start, cpu := time.Now(), processCPU()
				for range callers {
					wg.Go(func() {
						for {
							seq := next.Add(1)
							if seq > int64(b.N) {
								return
							}
							m := fhirMessage(uint64(seq), fmt.Sprint("MSG", seq))
							m.Body = body
							if err := d.Deliver(context.Background(), m); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed, cpu := time.Since(start), processCPU()-cpu
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
				if cpu > 0 {
					b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
				}
				b.ReportMetric(float64(syncs.Load())/float64(b.N), "syncs/msg")
			})
		}
	}
}

// benchBundle is a Bundle of about size bytes, pretty-printed as the
// transforms write them.
func benchBundle(size int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"transaction\",\n  \"entry\": [\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "    { \"resource\": { \"resourceType\": \"Observation\", \"id\": \"o%d\", \"status\": \"final\", \"valueString\": \"%s\" } },\n", i, "x")
	}
	b.WriteString("    {}\n  ]\n}\n")
	return b.Bytes()
}
