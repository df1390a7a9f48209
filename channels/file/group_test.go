package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// deliverGroup delivers msgs as one group: the committer is held (h, at
// "group") with the first file written, stage 1 writes the others, then
// the committer takes them all. It returns each message's result.
func deliverGroup(t *testing.T, d *destination, h *holder, msgs []*channels.Message) []error {
	t.Helper()
	errs := make([]error, len(msgs))
	done := make(chan int, len(msgs))
	deliver := func(i int) {
		errs[i] = d.Deliver(context.Background(), msgs[i])
		done <- i
	}
	go deliver(0)
	<-h.held
	for i := 1; i < len(msgs); i++ {
		go deliver(i)
	}
	waitWritten(t, d, len(msgs))
	h.release()
	for range msgs {
		<-done
	}
	return errs
}

func messages(n int) []*channels.Message {
	var ms []*channels.Message
	for i := range n {
		ms = append(ms, fhirMessage(uint64(i+1), fmt.Sprint("M", i+1)))
	}
	return ms
}

// Many concurrent deliveries share the syncs: one syncfs and one directory
// sync for the whole group, where sync: file does two per message. The
// order of the steps is the kill-safety argument of group.go: every file's
// data is durable before any rename, every rename before any caller hears
// nil.
func TestGroupSharesSyncs(t *testing.T) {
	for _, tt := range []struct {
		mode  string
		syncs int
	}{{"group", 1}, {"fdatasync", 32}} {
		t.Run(tt.mode, func(t *testing.T) {
			d, out := open(t, withSync(tt.mode))
			h := holdAt(t, d, "group")
			for i, err := range deliverGroup(t, d, h, messages(32)) {
				if err != nil {
					t.Fatalf("message %d: %v", i+1, err)
				}
			}
			if got := len(files(t, out)); got != 32 {
				t.Fatalf("%d files, want 32", got)
			}
			noTempFiles(t, out)
			for step, want := range map[string]int{"write": 32, "sync": tt.syncs, "rename": 32, "syncdir": 1} {
				if got := h.count(step); got != want {
					t.Errorf("%s: %d, want %d", step, got, want)
				}
			}
			if got, want := h.order("write", "sync", "rename", "syncdir"), []string{"write", "sync", "rename", "syncdir"}; !slices.Equal(got, want) {
				t.Errorf("steps %v, want %v", got, want)
			}
		})
	}
}

// Files in sub-directories: still one data sync (one file system), one
// sync per directory.
func TestGroupSyncsEachDirectoryOnce(t *testing.T) {
	d, out := open(t, func(c *Config) { c.Name = "{{.Route}}/{{.Seq}}"; c.Sync = "group" })
	h := holdAt(t, d, "group")
	ms := messages(10)
	for i, m := range ms {
		m.Route = []string{"adt", "orm"}[i%2]
	}
	for _, err := range deliverGroup(t, d, h, ms) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := files(t, out); len(got) != 10 || got[0] != "adt/1.json" || got[9] != "orm/8.json" {
		t.Fatalf("files = %v", got)
	}
	if h.count("sync") != 1 || h.count("syncdir") != 2 {
		t.Fatalf("%d syncs, %d directory syncs; want 1 and 2", h.count("sync"), h.count("syncdir"))
	}
}

// A file that cannot be renamed to its name (a directory is in the way)
// fails its own delivery only; the rest of its group is delivered.
func TestGroupOneBadFileFailsOnlyItsCaller(t *testing.T) {
	for _, mode := range []string{"group", "fdatasync"} {
		t.Run(mode, func(t *testing.T) {
			d, out := open(t, withSync(mode))
			if err := os.Mkdir(filepath.Join(out, "3-M3.json"), 0o750); err != nil {
				t.Fatal(err)
			}
			// And one whose sub-directory cannot be made: its name's
			// directory is a regular file.
			d.namer, _ = compileName("{{.Route}}/{{.Seq}}-{{.ControlID}}")
			if err := os.WriteFile(filepath.Join(out, "blocked"), nil, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(out, "r"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(out, "r", "3-M3.json"), 0o750); err != nil {
				t.Fatal(err)
			}
			ms := messages(8)
			for _, m := range ms {
				m.Route = "r"
			}
			ms[5].Route = "blocked"
			h := holdAt(t, d, "group")
			errs := deliverGroup(t, d, h, ms)
			for i, err := range errs {
				switch i {
				case 2, 5:
					if err == nil || channels.IsPermanent(err) {
						t.Errorf("message %d: %v, want a retryable error", i+1, err)
					}
				default:
					if err != nil {
						t.Errorf("message %d: %v", i+1, err)
					}
				}
			}
			if !errors.Is(errs[2], syscall.EISDIR) && !errors.Is(errs[2], syscall.EEXIST) {
				t.Errorf("rename onto a directory: %v", errs[2])
			}
			if !errors.Is(errs[5], syscall.ENOTDIR) {
				t.Errorf("directory blocked by a file: %v", errs[5])
			}
			want := []string{"blocked", "r/1-M1.json", "r/2-M2.json", "r/4-M4.json", "r/5-M5.json", "r/7-M7.json", "r/8-M8.json"}
			if got := files(t, out); !slices.Equal(got, want) {
				t.Fatalf("files = %v\nwant %v", got, want)
			}
			noTempFiles(t, out)
		})
	}
}

// A failed data sync fails every delivery it covered and leaves no temp
// file; the retry writes the data again.
func TestGroupFailedSyncFailsTheGroup(t *testing.T) {
	d, out := open(t, nil)
	h := holdAt(t, d, "group")
	h.failWith(func(step string) error {
		if step == "sync" {
			return &fs.PathError{Op: "syncfs", Path: "x", Err: syscall.EIO}
		}
		return nil
	})
	for i, err := range deliverGroup(t, d, h, messages(8)) {
		if !errors.Is(err, syscall.EIO) || channels.IsPermanent(err) {
			t.Errorf("message %d: %v, want a retryable EIO", i+1, err)
		}
	}
	if got := files(t, out); len(got) != 0 {
		t.Fatalf("files after a failed sync: %v", got)
	}
	h.failWith(nil)
	for _, m := range messages(8) {
		if err := d.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got := files(t, out); len(got) != 8 {
		t.Fatalf("after the retry: %v", got)
	}
}

// A caller whose ctx ends while its file is queued returns at once (the
// writer is still held) and its file is never written.
func TestGroupCancelWhileQueued(t *testing.T) {
	d, out := open(t, nil)
	h := holdAt(t, d, "take")
	first := make(chan error, 1)
	go func() { first <- d.Deliver(context.Background(), fhirMessage(1, "M1")) }()
	<-h.held
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, fhirMessage(2, "M2")) }()
	waitQueued(t, d, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
		t.Fatalf("cancelled while queued: %v", err)
	}
	h.release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Stage 1 takes in order: once M3 is delivered, M2 has been seen.
	if err := d.Deliver(context.Background(), fhirMessage(3, "M3")); err != nil {
		t.Fatal(err)
	}
	if got := files(t, out); !slices.Equal(got, []string{"1-M1.json", "3-M3.json"}) {
		t.Fatalf("files = %v", got)
	}
	if h.count("write") != 2 {
		t.Fatalf("%d temp files written, want 2 (none for the cancelled one)", h.count("write"))
	}
}

// A caller whose ctx ends after its temp file was written, while the
// group syncs, returns at once too; the writer then removes the temp file
// instead of renaming it.
func TestGroupCancelWhileSyncing(t *testing.T) {
	d, out := open(t, nil)
	h := holdAt(t, d, "sync")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, fhirMessage(1, "M1")) }()
	<-h.held
	if got := files(t, out); len(got) != 1 || !strings.HasPrefix(got[0], ".plexus-") {
		t.Fatalf("files while syncing = %v, want one temp file", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while syncing: %v", err)
	}
	h.release()
	if err := d.Deliver(context.Background(), fhirMessage(2, "M2")); err != nil {
		t.Fatal(err)
	}
	// Another committer may rename M2 before the first one, released,
	// removes M1's temp file: wait for it, not for an order.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if got = files(t, out); slices.Equal(got, []string{"2-M2.json"}) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{"2-M2.json"}) {
		t.Fatalf("files = %v", got)
	}
	if h.count("rename") != 1 {
		t.Fatalf("%d renames, want 1", h.count("rename"))
	}
}

func TestDeliverAfterClose(t *testing.T) {
	d, out := open(t, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), fhirMessage(1, "M1")); !errors.Is(err, errClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if got := files(t, out); len(got) != 0 {
		t.Fatalf("files = %v", got)
	}
}
