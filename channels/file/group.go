package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit, as the engine's journal does it: concurrent Deliver calls
// queue their file and wait; the destination's writer makes many files
// durable with as few syncs as the system allows, then wakes each caller
// with its own result.
//
// Why: every delivery used to do CreateTemp, write, fsync, rename and fsync
// of the directory. Two syncs per message bound the rate by the disk's
// flush latency, and concurrent workers creating files in one directory
// queue on its lock, which the kernel holds through the whole inode
// allocation, while the waiters spin on it, burning the CPU the engine
// needs. (On ext4 without a journal that allocation skips every inode freed
// in the last half minute or so, reading each one's deletion time: after
// many files were deleted it takes up to a millisecond.) One writer never
// contends with itself for the directory, and a group of n files costs 2
// syncs instead of 2n.
//
// A file goes through four stages:
//
//  1. it is written to a new hidden temp file beside its name
//     (.plexus-*.tmp, file_mode set), not synced;
//  2. the data of a whole group is made durable: with sync: group one
//     syncfs(2) per file system (normally one), with sync: fdatasync one
//     fdatasync per file;
//  3. each temp file is renamed to its name, unless its caller has given
//     up (then it is removed);
//  4. each distinct parent directory is fsynced once, which makes the
//     renames durable; then the callers are woken.
//
// Stage 1 is one goroutine: it writes files as they are queued, so that no
// two creates in one directory ever wait for each other. Two committers run
// stages 2 to 4; a free one takes every file written so far. So files are
// created while groups sync (creating costs CPU in the kernel, syncing
// costs waiting for the disk), and a group holds whatever was written while
// the committers were busy: as large as the load makes it, and one file
// when there is no load (no waiting for company).
//
// Why two committers and not one: with one, callers fall into two halves
// that take turns (those woken by a group come back while the next group
// syncs, and so on), and each half waits for the other's sync as well as
// its own. Two groups in flight remove that wait, and SSDs and virtual
// disks serve two flushes at once nearly as fast as one. More committers
// trade grouping back for concurrency (with as many committers as callers
// this is the one-file-at-a-time path again, syncs and all); on the
// machine we measured, three to eight were sometimes a little faster and
// sometimes slower than two, never clearly better.
//
// Kill safety (process killed, or the machine losing power, at any point):
//
//   - before 2 completes: only temp files exist; no name was touched, so
//     each name holds its earlier content or nothing. No caller was told
//     nil, so the engine delivers the messages again.
//   - between 2 and the end of 4: the data is durable, so a name that the
//     crash kept renamed holds the whole new file; a rename the crash lost
//     leaves the old content. Either way no reader sees a partial file
//     (rename is atomic) and no caller was told nil; the redelivery
//     overwrites the same name (names depend only on the message).
//   - after 4: every file reported delivered has its data and its name on
//     disk.
//
// Data is durable before any rename because a rename can reach the disk
// before the data it names: without stage 2 a crash could leave a name
// pointing at an empty or partial file. A crash can leave temp files
// behind (as the one-file-at-a-time path could); they are hidden, never a
// message's name, and safe to delete.
//
// Errors: a file that fails to be created, written or renamed (a bad
// sub-directory, a name that is a directory, ENOSPC while writing it) fails
// only its caller. A failed sync fails every file it covered (syncfs: all of
// the group on that file system), because after a failed sync nothing says
// which pages reached the disk, and Linux may have marked them clean: a
// second sync would wrongly succeed. Those callers get the error, their temp
// files are removed, and the engine's retry writes the data again from
// scratch. A failed directory sync fails the files renamed into it; their
// names already hold the new content, which the retry rewrites.
//
// The trade-off of syncfs (sync: group): it flushes everything dirty on the
// file system, not only our files: the journal's data, other programs'
// writes. On a file system shared with a heavy writer a group then waits for
// that writer's data too; sync: fdatasync syncs exactly our files (one call
// per file, still one directory sync per group). syncfs also reports a
// writeback error of another program's file on the same file system since
// our first temp file was opened; that fails a group that did nothing wrong,
// which the retry repairs. Network and FUSE file systems have their own
// ideas of both; use sync: file there.

// maxGroup bounds the files written and not yet committed: they are all
// open, and a group's callers all wait for its last file.
const maxGroup = 256

// committers is how many groups sync at once (see above).
const committers = 2

// Request states. A request is queued until the writer commits it (is about
// to rename its file into place, or to append its line) or its caller gives
// up. Whichever of the two compare-and-swaps wins decides whether the file
// appears.
const (
	queued int32 = iota
	cancelled
	committed
)

// request is one Deliver waiting for the writer.
type request struct {
	rel   string // path below dir
	data  []byte // the file's content or the ndjson line; the writer's own
	state atomic.Int32
	done  chan error // buffered: the writer never waits for a caller
}

// errClosed is returned by a Deliver after Close (the engine does not do
// that) instead of waiting for a writer that is gone.
var errClosed = errors.New("file destination closed")

// errCancelled is the result of a request whose caller gave up; nobody
// reads it.
var errCancelled = errors.New("caller gave up")

// writer is one destination's group committer.
type writer struct {
	d  *destination
	in chan *request
	// mu makes close wait for submits already sending, so that nothing is
	// sent on a closed channel.
	mu     sync.RWMutex
	closed bool

	// Stage 1 appends to written; a free committer takes all of it at once.
	wmu     sync.Mutex
	written []pending
	ready   chan struct{} // signalled (never blocking) after an append; closed when stage 1 stops
	room    chan struct{} // signalled when a committer took written
	running sync.WaitGroup
	exited  chan struct{}

	buf []byte // stage 1's (ndjson)
}

func newWriter(d *destination) *writer {
	w := &writer{
		d: d, in: make(chan *request, maxGroup),
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1), exited: make(chan struct{}),
	}
	w.running.Go(w.loop)
	if d.format == formatFile { // ndjson is stage 1's alone
		for range committers {
			w.running.Go(w.commitLoop)
		}
	}
	go func() {
		w.running.Wait()
		close(w.exited)
	}()
	return w
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// submit queues rel and data and waits for the writer's result.
//
// If ctx ends first, submit returns ctx's error at once and never waits
// for the disk (a hung disk must not hang the engine's shutdown). What
// becomes of the file then depends on how far the writer got:
//
//   - still queued, or written to its temp file and not yet committed: the
//     writer sees the cancellation and removes the temp file; the name is
//     not touched.
//   - committed (the writer had already decided to rename it, a window of
//     one rename and one directory sync): the file appears although Deliver
//     reported an error. That is what at-least-once delivery allows: the
//     engine delivers the message again, and the name, which depends only
//     on the message, is overwritten with the same content.
//
// For ndjson the commit point is the append: a line committed before the
// caller gave up is written, and the redelivery appends it again, as any
// ndjson retry does.
func (w *writer) submit(ctx context.Context, rel string, data []byte) error {
	r := &request{rel: rel, data: data, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.in <- r:
	case <-ctx.Done():
		w.mu.RUnlock()
		return fmt.Errorf("waiting for the writer: %w", context.Cause(ctx))
	}
	w.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// Win or lose, the caller leaves; the swap only tells the writer
		// (see above). r.data is the writer's, so leaving is safe.
		r.state.CompareAndSwap(queued, cancelled)
		return fmt.Errorf("waiting for the sync: %w", context.Cause(ctx))
	}
}

// close stops the writer after it has handled everything queued.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	w.mu.Unlock()
	<-w.exited
}

// loop is stage 1: it writes queued files to temp files and hands them to
// the committer. For ndjson it appends and syncs the lines itself: there
// the sync is per file anyway.
func (w *writer) loop() {
	defer close(w.ready) // the committers take what is left, then stop
	group := make([]*request, 0, maxGroup)
	for r := range w.in {
		group = append(group[:0], r)
		err := w.d.step("take")
		// Whatever queued while this stage was busy (or while the test
		// hook above held it) is written in one go, and handed over in one
		// go, so that an idle committer does not start on part of it.
	drain:
		for len(group) < maxGroup {
			select {
			case r, ok := <-w.in:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		switch {
		case err != nil:
			for _, r := range group {
				r.done <- err
			}
		case w.d.format == formatNDJSON:
			w.appendLines(group)
		default:
			w.hand(w.writeTemps(group))
		}
		clear(group) // the requests belong to the committer now
	}
}

// hand gives written files to the committer, first waiting for room if it
// is maxGroup files behind: the disk sets the pace.
func (w *writer) hand(ps []pending) {
	if len(ps) == 0 {
		return
	}
	w.wmu.Lock()
	for len(w.written) >= maxGroup {
		w.wmu.Unlock()
		<-w.room // may be an old signal: the loop looks again
		w.wmu.Lock()
	}
	w.written = append(w.written, ps...)
	w.wmu.Unlock()
	signal(w.ready)
}

// commitLoop is a committer: stages 2 to 4 for everything written since
// a committer last looked.
func (w *writer) commitLoop() {
	var dirs []string
	for {
		_, open := <-w.ready
		w.wmu.Lock()
		n := len(w.written)
		w.wmu.Unlock()
		if n == 0 {
			if !open {
				return
			}
			continue // an old signal: another committer took the files
		}
		err := w.d.step("group") // tests hold it here while files pile up
		w.wmu.Lock()
		ps := w.written
		w.written = nil
		w.wmu.Unlock()
		signal(w.room)
		if err != nil {
			for i := range ps {
				ps[i].err = err
			}
		}
		dirs = w.commit(ps, dirs[:0])
	}
}

// pending is one file of a group on its way to its name.
type pending struct {
	r    *request
	f    *os.File // open from stage 1 until stage 2 is done
	tmp  string   // the temp file, until renamed or removed
	path string
	dir  string // path's parent
	err  error
}

// writeTemps is stage 1 for format file: each file to a temp file, not
// synced. A file that fails here carries its error through the other
// stages.
func (w *writer) writeTemps(group []*request) []pending {
	ps := make([]pending, 0, len(group))
	for _, r := range group {
		if r.state.Load() == cancelled {
			continue // its caller left while it was queued: no temp file at all
		}
		p := pending{r: r, path: filepath.Join(w.d.dir, r.rel)}
		p.dir = filepath.Dir(p.path)
		if p.f, p.err = w.d.createTemp(p.path, r.data); p.err == nil {
			p.tmp = p.f.Name()
		}
		ps = append(ps, p)
	}
	return ps
}

// commit is stages 2 to 4 for one group; then it wakes the callers. dirs
// is a buffer, returned for the next group.
func (w *writer) commit(ps []pending, dirs []string) []string {
	d := w.d
	d.syncData(ps)
	for i := range ps {
		p := &ps[i]
		if p.f == nil {
			continue
		}
		if err := p.f.Close(); err != nil && p.err == nil {
			p.err = err
		}
		p.f = nil
	}

	for i := range ps {
		p := &ps[i]
		if p.err != nil {
			continue
		}
		if !p.r.state.CompareAndSwap(queued, committed) {
			p.err = errCancelled // stage 3 is where a caller's leaving counts
			continue
		}
		if p.err = d.step("rename"); p.err == nil {
			p.err = os.Rename(p.tmp, p.path)
		}
		if p.err == nil {
			p.tmp = ""
		}
	}
	for i := range ps {
		if p := &ps[i]; p.tmp != "" {
			os.Remove(p.tmp) // best effort: the error that led here is the one to report
			p.tmp = ""
		}
	}

	// Stage 4: one sync per directory that got a file; files fail with
	// their directory. A group seldom spans more than one or two.
	for i := range ps {
		if p := &ps[i]; p.err == nil && !slices.Contains(dirs, p.dir) {
			dirs = append(dirs, p.dir)
		}
	}
	for _, dir := range dirs {
		err := d.step("syncdir")
		if err == nil {
			err = syncDir(dir)
		}
		if err != nil {
			for i := range ps {
				if p := &ps[i]; p.err == nil && p.dir == dir {
					p.err = err
				}
			}
		}
	}
	for i := range ps {
		ps[i].r.done <- ps[i].err
	}
	return dirs
}

// syncData makes the data of a group's files durable (stage 2), failing
// the files whose sync failed.
func (d *destination) syncData(ps []pending) {
	if d.sync == syncFdatasync {
		for i := range ps {
			if p := &ps[i]; p.err == nil {
				if p.err = d.step("sync"); p.err == nil {
					p.err = fdatasync(p.f)
				}
			}
		}
		return
	}
	// One syncfs per file system, on the descriptor of its first file: the
	// one opened first, so that its error sample predates every write of
	// the group there. A name's sub-directory may be a mount point, which
	// is why the device of every file is asked (an fstat: cheap).
	type synced struct {
		dev uint64
		err error
	}
	var devs []synced
	for i := range ps {
		p := &ps[i]
		if p.err != nil {
			continue
		}
		dev, err := device(p.f)
		if err != nil {
			p.err = err
			continue
		}
		done := false
		for _, s := range devs {
			if s.dev == dev {
				p.err, done = s.err, true
				break
			}
		}
		if !done {
			if p.err = d.step("sync"); p.err == nil {
				p.err = syncfs(p.f)
			}
			devs = append(devs, synced{dev, p.err})
		}
	}
}
