package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// result is everything a Reader reports for one input, in a form that can be
// compared across different ways of delivering the same bytes.
type result struct {
	events []string // frames (quoted) and rejected frames, in order
	end    string   // the error that ended reading
	stats  ReaderStats
}

func readResult(t *testing.T, src io.Reader, limit int) result {
	t.Helper()
	r := NewReader(src, ReaderOptions{MaxFrameSize: limit, ErrorPrefixSize: 64})
	var res result
	for i := 0; ; i++ {
		if i > 1<<20 {
			t.Fatal("reader does not terminate")
		}
		f, err := r.ReadFrame()
		var tl *FrameTooLargeError
		switch {
		case err == nil:
			if len(f) > limit {
				t.Fatalf("frame of %d bytes returned with limit %d", len(f), limit)
			}
			if bytes.IndexByte(f, EndBlock) >= 0 {
				t.Fatalf("frame contains FS: %q", f)
			}
			res.events = append(res.events, fmt.Sprintf("%q", f))
			continue
		case errors.As(err, &tl):
			if tl.Size <= int64(limit) || tl.Limit != limit {
				t.Fatalf("FrameTooLargeError{Size: %d, Limit: %d} with limit %d", tl.Size, tl.Limit, limit)
			}
			res.events = append(res.events, fmt.Sprintf("too large: %d %q", tl.Size, tl.Prefix))
			continue
		case err == io.EOF:
			res.end = "EOF"
		case errors.Is(err, io.ErrUnexpectedEOF):
			res.end = "unexpected EOF"
		default:
			t.Fatalf("unexpected error: %v", err)
		}
		res.stats = r.Stats()
		return res
	}
}

func FuzzReader(f *testing.F) {
	// Seeds from testdata/fuzz/FuzzReader (framed corpus messages, edge
	// cases) are added by the fuzzing engine; a few more here.
	f.Add([]byte(vt+"MSH|^~\\&|A|B"+fs+cr), uint16(0))
	f.Add([]byte("garbage"+vt+"a"+fs+vt+"b"+fs+cr+cr), uint16(1))
	f.Add([]byte(vt+"0123456789"+fs+cr+vt+"x"), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := int(limit)%4096 + 1 // small limits exercise the oversize path
		whole := readResult(t, bytes.NewReader(data), max)

		// How the bytes are split into reads must not change anything.
		for name, src := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			got := readResult(t, src, max)
			if fmt.Sprint(got) != fmt.Sprint(whole) {
				t.Fatalf("%s reads differ:\n got %v\nwant %v", name, got, whole)
			}
		}

		// Frames re-encoded and re-read are identical, and nothing is
		// discarded from a stream we wrote ourselves.
		var frames [][]byte
		r := NewReader(bytes.NewReader(data), ReaderOptions{MaxFrameSize: max})
		for {
			fr, err := r.ReadFrame()
			if errors.Is(err, ErrFrameTooLarge) {
				continue
			}
			if err != nil {
				break
			}
			frames = append(frames, bytes.Clone(fr))
		}
		var enc bytes.Buffer
		w := NewWriter(&enc)
		for _, fr := range frames {
			if err := w.WriteFrame(fr); err != nil {
				t.Fatalf("re-encoding a frame we read: %v", err)
			}
		}
		r2 := NewReader(&enc, ReaderOptions{MaxFrameSize: max})
		for i, want := range frames {
			got, err := r2.ReadFrame()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("frame %d re-read as %q, %v; want %q", i, got, err, want)
			}
		}
		if _, err := r2.ReadFrame(); err != io.EOF {
			t.Fatalf("after re-read frames: %v, want EOF", err)
		}
		if d := r2.Stats().Discarded; d != 0 {
			t.Fatalf("%d bytes discarded from a clean stream", d)
		}
	})
}
