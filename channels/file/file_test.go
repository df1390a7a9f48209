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
	"sync"
	"syscall"
	"testing"

	"github.com/plexus-hl7/plexus/channels"
)

func TestDeliverWritesOneFilePerMessage(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, withSync(mode))
		if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
			t.Fatalf("Open did not create dir: %v", err)
		}
		ctx := context.Background()
		if err := d.Deliver(ctx, fhirMessage(1, "MSG1")); err != nil {
			t.Fatal(err)
		}
		v2 := "MSH|^~\\&|EMR|HOSP|||20240101||ADT^A01|MSG2|P|2.5\rPID|1||123\r"
		m := fhirMessage(2, "MSG2")
		m.ContentType, m.Body = channels.ContentHL7v2, []byte(v2)
		if err := d.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got, want := files(t, out), []string{"1-MSG1.json", "2-MSG2.hl7"}; !slices.Equal(got, want) {
			t.Fatalf("files = %v, want %v", got, want)
		}
		if got := read(t, filepath.Join(out, "1-MSG1.json")); got != bundle {
			t.Errorf("1-MSG1.json = %q", got)
		}
		if got := read(t, filepath.Join(out, "2-MSG2.hl7")); got != v2 {
			t.Errorf("2-MSG2.hl7 = %q", got)
		}
		fi, err := os.Stat(filepath.Join(out, "1-MSG1.json"))
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("file mode = %v, %v; want 0640", fi.Mode(), err)
		}
	})
}

func TestDeliverIsIdempotent(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, withSync(mode))
		m := fhirMessage(5, "MSG5")
		if err := d.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		// The retry (or a replay) of seq 5 replaces the file.
		m.Attempt, m.Body = 2, []byte(`{"resourceType":"Bundle","type":"batch"}`)
		if err := d.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := files(t, out); !slices.Equal(got, []string{"5-MSG5.json"}) {
			t.Fatalf("files = %v", got)
		}
		if got := read(t, filepath.Join(out, "5-MSG5.json")); got != string(m.Body) {
			t.Fatalf("content = %q", got)
		}
	})
}

func TestDeliverSanitisesHostileValues(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, func(c *Config) { c.Sync = mode; c.Name = "{{.Key}}/{{.Seq}}-{{.ControlID}}" })
		base := filepath.Dir(out)
		for i, id := range []string{"../../etc/passwd", "a/b", "x\x00y", "..", "/abs", `..\..\win`} {
			m := fhirMessage(uint64(i+1), id)
			m.Key = "../" + id
			if err := d.Deliver(context.Background(), m); err != nil {
				t.Fatalf("%q: %v", id, err)
			}
		}
		want := []string{
			"_._.._.._etc_passwd/1-_._.._etc_passwd.json",
			"_._a_b/2-a_b.json",
			"_._x_y/3-x_y.json",
			"_._../4-_..json",
			"_.__abs/5-_abs.json",
			"_._.._.._win/6-_._.._win.json",
		}
		if got := files(t, out); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("files = %q\nwant %q", got, want)
		}
		// Nothing outside dir.
		if got := files(t, base); len(got) != len(want) {
			t.Fatalf("files below BaseDir: %q", got)
		}
	})
}

func TestDeliverNameErrorsArePermanent(t *testing.T) {
	// Valid for Validate's sample message, empty for a message without a
	// key.
	d, out := open(t, func(c *Config) { c.Name = "{{.Key}}" })
	m := fhirMessage(1, "MSG1")
	m.Key = ""
	err := d.Deliver(context.Background(), m)
	if !channels.IsPermanent(err) || !errors.Is(err, errEmptyName) {
		t.Fatalf("empty name: %v, want permanent errEmptyName", err)
	}
	// Five keys of 64 bytes exceed 255 bytes.
	d, _ = open(t, func(c *Config) { c.Name = "{{.Key}}{{.Key}}{{.Key}}{{.Key}}{{.Key}}" })
	m.Key = strings.Repeat("k", 100)
	if err := d.Deliver(context.Background(), m); !channels.IsPermanent(err) {
		t.Fatalf("long name: %v, want permanent", err)
	}
	if got := files(t, out); len(got) != 0 {
		t.Fatalf("files = %v", got)
	}
}

// A failure at any step leaves neither a temp file nor a partial file, and
// an existing file (an earlier delivery of the same message) intact.
func TestDeliverFailureLeavesNoPartialFile(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		for _, step := range []string{"write", "sync", "rename"} {
			t.Run(step, func(t *testing.T) {
				d, out := open(t, withSync(mode))
				old := fhirMessage(1, "OLD")
				old.ControlID = "MSG1"
				old.Body = []byte(`{"old":true}`)
				if err := d.Deliver(context.Background(), old); err != nil {
					t.Fatal(err)
				}
				d.fault = func(s string) error {
					if s == step {
						return &fs.PathError{Op: s, Path: "x", Err: syscall.ENOSPC}
					}
					return nil
				}
				err := d.Deliver(context.Background(), fhirMessage(1, "MSG1"))
				if err == nil || channels.IsPermanent(err) || !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("disk full at %s: %v, want a retryable ENOSPC", step, err)
				}
				if err := d.Deliver(context.Background(), fhirMessage(2, "MSG2")); err == nil {
					t.Fatal("second delivery succeeded despite the fault")
				}
				noTempFiles(t, out)
				if got := files(t, out); !slices.Equal(got, []string{"1-MSG1.json"}) {
					t.Fatalf("files = %v", got)
				}
				if got := read(t, filepath.Join(out, "1-MSG1.json")); got != `{"old":true}` {
					t.Fatalf("earlier file changed: %q", got)
				}
				// Once the operator frees space, the retry succeeds.
				d.fault = nil
				if err := d.Deliver(context.Background(), fhirMessage(1, "MSG1")); err != nil {
					t.Fatal(err)
				}
				if got := read(t, filepath.Join(out, "1-MSG1.json")); got != bundle {
					t.Fatalf("after retry: %q", got)
				}
			})
		}
	})
}

func TestDeliverErrorClasses(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, _ := open(t, withSync(mode))
		for _, tt := range []struct {
			errno     syscall.Errno
			permanent bool
		}{
			{syscall.ENOSPC, false}, {syscall.EACCES, false}, {syscall.EPERM, false}, {syscall.EROFS, false},
			{syscall.EIO, false}, {syscall.ENAMETOOLONG, true},
		} {
			d.fault = func(string) error { return &fs.PathError{Op: "open", Path: "x", Err: tt.errno} }
			err := d.Deliver(context.Background(), fhirMessage(1, "MSG1"))
			if err == nil || channels.IsPermanent(err) != tt.permanent {
				t.Errorf("%v: %v, permanent = %v, want %v", tt.errno, err, channels.IsPermanent(err), tt.permanent)
			}
		}
	})
}

func TestDeliverPermissionDenied(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		d, out := open(t, withSync(mode))
		if err := os.Chmod(out, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(out, 0o750)
		err := d.Deliver(context.Background(), fhirMessage(1, "MSG1"))
		if err == nil || channels.IsPermanent(err) || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("read-only dir: %v, want a retryable permission error", err)
		}
	})
}

func TestDeliverRecreatesDirAndSubdirs(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, func(c *Config) { c.Sync = mode; c.Name = "{{.Route}}/{{.Seq}}"; c.DirMode = "0700" })
		if err := os.RemoveAll(out); err != nil {
			t.Fatal(err)
		}
		if err := d.Deliver(context.Background(), fhirMessage(1, "MSG1")); err != nil {
			t.Fatal(err)
		}
		if got := files(t, out); !slices.Equal(got, []string{"admissions/1.json"}) {
			t.Fatalf("files = %v", got)
		}
		if fi, err := os.Stat(filepath.Join(out, "admissions")); err != nil || fi.Mode().Perm()&^0o700 != 0 {
			t.Fatalf("sub-directory mode %v, %v", fi.Mode(), err)
		}
	})
}

func TestDeliverHonoursCancelledContext(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, withSync(mode))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Deliver(ctx, fhirMessage(1, "MSG1")); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v", err)
		}
		if got := files(t, out); len(got) != 0 {
			t.Fatalf("files = %v", got)
		}
	})
}

func TestDeliverConcurrently(t *testing.T) {
	eachSync(t, func(t *testing.T, mode string) {
		d, out := open(t, withSync(mode))
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if err := d.Deliver(context.Background(), fhirMessage(uint64(i), fmt.Sprint("M", i))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := files(t, out); len(got) != 50 {
			t.Fatalf("%d files, want 50", len(got))
		}
		noTempFiles(t, out)
	})
}

func TestOpenToleratesAnUncreatableDir(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := New()
	c.Dir = "file/out" // below a regular file: cannot exist
	d, err := c.Open(context.Background(), channels.OpenOptions{Name: "archive", BaseDir: base})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	err = d.Deliver(context.Background(), fhirMessage(1, "MSG1"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("Deliver: %v, want a retryable error", err)
	}
	// The operator fixes it; the retry succeeds.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), fhirMessage(1, "MSG1")); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
}
