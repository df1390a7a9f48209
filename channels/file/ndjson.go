package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plexus-hl7/plexus/channels"
)

// ndjsonLine is m's Bundle compacted to one line, newline included. It is
// made in the caller's goroutine, so that callers compact in parallel.
func ndjsonLine(m *channels.Message) ([]byte, error) {
	if m.ContentType != channels.ContentFHIR {
		return nil, channels.Permanent(fmt.Errorf("format ndjson holds JSON Bundles, got %q; use format file for raw v2 messages", m.ContentType), nil)
	}
	// Compact JSON has no newline: inside strings JSON escapes them, and
	// whitespace between tokens is what Compact removes.
	var line bytes.Buffer
	line.Grow(len(m.Body) + 1)
	if err := json.Compact(&line, m.Body); err != nil {
		return nil, channels.Permanent(fmt.Errorf("message %d is not valid JSON: %w", m.Seq, err), nil)
	}
	line.WriteByte('\n')
	return line.Bytes(), nil
}

// appendLines commits one group of ndjson lines: per file (a group spans
// two only when the name rolls over), one write of all its lines in the
// order they were queued and one sync. Only the writer appends, so lines
// never interleave; the engine never has two messages of one key in
// flight, so their order is theirs.
func (w *writer) appendLines(group []*request) {
	for i, r := range group {
		if r == nil || r.state.Load() == cancelled {
			continue
		}
		// Collect this file's lines from the rest of the group.
		batch := []*request{r}
		for j := i + 1; j < len(group); j++ {
			if q := group[j]; q != nil && q.rel == r.rel {
				batch = append(batch, q)
				group[j] = nil
			}
		}
		err := w.appendFile(r.rel, batch)
		for _, q := range batch {
			q.done <- err
		}
	}
}

// appendFile appends the lines of batch to dir/rel and syncs the file. A
// failed append is cut off again, so the file only ever holds whole
// lines.
func (w *writer) appendFile(rel string, batch []*request) error {
	d := w.d
	path := filepath.Join(d.dir, rel)
	f, created, err := d.openAppend(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	data := w.buf[:0]
	defer func() {
		if cap(data) <= 1<<20 { // keep a buffer for the next group, not a burst's
			w.buf = data[:0]
		}
	}()
	if size > 0 {
		// A crash (or a failed truncate) can have left a partial last
		// line. End it, so that ours at least starts on a line of its own.
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			data = append(data, '\n')
		}
	}
	n := 0
	for _, r := range batch {
		// The commit point of a line: from here its caller's leaving no
		// longer keeps it out of the file.
		if r.state.CompareAndSwap(queued, committed) {
			data = append(data, r.data...)
			n++
		}
	}
	if n == 0 {
		return errCancelled
	}
	if err := d.appendSync(f, data); err != nil {
		// Take back what was written; the retry appends the lines again.
		if terr := f.Truncate(size); terr != nil {
			return errors.Join(err, fmt.Errorf("cutting off the failed append: %w", terr))
		}
		return err
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	return f.Close()
}

func (d *destination) appendSync(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := d.step("append"); err != nil {
		return err
	}
	// The size is part of what fdatasync writes: appended lines are durable
	// without the inode's times.
	return fdatasync(f)
}

// openAppend opens path for appending, creating it (and its directories)
// with file_mode if needed; created reports that it did, so that the caller
// syncs the directory.
func (d *destination) openAppend(path string) (f *os.File, created bool, err error) {
	const flags = os.O_RDWR | os.O_APPEND
	f, err = os.OpenFile(path, flags, 0)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, false, err
	}
	if err := mkdirAllSync(filepath.Dir(path), d.dirMode); err != nil {
		return nil, false, err
	}
	f, err = os.OpenFile(path, flags|os.O_CREATE, d.fileMode)
	if err != nil {
		return nil, false, err
	}
	// The umask may have masked the mode OpenFile was given.
	if err := f.Chmod(d.fileMode); err != nil {
		f.Close()
		return nil, false, err
	}
	return f, true, nil
}
