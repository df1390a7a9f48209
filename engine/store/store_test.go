package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func open(t testing.TB, dir string, o Options) *DB {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(ctrl string) *Record {
	return &Record{Received: time.Now(), Listener: "adt", Sender: "EPIC|HOSP", ControlID: ctrl, Type: "ADT^A01",
		Version: "2.5", Status: Accepted, Raw: []byte("MSH|^~\\&|EPIC|HOSP|||||ADT^A01|" + ctrl + "|P|2.5\r")}
}

func TestAppendRouteDeliverReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	ctx := context.Background()
	for i := range 3 {
		r := rec(fmt.Sprint("c", i))
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i+1) {
			t.Fatalf("seq %d, want %d", r.Seq, i+1)
		}
	}
	bad := &Record{Received: time.Now(), Status: Rejected, Reason: "no MSH", Raw: []byte("garbage")}
	if err := s.Append(ctx, bad); err != nil || bad.Seq != 4 {
		t.Fatal(bad.Seq, err)
	}
	p, err := s.Pending(0, 10)
	if err != nil || fmt.Sprint(p) != "[1 2 3]" {
		t.Fatalf("pending %v %v (rejected messages are not routed)", p, err)
	}
	ds, err := s.Route(1, Outcome{State: Routed, Key: "123^MRN"}, []Output{
		{Route: "adt", ContentType: "application/fhir+json", Body: []byte(`{"resourceType":"Bundle"}`), Dests: []string{"files", "kafka"}},
	})
	if err != nil || len(ds) != 2 || ds[0].OSeq != 1 || ds[1].OSeq != 2 {
		t.Fatalf("route: %v %+v", err, ds)
	}
	if _, err := s.Route(2, Outcome{State: Unrouted}, nil); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Pending(0, 10)
	if fmt.Sprint(p) != "[3]" {
		t.Fatalf("pending after routing %v", p)
	}
	ob, err := s.Outbox("kafka", 0, 10)
	if err == nil && len(ob) == 1 && ob[0].Body != nil {
		t.Error("Outbox loaded a body: passing over entries must not cost their bodies")
	}
	if err == nil && len(ob) == 1 {
		err = s.LoadBody(ob[0])
	}
	if err != nil || len(ob) != 1 || string(ob[0].Body) != `{"resourceType":"Bundle"}` || ob[0].Key != "123^MRN" || ob[0].ContentType != "application/fhir+json" {
		t.Fatalf("outbox %v %+v", err, ob)
	}
	if err := s.Delivered(ob[0], time.Now()); err != nil {
		t.Fatal(err)
	}
	fo, _ := s.Outbox("files", 0, 10)
	fo[0].Attempts = 3
	if err := s.Retrying(fo[0], time.Now(), "disk full", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(fo[0], time.Now(), "gave up", []byte("detail")); err != nil {
		t.Fatal(err)
	}
	st, err := s.Statuses(1)
	if err != nil || len(st) != 2 {
		t.Fatal(st, err)
	}
	for _, x := range st {
		want := map[string]DeliveryState{"kafka": Delivered, "files": Dead}[x.Dest]
		if x.State != want || x.Route != "adt" {
			t.Errorf("status %+v, want %v", x, want)
		}
		if x.Dest == "files" && (x.Attempts != 3 || x.LastError != "gave up" || string(x.Detail) != "detail") {
			t.Errorf("dead status %+v", x)
		}
	}
	var dead []DeadLetter
	s.DeadLetters("", func(d DeadLetter) bool { dead = append(dead, d); return true })
	if len(dead) != 1 || dead[0] != (DeadLetter{"files", 1, "adt"}) {
		t.Fatalf("dead letters %+v", dead)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, Options{})
	if s.LastSeq() != 4 {
		t.Fatalf("last seq after reopen %d", s.LastSeq())
	}
	r, err := s.Record(4)
	if err != nil || r.Status != Rejected || r.Reason != "no MSH" || string(r.Raw) != "garbage" {
		t.Fatalf("record 4: %+v %v", r, err)
	}
	d, err := s.Requeue("files", 1, "adt")
	if err != nil || d.OSeq != 3 {
		t.Fatalf("requeue: %+v %v (outbox sequence must survive a restart)", d, err)
	}
	fo, _ = s.Outbox("files", 0, 10)
	if len(fo) == 1 {
		s.LoadBody(fo[0])
	}
	if len(fo) != 1 || fo[0].OSeq != 3 || fo[0].Attempts != 0 || string(fo[0].Body) == "" {
		t.Fatalf("requeued outbox %+v", fo)
	}
	dead = nil
	s.DeadLetters("files", func(d DeadLetter) bool { dead = append(dead, d); return true })
	if len(dead) != 0 {
		t.Fatalf("dead letter kept after requeue: %+v", dead)
	}
	if added, err := s.Reroute(2); err != nil || !added {
		t.Fatal(added, err)
	}
	if added, err := s.Reroute(2); err != nil || added {
		t.Fatalf("a message already pending rerouted again: %v %v", added, err)
	}
	p, _ = s.Pending(0, 10)
	if fmt.Sprint(p) != "[2 3]" {
		t.Fatalf("pending after reroute %v", p)
	}
	o, err := s.Outcome(1)
	if err != nil || o.State != Routed || o.Key != "123^MRN" {
		t.Fatalf("outcome %+v %v", o, err)
	}
}

func TestDedupe(t *testing.T) {
	for _, mode := range []Dedupe{DedupeRecord, DedupeIgnore, DedupeProcess} {
		s := open(t, t.TempDir(), Options{Dedupe: mode, DedupeWindow: time.Hour})
		ctx := context.Background()
		a, b := rec("X1"), rec("X1")
		other := rec("X1")
		other.Sender = "LAB|HOSP"
		old := rec("X2")
		old.Received = time.Now().Add(-2 * time.Hour)
		again := rec("X2")
		for _, r := range []*Record{a, b, other, old, again} {
			if err := s.Append(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if a.Status != Accepted || other.Status != Accepted || old.Status != Accepted || again.Status != Accepted {
			t.Errorf("%v: first, other sender and outside-window messages must be accepted: %v %v %v %v", mode, a.Status, other.Status, old.Status, again.Status)
		}
		if b.Status != Duplicate || b.DuplicateOf != a.Seq {
			t.Errorf("%v: retry not a duplicate: %+v", mode, b)
		}
		p, _ := s.Pending(0, 10)
		switch mode {
		case DedupeIgnore:
			if b.Seq != 0 || len(p) != 4 {
				t.Errorf("ignore: seq %d pending %v", b.Seq, p)
			}
		case DedupeRecord:
			if b.Seq == 0 || len(p) != 4 {
				t.Errorf("record: seq %d pending %v", b.Seq, p)
			}
		case DedupeProcess:
			if b.Seq == 0 || len(p) != 5 {
				t.Errorf("process: seq %d pending %v", b.Seq, p)
			}
		}
	}
}

// Concurrent appends share syncs and get distinct, gapless sequence
// numbers; duplicates inside one group are caught too.
func TestGroupCommit(t *testing.T) {
	var mu sync.Mutex
	var commits, items int
	s := open(t, t.TempDir(), Options{Dedupe: DedupeRecord, DedupeWindow: time.Hour, Commit: func(n int, _ time.Duration) {
		mu.Lock()
		commits++
		items += n
		mu.Unlock()
	}})
	const writers, per = 16, 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*per)
	dups := make(chan uint64, writers*per)
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				// writers 0 and 1 send the same control ids
				r := rec(fmt.Sprintf("w%d-%d", w%(writers-1), i))
				if err := s.Append(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
				if r.Status == Duplicate {
					dups <- r.Seq
				}
				seqs <- r.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	close(dups)
	seen := map[uint64]bool{}
	for q := range seqs {
		if seen[q] {
			t.Fatalf("seq %d twice", q)
		}
		seen[q] = true
	}
	for q := uint64(1); q <= writers*per; q++ {
		if !seen[q] {
			t.Fatalf("seq %d missing", q)
		}
	}
	if n := len(dups); n != per {
		t.Errorf("%d duplicates, want %d", n, per)
	}
	if commits >= items {
		t.Logf("no commit was shared (%d commits for %d appends): a very slow machine?", commits, items)
	}
	t.Logf("%d appends in %d commits", items, commits)
}

// A duplicate whose look in the store happened before its original was
// committed, with so many commits since that the recent keys no longer
// reach back: the committer reads the store again and still catches it.
func TestDedupeAfterRecentEvicted(t *testing.T) {
	s := open(t, t.TempDir(), Options{Dedupe: DedupeRecord, DedupeWindow: time.Hour})
	s.c.recent.max = 4
	ctx := context.Background()
	late := rec("X")
	// as if Append looked before anything was committed
	late.checked, late.checkedAt = true, 0
	if err := s.Append(ctx, rec("X")); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		s.Append(ctx, rec(fmt.Sprint("other", i)))
	}
	if s.c.recent.floor == 0 {
		t.Fatal("recent keys were not evicted")
	}
	// submit directly: Append would look in the store itself
	if err := s.c.submit(ctx, late); err != nil {
		t.Fatal(err)
	}
	if late.Status != Duplicate || late.DuplicateOf != 1 {
		t.Errorf("late duplicate: %v of %d", late.Status, late.DuplicateOf)
	}
	// and one checked recently is caught from recent without a read
	again := rec("other9")
	again.checked, again.checkedAt = true, s.LastSeq()-1
	if err := s.c.submit(ctx, again); err != nil || again.Status != Duplicate {
		t.Errorf("recent duplicate: %v %v", again.Status, err)
	}
}

// Routing a message again supersedes its dead letters.
func TestRouteClearsDeadLetter(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	r := rec("c1")
	s.Append(context.Background(), r)
	out := []Output{{Route: "adt", ContentType: "x", Body: []byte("b"), Dests: []string{"d"}}}
	ds, _ := s.Route(r.Seq, Outcome{State: Routed, Key: "k"}, out)
	s.Dead(ds[0], time.Now(), "gave up", nil)
	count := func() (n int) {
		s.DeadLetters("", func(DeadLetter) bool { n++; return true })
		return n
	}
	if count() != 1 {
		t.Fatal("no dead letter")
	}
	if _, err := s.Route(r.Seq, Outcome{State: Routed, Key: "k"}, out); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d dead letters after routing again", n)
	}
}

func TestAppendAfterClose(t *testing.T) {
	s := open(t, t.TempDir(), Options{Dedupe: DedupeRecord, DedupeWindow: time.Hour})
	s.Close()
	if err := s.Append(context.Background(), rec("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("append after close: %v", err)
	}
}

func TestList(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	for i := range 10 {
		r := rec(fmt.Sprint("c", i))
		if i%2 == 1 {
			r.Type = "ORU^R01"
		}
		s.Append(ctx, r)
		s.Route(r.Seq, Outcome{State: Routed, Key: fmt.Sprint("P", i%3)}, nil)
	}
	s.Append(ctx, &Record{Received: time.Now(), Status: Rejected, Raw: []byte("x")})
	seqs := func(q Query) (out []uint64, next uint64) {
		next, err := s.List(q, func(r *Record) bool {
			if r.Raw != nil {
				t.Fatal("List copied the raw message")
			}
			out = append(out, r.Seq)
			return len(out) < 3
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, next
	}
	if got, next := seqs(Query{}); fmt.Sprint(got) != "[11 10 9]" || next != 9 {
		t.Errorf("newest first: %v next %d", got, next)
	}
	if got, _ := seqs(Query{Before: 9}); fmt.Sprint(got) != "[8 7 6]" {
		t.Errorf("next page: %v", got)
	}
	if got, _ := seqs(Query{Type: "ORU"}); fmt.Sprint(got) != "[10 8 6]" {
		t.Errorf("by type: %v", got)
	}
	if got, _ := seqs(Query{Patient: "P1"}); fmt.Sprint(got) != "[8 5 2]" {
		t.Errorf("by patient: %v", got)
	}
	if got, _ := seqs(Query{Status: Rejected}); fmt.Sprint(got) != "[11]" {
		t.Errorf("by status: %v", got)
	}
	if got, _ := seqs(Query{ControlID: "c3"}); fmt.Sprint(got) != "[4]" {
		t.Errorf("by control id: %v", got)
	}
	if got, next := seqs(Query{Type: "ORU", Scan: 2}); fmt.Sprint(got) != "[10 8]" || next != 7 {
		t.Errorf("scan budget on the type index: %v next %d", got, next)
	}
	if got, next := seqs(Query{To: time.Now().Add(-time.Hour), Scan: 2}); len(got) != 0 || next != 10 {
		t.Errorf("scan budget on the journal: %v next %d", got, next)
	}
	if got, _ := seqs(Query{Type: "ADT^A01"}); fmt.Sprint(got) != "[9 7 5]" {
		t.Errorf("by type and event: %v", got)
	}
	if got, _ := seqs(Query{Type: "AD"}); len(got) != 0 {
		t.Errorf("a type is MSH-9.1 or MSH-9.1^MSH-9.2, not any prefix: %v", got)
	}
	if got, _ := seqs(Query{Sender: "EPIC"}); fmt.Sprint(got) != "[10 9 8]" {
		t.Errorf("by sending application: %v", got)
	}
	if got, _ := seqs(Query{Sender: "EPIC|HOSP", Type: "ORU"}); fmt.Sprint(got) != "[10 8 6]" {
		t.Errorf("by sender and type: %v", got)
	}
	if got, _ := seqs(Query{Sender: "EPIC|HOS"}); len(got) != 0 {
		t.Errorf("by part of a facility: %v", got)
	}
	if got, _ := seqs(Query{From: time.Now().Add(time.Hour)}); len(got) != 0 {
		t.Errorf("from the future: %v", got)
	}
}

// The outcome index: what was not routed, found without reading the
// journal; a reroute takes the message out of it until routed again.
func TestListByOutcome(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	states := []OutcomeState{Routed, Failed, Unrouted, Failed, Skipped, Routed}
	for i, st := range states {
		r := rec(fmt.Sprint("c", i))
		s.Append(ctx, r)
		s.Route(r.Seq, Outcome{State: st, Key: "P"}, nil)
	}
	list := func(q Query) string {
		var out []uint64
		if _, err := s.List(q, func(r *Record) bool { out = append(out, r.Seq); return true }); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	if got := list(Query{Outcome: Failed}); got != "[4 2]" {
		t.Errorf("failed: %s", got)
	}
	if got := list(Query{Outcome: Routed}); got != "[6 1]" {
		t.Errorf("routed (no index: read and checked): %s", got)
	}
	if got := list(Query{Outcome: Skipped, Patient: "P"}); got != "[5]" {
		t.Errorf("skipped, by patient: %s", got)
	}
	if _, err := s.Reroute(2); err != nil {
		t.Fatal(err)
	}
	if got := list(Query{Outcome: Failed}); got != "[4]" {
		t.Errorf("failed after rerouting 2: %s", got)
	}
	s.Route(2, Outcome{State: Routed, Key: "P"}, nil)
	if got := list(Query{Outcome: Failed}); got != "[4]" {
		t.Errorf("failed after 2 was routed: %s", got)
	}
}

// A store written before the indexes gets them when opened.
func TestIndexBackfill(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 4 {
		r := rec(fmt.Sprint("c", i))
		s.Append(ctx, r)
		s.Route(r.Seq, Outcome{State: []OutcomeState{Routed, Failed}[i%2]}, nil)
	}
	// as an earlier version left it: no index entries, no meta
	for _, t := range []byte{tByType, tBySender, tByControl, tByStatus, tByOutcome} {
		s.db.DeleteRange([]byte{t}, []byte{t + 1}, nil)
	}
	s.db.Delete(key(tMeta, "index"), nil)
	s.Close()
	s = open(t, dir, Options{})
	var got []uint64
	s.List(Query{Outcome: Failed, Type: "ADT"}, func(r *Record) bool { got = append(got, r.Seq); return true })
	if fmt.Sprint(got) != "[4 2]" {
		t.Errorf("after backfill: %v", got)
	}
	got = nil
	s.List(Query{ControlID: "c2"}, func(r *Record) bool { got = append(got, r.Seq); return true })
	if fmt.Sprint(got) != "[3]" {
		t.Errorf("by control id after backfill: %v", got)
	}
}

func TestOutboxOf(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	var all []*Delivery
	for i := range 6 {
		r := rec(fmt.Sprint("c", i))
		s.Append(ctx, r)
		ds, _ := s.Route(r.Seq, Outcome{State: Routed, Key: []string{"A", "B"}[i%2]},
			[]Output{{Route: "r", ContentType: "x", Body: []byte(fmt.Sprint("body", i)), Dests: []string{"d", "dd"}}})
		all = append(all, ds...)
	}
	s.Delivered(all[0], time.Now()) // A's first to d
	got, err := s.OutboxOf("d", "A", 1, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, d := range got {
		if d.Key != "A" || d.Dest != "d" || string(d.Body) != fmt.Sprint("body", d.Seq-1) {
			t.Errorf("entry %+v", d)
		}
		seqs = append(seqs, d.Seq)
	}
	if fmt.Sprint(seqs) != "[3 5]" {
		t.Errorf("A's pending entries to d: %v, want [3 5] (1 delivered; dd, a prefix of no name, apart)", seqs)
	}
	if got, _ := s.OutboxOf("d", "A", 1, 100, 1); len(got) != 1 {
		t.Errorf("max not honoured: %d", len(got))
	}
}

// A record's own policy (its listener's) overrides the store's.
func TestDedupePolicyPerRecord(t *testing.T) {
	s := open(t, t.TempDir(), Options{}) // the store's default: off
	ctx := context.Background()
	pol := &DedupePolicy{Mode: DedupeIgnore, Window: time.Hour}
	a, b, c := rec("X"), rec("X"), rec("X")
	a.Policy, b.Policy = pol, pol
	for _, r := range []*Record{a, b, c} {
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if b.Status != Duplicate || b.Seq != 0 {
		t.Errorf("with the listener's policy (ignore): %v seq %d", b.Status, b.Seq)
	}
	if c.Status != Accepted {
		t.Errorf("with the store's policy (off): %v", c.Status)
	}
}

func TestOutboxDests(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	if got, err := s.OutboxDests(); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	var toB []*Delivery
	for i := range 4 {
		r := rec(fmt.Sprint("c", i))
		s.Append(ctx, r)
		ds, err := s.Route(r.Seq, Outcome{State: Routed, Key: "K"},
			[]Output{{Route: "r", ContentType: "x", Body: []byte("b"), Dests: []string{"b", "a", "ab"}}})
		if err != nil {
			t.Fatal(err)
		}
		toB = append(toB, ds[0])
	}
	got, err := s.OutboxDests()
	if err != nil || fmt.Sprint(got) != "[a ab b]" {
		t.Fatalf("destinations %v %v, want [a ab b]", got, err)
	}
	for _, d := range toB {
		if err := s.Dead(d, time.Now(), "gone", nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.OutboxDests(); fmt.Sprint(got) != "[a ab]" {
		t.Errorf("after b's entries left: %v", got)
	}
}
