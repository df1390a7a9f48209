package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// destination writes messages below dir.
type destination struct {
	dir               string
	format            string
	namer             *namer
	dirMode, fileMode fs.FileMode
	// appendLock serialises ndjson appends (one line must never interleave
	// with another). A channel rather than a mutex, so that waiting for it
	// gives up when the caller's ctx does.
	appendLock chan struct{}

	now func() time.Time
	// fault, when set (tests only), is called at each step of a write and
	// fails it by returning an error, to show that a failure at any point
	// leaves no partial file behind.
	fault func(step string) error
}

func newDestination(c *Config, dir string) *destination {
	return &destination{
		dir: dir, format: c.Format, namer: c.namer,
		dirMode: c.dirMode, fileMode: c.fileMode,
		appendLock: make(chan struct{}, 1),
		now:        time.Now,
	}
}

func (d *destination) step(name string) error {
	if d.fault == nil {
		return nil
	}
	return d.fault(name)
}

// Deliver writes m and returns nil once it is on disk (file and directory
// synced).
func (d *destination) Deliver(ctx context.Context, m *channels.Message) error {
	// Disk writes cannot be interrupted; what can be honoured is not
	// starting one after the caller gave up.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file write to %s: %w", d.dir, context.Cause(ctx))
	}
	rel, err := d.namer.render(nameData(m, d.now()), extFor(d.format, m.ContentType))
	if err != nil {
		// The name depends only on the message and the template: the same
		// message will fail the same way on every retry.
		return channels.Permanent(fmt.Errorf("file write to %s: message %d: %w", d.dir, m.Seq, err), nil)
	}
	if d.format == formatNDJSON {
		err = d.appendLine(ctx, rel, m)
	} else {
		err = d.writeAtomic(rel, m.Body)
	}
	if err == nil {
		return nil
	}
	err = fmt.Errorf("file write to %s: %w", d.dir, err)
	if channels.IsPermanent(err) || errors.Is(err, syscall.ENAMETOOLONG) {
		// A name too long for this file system is the message's (a long
		// control id), not the disk's.
		return channels.Permanent(err, nil)
	}
	// Everything else is retried: a full disk, a permission or a missing
	// mount is the operator's to fix, and once fixed the retries succeed;
	// dead-lettering would turn every message of the meantime into a
	// manual replay.
	return err
}

// Close has nothing to release: files are closed after each write.
func (d *destination) Close() error { return nil }
