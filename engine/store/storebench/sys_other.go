//go:build !linux

package storebench

import (
	"os"
	"time"
)

func allocatedBytes(fi os.FileInfo) int64 { return fi.Size() }

// RSSBytes is not measured on this platform.
func RSSBytes() int64 { return 0 }

// WriteBytes is not measured on this platform.
func WriteBytes() int64 { return 0 }

// CPUTime is not measured on this platform.
func CPUTime() time.Duration { return 0 }
