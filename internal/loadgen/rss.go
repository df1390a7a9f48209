package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// RSS is the resident set size of the watched process, in bytes: Start
// before the load began, then the smallest, largest and last sample taken
// while measuring (after the warmup). A Max close to Last and Min under
// sustained load is what "memory stays flat" looks like.
type RSS struct {
	PID     int    `json:"pid"`
	Start   int64  `json:"start_bytes"`
	Min     int64  `json:"min_bytes"`
	Max     int64  `json:"max_bytes"`
	Last    int64  `json:"last_bytes"`
	Samples int    `json:"samples"`
	Err     string `json:"error,omitempty"` // why sampling stopped early (the process exited?)
}

// readRSS reads VmRSS from /proc/<pid>/status (Linux).
func readRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS of process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		num, unit, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
		kb, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || string(bytes.TrimSpace(unit)) != "kB" {
			return 0, fmt.Errorf("read RSS of process %d: unexpected VmRSS line %q", pid, sc.Bytes())
		}
		return kb << 10, nil
	}
	// Kernel threads and zombies have no VmRSS.
	return 0, fmt.Errorf("read RSS of process %d: no VmRSS in /proc/%d/status", pid, pid)
}

// rssSampler samples a process's RSS every interval.
type rssSampler struct {
	pid   int
	every time.Duration
	last  atomic.Int64 // for the progress line

	mu  sync.Mutex
	rss RSS
}

// newRSSSampler takes the Start sample, which fails if the process cannot
// be watched at all.
func newRSSSampler(pid int, every time.Duration) (*rssSampler, error) {
	v, err := readRSS(pid)
	if err != nil {
		return nil, err
	}
	s := &rssSampler{pid: pid, every: every, rss: RSS{PID: pid, Start: v}}
	s.last.Store(v)
	return s, nil
}

// sample takes one sample; measuring says whether it counts towards
// Min/Max/Last. It reports false once the process can no longer be read.
func (s *rssSampler) sample(measuring bool) bool {
	v, err := readRSS(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.rss.Err == "" {
			s.rss.Err = err.Error()
		}
		return false
	}
	s.last.Store(v)
	if !measuring {
		return true
	}
	r := &s.rss
	if r.Samples == 0 || v < r.Min {
		r.Min = v
	}
	r.Max = max(r.Max, v)
	r.Last = v
	r.Samples++
	return true
}

// run samples until ctx is done; samples before measureFrom only update
// the progress line.
func (s *rssSampler) run(ctx context.Context, measureFrom time.Time) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !s.sample(!now.Before(measureFrom)) {
				return
			}
		}
	}
}

func (s *rssSampler) result() *RSS {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rss
	return &r
}
