//go:build !linux

package file

import (
	"errors"
	"os"
)

// Elsewhere there is no syncfs: sync: group syncs file by file (Open
// switches it to fdatasync), still one directory sync per group.
func syncfsReportsErrors() bool { return false }

var errNoSyncfs = errors.New("syncfs is Linux only")

func syncfs(*os.File) error { return errNoSyncfs }

func device(*os.File) (uint64, error) { return 0, errNoSyncfs }

// fdatasync is fsync where there is no fdatasync (F_FULLFSYNC on macOS, as
// os.File.Sync does).
func fdatasync(f *os.File) error { return f.Sync() }
