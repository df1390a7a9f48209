package file

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// syncfsReportsErrors reports whether syncfs(2) returns writeback errors:
// Linux 5.8 and later track them per file system (errseq, sampled when a
// file is opened) and report them to syncfs; earlier kernels returned 0
// whatever happened.
var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
})

// kernelAtLeast compares a release such as "6.18.44-fc-v669" with
// major.minor; a release it cannot read counts as older.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	minorDigits := parts[1] // "8-rc1" in "5.8-rc1"
	if i := strings.IndexFunc(minorDigits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorDigits = minorDigits[:i]
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(minorDigits)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// syncfs makes everything written to the file system holding f durable:
// our temp files, and whatever else is dirty there (the trade-off of
// sync: group). It reports writeback errors since f was opened.
func syncfs(f *os.File) error {
	return control(f, "syncfs", unix.Syncfs)
}

// fdatasync makes f's data durable, with the metadata needed to read it
// back (size, blocks) but not, say, its mtime.
func fdatasync(f *os.File) error {
	return control(f, "fdatasync", unix.Fdatasync)
}

// device is the file system f lives on: syncfs covers one.
func device(f *os.File) (uint64, error) {
	var st unix.Stat_t
	err := control(f, "fstat", func(fd int) error { return unix.Fstat(fd, &st) })
	return uint64(st.Dev), err // uint32 on some architectures
}

// control runs call on f's descriptor (without os.File.Fd, which would
// switch f to blocking mode) and names the failure like os does.
func control(f *os.File, op string, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = call(int(fd)) }); err != nil {
		return err
	}
	if cerr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: cerr}
	}
	return nil
}
