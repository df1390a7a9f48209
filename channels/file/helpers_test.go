package file

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

const bundle = `{
  "resourceType": "Bundle",
  "type": "transaction",
  "entry": [ { "resource": { "resourceType": "Patient", "id": "p1", "name": [ { "text": "line1\nline2" } ] } } ]
}`

func fhirMessage(seq uint64, controlID string) *channels.Message {
	return &channels.Message{Seq: seq, Route: "admissions", Key: "123^^^HOSP", IdempotencyKey: "EMR|HOSP|" + controlID,
		Source: "adt-feed", MessageType: "ADT^A01", ControlID: controlID,
		ContentType: channels.ContentFHIR, Body: []byte(bundle), Attempt: 1}
}

// open opens a file destination from the registry, with dir "out" below a
// temporary BaseDir, and returns it with the absolute output directory.
func open(t *testing.T, set func(*Config)) (*destination, string) {
	t.Helper()
	k, ok := channels.Lookup("file")
	if !ok {
		t.Fatal(`kind "file" not registered`)
	}
	c := k.New().(*Config)
	c.Dir = "out"
	if set != nil {
		set(c)
	}
	base := t.TempDir()
	d, err := c.Open(context.Background(), channels.OpenOptions{Name: "archive", BaseDir: base})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*destination), filepath.Join(base, "out")
}

// files lists every regular file below root, relative and slash-separated.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func noTempFiles(t *testing.T, root string) {
	t.Helper()
	for _, f := range files(t, root) {
		if strings.HasPrefix(filepath.Base(f), ".plexus-") {
			t.Errorf("temp file left behind: %s", f)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// holder is a fault hook that counts the writer's steps and holds the
// writer at one step until release, so that tests see grouping without
// relying on timing. Held at "take", stage 1 has taken one delivery and not
// yet looked for more: every delivery queued meanwhile (waitQueued) is
// taken with it. Held at "group", the committer has not yet taken what
// stage 1 wrote: every file written meanwhile (waitWritten) is committed
// with it.
type holder struct {
	held   chan struct{} // closed when the writer reaches the step
	rel    chan struct{}
	once   sync.Once
	mu     sync.Mutex
	fail   func(step string) error // see failWith
	counts map[string]int
	steps  []string // in order
}

func holdAt(t *testing.T, d *destination, at string) *holder {
	t.Helper()
	h := &holder{held: make(chan struct{}), rel: make(chan struct{}), counts: map[string]int{}}
	first := true
	d.fault = func(step string) error {
		// Called from all of the writer's goroutines; every call at the
		// step waits, so that the second committer does not take what
		// piles up behind the first.
		h.mu.Lock()
		h.counts[step]++
		h.steps = append(h.steps, step)
		if step == at && first {
			first = false
			close(h.held)
		}
		fail := h.fail
		h.mu.Unlock()
		if step == at {
			<-h.rel
		}
		if fail != nil {
			return fail(step)
		}
		return nil
	}
	t.Cleanup(h.release) // before Close (cleanups run last first): never leave the writer stuck
	return h
}

func (h *holder) release() { h.once.Do(func() { close(h.rel) }) }

// failWith makes the steps fail as fail says (nil: succeed), from the next
// step on; an idle committer may be calling the hook meanwhile.
func (h *holder) failWith(fail func(step string) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = fail
}

func (h *holder) count(step string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[step]
}

// order is the sequence of the given steps, repeats folded: write, write,
// sync becomes write, sync.
func (h *holder) order(steps ...string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, s := range h.steps {
		if slices.Contains(steps, s) && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return out
}

// waitQueued waits until n deliveries wait in the writer's queue.
func waitQueued(t *testing.T, d *destination, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(d.w.in) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries queued after 10s, want %d", len(d.w.in), n)
		}
	}
}

// syncModes are the sync settings; the guarantees of Deliver hold for each.
var syncModes = []string{"group", "fdatasync", "file"}

func eachSync(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range syncModes {
		t.Run(mode, func(t *testing.T) { test(t, mode) })
	}
}

func withSync(mode string) func(*Config) { return func(c *Config) { c.Sync = mode } }

// waitWritten waits until n files wait for the committer.
func waitWritten(t *testing.T, d *destination, n int) {
	t.Helper()
	written := func() int {
		d.w.wmu.Lock()
		defer d.w.wmu.Unlock()
		return len(d.w.written)
	}
	for deadline := time.Now().Add(10 * time.Second); written() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d files written after 10s, want %d", written(), n)
		}
	}
}
