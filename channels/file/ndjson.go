package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plexus-hl7/plexus/channels"
)

// appendLine appends m's Bundle, compacted to one line, to dir/rel and syncs
// it. Appends are serialised; a failed one is cut off again, so the file
// only ever holds whole lines.
func (d *destination) appendLine(ctx context.Context, rel string, m *channels.Message) error {
	if m.ContentType != channels.ContentFHIR {
		return channels.Permanent(fmt.Errorf("format ndjson holds JSON Bundles, got %q; use format file for raw v2 messages", m.ContentType), nil)
	}
	// Compact JSON has no newline: inside strings JSON escapes them, and
	// whitespace between tokens is what Compact removes.
	var line bytes.Buffer
	line.Grow(len(m.Body) + 1)
	if err := json.Compact(&line, m.Body); err != nil {
		return channels.Permanent(fmt.Errorf("message %d is not valid JSON: %w", m.Seq, err), nil)
	}
	line.WriteByte('\n')

	select {
	case d.appendLock <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting to append to %s: %w", rel, context.Cause(ctx))
	}
	defer func() { <-d.appendLock }()

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
	data := line.Bytes()
	if size > 0 {
		// A crash (or a failed truncate) can have left a partial last
		// line. End it, so that ours at least starts on a line of its own.
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
		}
	}
	if err := d.appendSync(f, data); err != nil {
		// Take back what was written; the retry appends the line again.
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
	return f.Sync()
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
