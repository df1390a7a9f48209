package file

import (
	"bytes"
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
	sync              string // syncGroup, syncFdatasync or syncFile
	namer             *namer
	dirMode, fileMode fs.FileMode
	// w is the group committer. Every write goes through it except those
	// of format file with sync: file, which each Deliver does on its own
	// (writeAtomic); w is nil then.
	w *writer

	now func() time.Time
	// fault, when set (tests only), is called at each step of a write and
	// fails it by returning an error, to show that a failure at any point
	// leaves no partial file behind. With the group committer it is called
	// from the writer's two goroutines: "take" as stage 1 takes what is
	// queued and "group" as the committer takes what stage 1 has written
	// (a test can block at either to let work pile up behind it), "write"
	// per temp file, "sync" per data sync (one per group and file system
	// with sync: group, one per file with sync: fdatasync), "rename" per
	// file, "syncdir" per directory, and "append" per ndjson file. Set it
	// only while no delivery is in flight.
	fault func(step string) error
}

func newDestination(c *Config, dir string) *destination {
	return &destination{
		dir: dir, format: c.Format, sync: c.Sync, namer: c.namer,
		dirMode: c.dirMode, fileMode: c.fileMode,
		now: time.Now,
	}
}

// start starts the group committer if this destination uses one; the
// choice of d.sync is final by then.
func (d *destination) start() {
	if d.format == formatNDJSON || d.sync != syncFile {
		d.w = newWriter(d)
	}
}

func (d *destination) step(name string) error {
	if d.fault == nil {
		return nil
	}
	return d.fault(name)
}

// Deliver writes m and returns nil once it is on disk (data, name and
// directory synced). If ctx ends first it returns ctx's error at once; see
// writer.submit for what then becomes of the file.
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
	switch {
	case d.format == formatNDJSON:
		var line []byte
		if line, err = ndjsonLine(m); err == nil {
			err = d.w.submit(ctx, rel, line)
		}
	case d.w == nil:
		err = d.writeAtomic(rel, m.Body)
	default:
		// A caller whose ctx ends returns while the writer may still be
		// writing its data, and Body must not be kept past Deliver: the
		// writer gets a copy. It is made here, in parallel across callers;
		// next to the syscalls it is noise (BenchmarkDeliver's B/op).
		err = d.w.submit(ctx, rel, bytes.Clone(m.Body))
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

// Close stops the group committer once it has written what is queued.
// Files are closed after each write; there is nothing else to release.
func (d *destination) Close() error {
	if d.w != nil {
		d.w.close()
	}
	return nil
}
