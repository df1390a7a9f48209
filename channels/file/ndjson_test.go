package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func ndjson(t *testing.T) (*destination, string) {
	t.Helper()
	d, out := open(t, func(c *Config) { c.Format = "ndjson" })
	d.now = func() time.Time { return time.Date(2024, 5, 6, 23, 59, 0, 0, time.UTC) }
	return d, out
}

// lines returns the file's lines, checking that it ends with a newline.
func lines(t *testing.T, path string) []string {
	t.Helper()
	s := read(t, path)
	if s != "" && !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s does not end with a newline: %q", path, s)
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestNDJSONConcurrentAppends(t *testing.T) {
	d, out := ndjson(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq := uint64(w*each + i)
				m := fhirMessage(seq, fmt.Sprint("M", seq))
				m.Body = fmt.Appendf(nil, "{\n  \"resourceType\": \"Bundle\",\n  \"id\": \"b%d\",\n  \"note\": \"a\\nb\"\n}\n", seq)
				if err := d.Deliver(context.Background(), m); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := files(t, out); !slices.Equal(got, []string{"2024-05-06.ndjson"}) {
		t.Fatalf("files = %v", got)
	}
	ls := lines(t, filepath.Join(out, "2024-05-06.ndjson"))
	if len(ls) != writers*each {
		t.Fatalf("%d lines, want %d", len(ls), writers*each)
	}
	ids := map[string]bool{}
	for _, l := range ls {
		var b struct{ ID, Note string }
		if err := json.Unmarshal([]byte(l), &b); err != nil || b.Note != "a\nb" {
			t.Fatalf("line %q: %v", l, err)
		}
		if strings.Contains(l, " ") {
			t.Errorf("line not compact: %q", l)
		}
		ids[b.ID] = true
	}
	if len(ids) != writers*each {
		t.Fatalf("%d distinct bundles, want %d", len(ids), writers*each)
	}
}

func TestNDJSONRollsWithTheName(t *testing.T) {
	d, out := ndjson(t)
	if err := d.Deliver(context.Background(), fhirMessage(1, "A")); err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return time.Date(2024, 5, 7, 0, 0, 1, 0, time.UTC) }
	if err := d.Deliver(context.Background(), fhirMessage(2, "B")); err != nil {
		t.Fatal(err)
	}
	if got := files(t, out); !slices.Equal(got, []string{"2024-05-06.ndjson", "2024-05-07.ndjson"}) {
		t.Fatalf("files = %v", got)
	}
	fi, err := os.Stat(filepath.Join(out, "2024-05-07.ndjson"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
}

func TestNDJSONRejectsWhatIsNotJSON(t *testing.T) {
	d, out := ndjson(t)
	m := fhirMessage(1, "A")
	m.ContentType = channels.ContentHL7v2
	if err := d.Deliver(context.Background(), m); !channels.IsPermanent(err) {
		t.Errorf("v2 body: %v, want permanent", err)
	}
	m = fhirMessage(2, "B")
	m.Body = []byte(`{"resourceType": "Bundle"`)
	if err := d.Deliver(context.Background(), m); !channels.IsPermanent(err) {
		t.Errorf("truncated JSON: %v, want permanent", err)
	}
	m.Body = []byte(`{} {}`)
	if err := d.Deliver(context.Background(), m); !channels.IsPermanent(err) {
		t.Errorf("two JSON values: %v, want permanent", err)
	}
	if got := files(t, out); len(got) != 0 {
		t.Fatalf("files = %v", got)
	}
}

// A failed append is cut off again: the file keeps whole lines only.
func TestNDJSONFailedAppendLeavesNoPartialLine(t *testing.T) {
	d, out := ndjson(t)
	path := filepath.Join(out, "2024-05-06.ndjson")
	if err := d.Deliver(context.Background(), fhirMessage(1, "A")); err != nil {
		t.Fatal(err)
	}
	before := read(t, path)
	d.fault = func(step string) error {
		if step == "append" {
			return syscall.ENOSPC
		}
		return nil
	}
	err := d.Deliver(context.Background(), fhirMessage(2, "B"))
	if err == nil || channels.IsPermanent(err) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk full: %v, want retryable ENOSPC", err)
	}
	if got := read(t, path); got != before {
		t.Fatalf("file changed by a failed append: %q", got)
	}
	d.fault = nil
	if err := d.Deliver(context.Background(), fhirMessage(2, "B")); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, path)); n != 2 {
		t.Fatalf("%d lines, want 2", n)
	}
}

// A partial line left by a crash is ended before the next append.
func TestNDJSONEndsAPartialLastLine(t *testing.T) {
	d, out := ndjson(t)
	path := filepath.Join(out, "2024-05-06.ndjson")
	if err := os.WriteFile(path, []byte(`{"resourceType":"Bund`), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), fhirMessage(1, "A")); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, path)
	if len(ls) != 2 || !json.Valid([]byte(ls[1])) {
		t.Fatalf("lines = %q", ls)
	}
}

func TestNDJSONWaitHonoursContext(t *testing.T) {
	d, out := ndjson(t)
	h := holdAt(t, d, "take") // another append in progress
	first := make(chan error, 1)
	go func() { first <- d.Deliver(context.Background(), fhirMessage(1, "A")) }()
	<-h.held
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, fhirMessage(2, "B")) }()
	waitQueued(t, d, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	h.release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// B was queued behind A and given up: only A's line is written.
	if ls := lines(t, filepath.Join(out, "2024-05-06.ndjson")); len(ls) != 1 {
		t.Fatalf("lines = %q", ls)
	}
	if h.count("append") != 1 {
		t.Fatalf("%d appends, want 1", h.count("append"))
	}
}

// Concurrent appends share one write and one sync per group.
func TestNDJSONGroupsAppends(t *testing.T) {
	d, out := ndjson(t)
	h := holdAt(t, d, "take")
	const n = 20
	errs := make(chan error, n)
	go func() { errs <- d.Deliver(context.Background(), fhirMessage(0, "M0")) }()
	<-h.held
	for i := 1; i < n; i++ {
		go func() { errs <- d.Deliver(context.Background(), fhirMessage(uint64(i), fmt.Sprint("M", i))) }()
	}
	waitQueued(t, d, n-1)
	h.release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := len(lines(t, filepath.Join(out, "2024-05-06.ndjson"))); got != n {
		t.Fatalf("%d lines, want %d", got, n)
	}
	if h.count("take") != 1 || h.count("append") != 1 {
		t.Fatalf("%d groups, %d appends; want 1 and 1", h.count("take"), h.count("append"))
	}
}
