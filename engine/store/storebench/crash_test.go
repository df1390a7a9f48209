package storebench

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrash: per candidate, a few rounds of: a child process (this test
// binary, TestCrashChild) opens the store left by the previous round, writes
// with 8 group-committing writers plus delivery workers, and prints every
// acknowledged message and delivery; the parent kills it with SIGKILL at a
// random moment, reopens the store and checks that every acknowledged message
// is there byte for byte (with its index and status entries) and every
// acknowledged delivery is marked delivered.
//
// SIGKILL loses what the process had not handed to the kernel; it does not
// lose the page cache. So this checks the store's commit protocol and
// recovery (torn writes, partially applied groups, WAL replay), not what a
// power cut would do: that rests on the fsync semantics in the README.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("STOREBENCH_CRASH_ROUNDS")); err == nil {
		rounds = v
	}
	for _, c := range Candidates {
		t.Run(c.Name, func(t *testing.T) {
			dir := t.TempDir()
			rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			for round := range rounds {
				delay := time.Duration(200+rnd.IntN(1300)) * time.Millisecond
				crashRound(t, c, dir, round, delay)
			}
		})
	}
}

func crashRound(t *testing.T, c Candidate, dir string, round int, delay time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(),
		"STOREBENCH_CRASH_CHILD="+c.Name,
		"STOREBENCH_CRASH_DIR="+dir,
		"STOREBENCH_CRASH_BASE="+strconv.Itoa(round*10_000_000),
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct{ seq, n uint64 }
	var acks []ack
	var dels []Delivery
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "READY":
				close(ready)
			case "I":
				seq, _ := strconv.ParseUint(f[1], 10, 64)
				n, _ := strconv.ParseUint(f[2], 10, 64)
				acks = append(acks, ack{seq, n})
			case "D":
				seq, _ := strconv.ParseUint(f[1], 10, 64)
				d, _ := strconv.ParseUint(f[2], 10, 8)
				dels = append(dels, Delivery{Seq: seq, Dest: uint8(d)})
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child did not start: %s", stderr.String())
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	cmd.Wait()
	if len(acks) == 0 {
		t.Fatalf("round %d: nothing acknowledged; child stderr: %s", round, stderr.String())
	}

	start := time.Now()
	s, err := c.Open(dir)
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	openTime := time.Since(start)
	defer s.Close()
	last, err := s.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	var m Msg
	var maxSeq uint64
	for _, a := range acks {
		raw, err := s.Verify(a.seq)
		if err != nil {
			t.Fatalf("round %d: acknowledged seq %d lost: %v", round, a.seq, err)
		}
		Gen(&m, a.n)
		if !bytes.Equal(raw, m.Raw) {
			t.Fatalf("round %d: seq %d: bytes differ", round, a.seq)
		}
		maxSeq = max(maxSeq, a.seq)
	}
	for _, d := range dels {
		st, err := s.Status(d.Seq, d.Dest)
		if err != nil || st != StatusDelivered {
			t.Fatalf("round %d: acknowledged delivery %v not delivered (%q, %v)", round, d, st, err)
		}
	}
	if last < maxSeq {
		t.Fatalf("round %d: LastSeq %d < acknowledged %d", round, last, maxSeq)
	}
	pending := 0
	if err := s.Pending(func(uint8, uint64) { pending++ }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s round %d: killed after %v: %d messages and %d deliveries acknowledged, all present; last seq %d (acknowledged %d); %d pending; reopen %v",
		c.Name, round, delay, len(acks), len(dels), last, maxSeq, pending, openTime.Round(time.Microsecond))
}

// TestCrashChild is the child side of TestCrash; it runs only when started by
// it, and writes until it is killed.
func TestCrashChild(t *testing.T) {
	name := os.Getenv("STOREBENCH_CRASH_CHILD")
	if name == "" {
		t.Skip("child of TestCrash only")
	}
	c, err := CandidateByName(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Open(os.Getenv("STOREBENCH_CRASH_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := strconv.ParseUint(os.Getenv("STOREBENCH_CRASH_BASE"), 10, 64)
	comm := StoreCommitter(s, last)

	lines := make(chan string, 65536)
	go func() { // acknowledged lines only; whatever is still buffered at the kill is just not checked
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		for l := range lines {
			w.WriteString(l)
			if len(lines) == 0 {
				w.Flush()
			}
		}
	}()
	fmt.Fprintf(os.Stdout, "READY %d\n", last)

	var next atomic.Uint64
	next.Store(base)
	toDeliver := make(chan uint64, 4096)
	var wg sync.WaitGroup
	for range 2 { // delivery workers: mark half of the messages delivered to dest 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWaiter[Op]()
			for seq := range toDeliver {
				w.Item = Op{Del: Delivery{Seq: seq, Dest: 0}}
				if err := comm.Submit(w); err != nil {
					panic(err)
				}
				lines <- fmt.Sprintf("D %d 0\n", seq)
			}
		}()
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWaiter[Op]()
			m := &Msg{}
			for {
				n := next.Add(1) - 1
				Gen(m, n)
				m.Time = time.Now().UnixNano()
				w.Item = Op{Msg: m}
				if err := comm.Submit(w); err != nil {
					panic(err)
				}
				lines <- fmt.Sprintf("I %d %d\n", m.Seq, n)
				if n%2 == 0 {
					select {
					case toDeliver <- m.Seq:
					default:
					}
				}
			}
		}()
	}
	wg.Wait() // never: the parent kills this process
}
