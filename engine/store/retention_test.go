package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

func TestPrune(t *testing.T) {
	s := open(t, t.TempDir(), Options{Dedupe: DedupeRecord, DedupeWindow: 1000 * time.Hour})
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	var ds [][]*Delivery
	for i := range 5 {
		r := rec(fmt.Sprint("c", i))
		r.Received = old
		if i == 4 {
			r.Received = time.Now()
		}
		s.Append(ctx, r)
		d, err := s.Route(r.Seq, Outcome{State: Routed, Key: fmt.Sprint("P", i)},
			[]Output{{Route: "r", ContentType: "x", Body: []byte("body"), Dests: []string{"a", "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	bad := &Record{Received: old, Status: Rejected, Raw: []byte("junk")}
	s.Append(ctx, bad) // seq 6, after the recent one: not reached
	now := time.Now()
	for i, d := range ds {
		if i == 3 {
			s.Delivered(d[0], now) // d[1] stays pending
			continue
		}
		s.Delivered(d[0], now)
		if i == 1 {
			s.Dead(d[1], now, "gave up", nil)
		} else {
			s.Delivered(d[1], now)
		}
	}
	cutoff := time.Now().Add(-24 * time.Hour)
	n, err := s.Prune(cutoff, 2) // batches of 2: the batching is exercised
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want the 3 settled old messages before the pending one", n, err)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		if _, err := s.Record(seq); !errors.Is(err, pebble.ErrNotFound) {
			t.Errorf("record %d still there: %v", seq, err)
		}
		if sts, _ := s.Statuses(seq); len(sts) != 0 {
			t.Errorf("statuses of %d still there", seq)
		}
		if _, _, err := s.Body(seq, "r"); err == nil {
			t.Errorf("body of %d still there", seq)
		}
	}
	dead := 0
	s.DeadLetters("", func(DeadLetter) bool { dead++; return true })
	if dead != 0 {
		t.Errorf("%d dead letters of pruned messages left", dead)
	}
	if c, err := s.count([]byte{tPatient}); err != nil || c != 2 {
		t.Errorf("patient index: %d entries, want 2", c)
	}
	if c, _ := s.count([]byte{tControl}); c != 2 {
		t.Errorf("control index: %d entries, want 2", c)
	}
	// the browser's indexes: messages 4 and 5 left (two type and two
	// sender entries each), 6 rejected (a status entry, no type or sender)
	for _, c := range []struct {
		t    byte
		want int64
	}{{tByType, 4}, {tBySender, 4}, {tByControl, 2}, {tByStatus, 1}} {
		if n, _ := s.count([]byte{c.t}); n != c.want {
			t.Errorf("index %c: %d entries, want %d", c.t, n, c.want)
		}
	}
	// the pending one settles: pruning goes on to it, not to the recent one
	s.Delivered(ds[3][1], now)
	if n, err := s.Prune(cutoff, 0); err != nil || n != 1 {
		t.Fatalf("second prune: %d, %v", n, err)
	}
	if _, err := s.Record(4); !errors.Is(err, pebble.ErrNotFound) {
		t.Error("record 4 still there")
	}
	if _, err := s.Record(5); err != nil {
		t.Error("a recent message was pruned")
	}
}
