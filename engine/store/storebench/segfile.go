package storebench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// segfile is the baseline: an append-only log in segment files, written with
// one write(2) and one fsync(2) per group. Records are
//
//	len(4, LE) | crc32c(payload)(4, LE) | payload
//
// with payloads 'I' (ingest: seq, time, ctrl, pid, raw), 'D' (delivered: seq,
// dest) and 'R' (retention cutoff). There is no on-disk index: the indexes,
// outbox and status live in memory and are rebuilt by reading every segment at
// open, and a torn tail is truncated at the first bad record. It shows the
// ceiling of "one sequential write + one fsync per group"; it is not a
// candidate for the browser's indexes as it stands.
type segfile struct {
	mu      sync.Mutex
	dir     string
	f       *os.File // current segment
	size    int64
	segs    []segment
	buf     []byte
	cutoff  uint64
	locs    map[uint64]recLoc
	byCtrl  map[string]uint64
	byPid   map[string][]uint64
	status  map[uint64][NumDests]byte
	lastSeq uint64
}

type segment struct {
	first uint64 // first seq in the segment (its name)
	last  uint64 // last ingest seq seen in it
	path  string
}

type recLoc struct {
	seg int    // index in segs (stable: segments are only removed from the front, see base)
	off int64  // offset of the record header
	n   uint32 // payload length
}

// SegmentSize is where segfile starts a new segment.
const SegmentSize = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func openSegfile(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &segfile{
		dir:    dir,
		locs:   map[uint64]recLoc{},
		byCtrl: map[string]uint64{},
		byPid:  map[string][]uint64{},
		status: map[uint64][NumDests]byte{},
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for i, p := range names {
		var first uint64
		if _, err := fmt.Sscanf(filepath.Base(p), "%020d.seg", &first); err != nil {
			return nil, fmt.Errorf("segment name %s: %w", p, err)
		}
		s.segs = append(s.segs, segment{first: first, path: p})
		if err := s.replay(i, i == len(names)-1); err != nil {
			return nil, err
		}
	}
	if len(s.segs) == 0 {
		if err := s.rotate(1); err != nil {
			return nil, err
		}
	} else {
		last := s.segs[len(s.segs)-1]
		f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		s.f, s.size = f, fi.Size()
	}
	return s, nil
}

// replay reads segment i; for the last segment a torn or corrupt tail is
// truncated (it was never acknowledged: the fsync had not returned).
func (s *segfile) replay(i int, last bool) error {
	seg := &s.segs[i]
	f, err := os.Open(seg.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr [8]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return s.torn(seg, off, last, err)
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > 16<<20 {
			return s.torn(seg, off, last, errors.New("record length"))
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return s.torn(seg, off, last, err)
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return s.torn(seg, off, last, errors.New("crc mismatch"))
		}
		if err := s.apply(payload, i, off); err != nil {
			return err
		}
		off += 8 + int64(n)
	}
}

func (s *segfile) torn(seg *segment, off int64, last bool, cause error) error {
	if !last {
		return fmt.Errorf("segment %s offset %d: %v", seg.path, off, cause)
	}
	return os.Truncate(seg.path, off)
}

// apply updates the in-memory state for one record.
func (s *segfile) apply(p []byte, seg int, off int64) error {
	switch p[0] {
	case 'I':
		seq := binary.LittleEndian.Uint64(p[1:])
		h, err := decodeJournal(p[9:])
		if err != nil {
			return err
		}
		if seq < s.cutoff {
			return nil
		}
		s.locs[seq] = recLoc{seg: seg, off: off, n: uint32(len(p))}
		s.byCtrl[string(h.ctrl)] = seq
		s.byPid[string(h.pid)] = append(s.byPid[string(h.pid)], seq)
		var st [NumDests]byte
		for d := range st {
			st[d] = StatusPending
		}
		s.status[seq] = st
		if seq > s.lastSeq {
			s.lastSeq = seq
		}
		s.segs[seg].last = seq
	case 'D':
		seq := binary.LittleEndian.Uint64(p[1:])
		if st, ok := s.status[seq]; ok {
			st[p[9]] = StatusDelivered
			s.status[seq] = st
		}
	case 'R':
		s.dropBefore(binary.LittleEndian.Uint64(p[1:]))
	default:
		return fmt.Errorf("unknown record kind %q", p[0])
	}
	return nil
}

func (s *segfile) rotate(first uint64) error {
	p := filepath.Join(s.dir, fmt.Sprintf("%020d.seg", first))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.size = f, 0
	s.segs = append(s.segs, segment{first: first, last: first - 1, path: p})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *segfile) appendRecord(payloadLen int, fill func([]byte)) (off int64) {
	off = s.size + int64(len(s.buf))
	start := len(s.buf)
	s.buf = append(s.buf, make([]byte, 8+payloadLen)...)
	p := s.buf[start+8:]
	fill(p)
	binary.LittleEndian.PutUint32(s.buf[start:], uint32(payloadLen))
	binary.LittleEndian.PutUint32(s.buf[start+4:], crc32.Checksum(p, castagnoli))
	return off
}

// flush writes the buffered group and fsyncs: the one durable step.
func (s *segfile) flush() error {
	if _, err := s.f.Write(s.buf); err != nil {
		return err
	}
	s.size += int64(len(s.buf))
	s.buf = s.buf[:0]
	return s.f.Sync()
}

func (s *segfile) Commit(msgs []*Msg, ds []Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size >= SegmentSize && len(msgs) > 0 {
		if err := s.rotate(msgs[0].Seq); err != nil {
			return err
		}
	}
	seg := len(s.segs) - 1
	type pendingLoc struct {
		seq uint64
		loc recLoc
	}
	offs := make([]pendingLoc, 0, len(msgs))
	for _, m := range msgs {
		n := 1 + 8 + 8 + 1 + len(m.ControlID) + 1 + len(m.PatientID) + len(m.Raw)
		off := s.appendRecord(n, func(p []byte) {
			p[0] = 'I'
			binary.LittleEndian.PutUint64(p[1:], m.Seq)
			encodeJournal(p[9:9], m)
		})
		offs = append(offs, pendingLoc{m.Seq, recLoc{seg: seg, off: off, n: uint32(n)}})
	}
	for _, d := range ds {
		s.appendRecord(10, func(p []byte) {
			p[0] = 'D'
			binary.LittleEndian.PutUint64(p[1:], d.Seq)
			p[9] = d.Dest
		})
	}
	if err := s.flush(); err != nil {
		return err
	}
	for i, m := range msgs {
		s.locs[m.Seq] = offs[i].loc
		s.byCtrl[string(m.ControlID)] = m.Seq
		s.byPid[string(m.PatientID)] = append(s.byPid[string(m.PatientID)], m.Seq)
		s.status[m.Seq] = [NumDests]byte{StatusPending, StatusPending}
		s.lastSeq = m.Seq
		s.segs[seg].last = m.Seq
	}
	for _, d := range ds {
		if st, ok := s.status[d.Seq]; ok {
			st[d.Dest] = StatusDelivered
			s.status[d.Seq] = st
		}
	}
	return nil
}

func (s *segfile) LastSeq() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq, nil
}

func (s *segfile) Pending(fn func(dest uint8, seq uint64)) error {
	s.mu.Lock()
	seqs := make([]uint64, 0, len(s.status))
	for seq := range s.status {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	st := make([][NumDests]byte, len(seqs))
	for i, seq := range seqs {
		st[i] = s.status[seq]
	}
	s.mu.Unlock()
	for d := uint8(0); d < NumDests; d++ {
		for i, seq := range seqs {
			if st[i][d] == StatusPending {
				fn(d, seq)
			}
		}
	}
	return nil
}

func (s *segfile) Verify(seq uint64) ([]byte, error) {
	s.mu.Lock()
	loc, ok := s.locs[seq]
	var path string
	if ok {
		path = s.segs[loc.seg].path
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("journal %d: %w", seq, ErrMissing)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec := make([]byte, 8+loc.n)
	if _, err := f.ReadAt(rec, loc.off); err != nil {
		return nil, err
	}
	p := rec[8:]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(rec[4:]) || p[0] != 'I' || binary.LittleEndian.Uint64(p[1:]) != seq {
		return nil, fmt.Errorf("seq %d: bad record", seq)
	}
	h, err := decodeJournal(p[9:])
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byCtrl[string(h.ctrl)] != seq {
		return nil, fmt.Errorf("seq %d ctrl index: %w", seq, ErrMissing)
	}
	found := false
	for _, x := range s.byPid[string(h.pid)] {
		found = found || x == seq
	}
	if !found {
		return nil, fmt.Errorf("seq %d pid index: %w", seq, ErrMissing)
	}
	return h.raw, nil
}

func (s *segfile) Status(seq uint64, dest uint8) (byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.status[seq]
	if !ok {
		return StatusNone, nil
	}
	return st[dest], nil
}

// DeleteBefore logs the cutoff, then removes every segment whose messages are
// all older than it (the segment holding the cutoff stays).
func (s *segfile) DeleteBefore(cutoff uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendRecord(9, func(p []byte) {
		p[0] = 'R'
		binary.LittleEndian.PutUint64(p[1:], cutoff)
	})
	if err := s.flush(); err != nil {
		return err
	}
	s.dropBefore(cutoff)
	for i := 0; i < len(s.segs)-1; i++ {
		if s.segs[i].path != "" && s.segs[i].last < cutoff && s.segs[i+1].first <= cutoff {
			if err := os.Remove(s.segs[i].path); err != nil {
				return err
			}
			s.segs[i].path = "" // keep indexes stable for recLoc.seg
		}
	}
	return syncDir(s.dir)
}

func (s *segfile) dropBefore(cutoff uint64) {
	if cutoff <= s.cutoff {
		return
	}
	s.cutoff = cutoff
	for seq := range s.locs {
		if seq < cutoff {
			delete(s.locs, seq)
			delete(s.status, seq)
		}
	}
	for k, seq := range s.byCtrl {
		if seq < cutoff {
			delete(s.byCtrl, k)
		}
	}
	for k, seqs := range s.byPid {
		kept := seqs[:0]
		for _, seq := range seqs {
			if seq >= cutoff {
				kept = append(kept, seq)
			}
		}
		if len(kept) == 0 {
			delete(s.byPid, k)
		} else {
			s.byPid[k] = kept
		}
	}
}

// Reclaim: DeleteBefore already removed whole segments.
func (s *segfile) Reclaim() error { return nil }

func (s *segfile) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}
