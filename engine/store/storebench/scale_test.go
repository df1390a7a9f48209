package storebench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// TestScale measures, per candidate, at STOREBENCH_SCALE messages (default
// 20,000 so that a plain `go test` stays quick; the README's numbers use
// 1,000,000):
//
//   - load: ingest in groups of 1024 per durable commit (msgs/s, bytes sent to
//     disk per message, directory size per message);
//   - deliver: mark the oldest 90% delivered to both destinations, groups of 1024;
//   - open: Close, then Open + LastSeq (what a restart pays before it can
//     take traffic), and the scan of the pending outbox (what it resumes);
//   - retention: delete the oldest 50% and report the directory size right
//     after, 5 s later (background compactions), and after Reclaim.
func TestScale(t *testing.T) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("STOREBENCH_SCALE")); err == nil {
		n = v
	}
	only := os.Getenv("STOREBENCH_ONLY")
	var rows []string
	for _, c := range Candidates {
		if only != "" && only != c.Name {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			rows = append(rows, scaleOne(t, c, n))
		})
	}
	t.Logf("\n| store | load msgs/s | wr-B/msg | disk-B/msg | deliver msgs/s | open | pending scan | rss after open | delete 50%% | disk after delete | +5 s | reclaim | disk after reclaim | reopen |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n%s",
		joinLines(rows))
}

func joinLines(rows []string) string {
	s := ""
	for _, r := range rows {
		s += r + "\n"
	}
	return s
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

func scaleOne(t *testing.T, c Candidate, n int) string {
	dir := t.TempDir()
	s, err := c.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wb0 := WriteBytes()
	start := time.Now()
	if err := Preload(s, 0, n, time.Now().UnixNano()); err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)

	ds := make([]Delivery, 0, 1024)
	delivered := n * 9 / 10
	start = time.Now()
	for seq := 1; seq <= delivered; seq++ {
		for d := uint8(0); d < NumDests; d++ {
			ds = append(ds, Delivery{Seq: uint64(seq), Dest: d})
		}
		if len(ds) >= 1024 || seq == delivered {
			if err := s.Commit(nil, ds); err != nil {
				t.Fatal(err)
			}
			ds = ds[:0]
		}
	}
	deliver := time.Since(start)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wb := WriteBytes() - wb0
	_, disk := DirSize(dir)

	runtime.GC()
	debug.FreeOSMemory()
	rss0 := RSSBytes()
	start = time.Now()
	if s, err = c.Open(dir); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastSeq()
	if err != nil || last != uint64(n) {
		t.Fatalf("LastSeq %d, %v", last, err)
	}
	open := time.Since(start)
	runtime.GC()
	rss := RSSBytes() - rss0
	start = time.Now()
	pending := 0
	if err := s.Pending(func(uint8, uint64) { pending++ }); err != nil {
		t.Fatal(err)
	}
	scan := time.Since(start)
	if want := (n - delivered) * NumDests; pending != want {
		t.Fatalf("pending %d, want %d", pending, want)
	}

	start = time.Now()
	if err := s.DeleteBefore(uint64(n/2) + 1); err != nil {
		t.Fatal(err)
	}
	del := time.Since(start)
	_, afterDel := DirSize(dir)
	time.Sleep(5 * time.Second)
	_, afterWait := DirSize(dir)
	start = time.Now()
	if err := s.Reclaim(); err != nil {
		t.Fatal(err)
	}
	reclaim := time.Since(start)
	_, afterReclaim := DirSize(dir)
	if _, err := s.Verify(uint64(n/2) + 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if s, err = c.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastSeq(); err != nil {
		t.Fatal(err)
	}
	reopen := time.Since(start)
	s.Close()

	row := fmt.Sprintf("| %s | %.0f | %.0f | %.0f | %.0f | %s | %s (%d entries) | %s | %s | %s | %s | %s | %s | %s |",
		c.Name, float64(n)/load.Seconds(), float64(wb)/float64(n), float64(disk)/float64(n),
		float64(delivered)/deliver.Seconds(), dur(open), dur(scan), pending, mb(rss),
		dur(del), mb(afterDel), mb(afterWait), dur(reclaim), mb(afterReclaim), dur(reopen))
	t.Log(row)
	return row
}
