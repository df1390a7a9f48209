package file

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// tempPattern names files being written: hidden, with a suffix no consumer
// picks up, so that directory watchers only ever see complete files.
const tempPattern = ".plexus-*.tmp"

// writeAtomic is sync: file, every delivery on its own: it writes data to
// dir/rel so that a reader sees the old file or the whole new one, never
// part of it, and so that the new one survives a crash once this returns:
// temp file in the same directory (a rename is atomic only within one file
// system), fsync, rename over the name, fsync of the directory (which is
// what makes the rename itself durable). The group committer does the same
// for many files with fewer syncs.
func (d *destination) writeAtomic(rel string, data []byte) (err error) {
	path := filepath.Join(d.dir, rel)
	f, err := d.createTemp(path, data)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = d.step("sync"); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = d.step("rename"); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// From here the temp name is gone; a failed directory sync is still an
	// error (the rename may not survive a crash), and the retry rewrites
	// the same name.
	if err := d.step("syncdir"); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// createTemp writes data to a new hidden temp file beside path, with
// file_mode, and returns it open and not synced. On error it leaves no
// file behind.
func (d *destination) createTemp(path string, data []byte) (_ *os.File, err error) {
	parent := filepath.Dir(path)
	f, err := os.CreateTemp(parent, tempPattern)
	if errors.Is(err, fs.ErrNotExist) {
		// A sub-directory of the name not made yet, or dir removed since
		// Open: make it and try once more.
		if err = mkdirAllSync(parent, d.dirMode); err == nil {
			f, err = os.CreateTemp(parent, tempPattern)
		}
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return nil, err
	}
	if err = d.step("write"); err != nil {
		return nil, err
	}
	// CreateTemp made it 0600; Chmod sets file_mode exactly, whatever the
	// umask.
	if err = f.Chmod(d.fileMode); err != nil {
		return nil, err
	}
	return f, nil
}

// mkdirAllSync is os.MkdirAll that also syncs the parent of every
// directory it creates, so that the new entries survive a crash along with
// the files later written into them.
func mkdirAllSync(dir string, mode fs.FileMode) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent, mode); err != nil {
			return err
		}
	}
	// EEXIST: a concurrent Deliver made it. Sync anyway: its creator may
	// not have synced the parent yet.
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir makes the directory's entries (a rename, a new file) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot fsync a directory; NTFS journals the rename.
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
