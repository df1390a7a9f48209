package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const (
	vt = "\x0b"
	fs = "\x1c"
	cr = "\r"
)

// readAll reads frames until an error, returning copies of the frames.
func readAll(r *Reader) ([]string, error) {
	var out []string
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return out, err
		}
		out = append(out, string(f))
	}
}

func TestReaderFrames(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []string
		wantErr   error
		discarded int64
	}{
		{"empty stream", "", nil, io.EOF, 0},
		{"one frame", vt + "MSH|a" + fs + cr, []string{"MSH|a"}, io.EOF, 0},
		{"empty frame", vt + fs + cr, []string{""}, io.EOF, 0},
		{"two frames", vt + "a" + fs + cr + vt + "b" + fs + cr, []string{"a", "b"}, io.EOF, 0},
		{"garbage before VT", "junk\r\n" + vt + "a" + fs + cr, []string{"a"}, io.EOF, 6},
		{"garbage between frames", vt + "a" + fs + cr + "xy" + vt + "b" + fs + cr, []string{"a", "b"}, io.EOF, 2},
		{"missing CR then VT", vt + "a" + fs + vt + "b" + fs, []string{"a", "b"}, io.EOF, 0},
		{"missing CR then garbage", vt + "a" + fs + "\n" + vt + "b" + fs + cr, []string{"a", "b"}, io.EOF, 1},
		{"missing CR at EOF", vt + "a" + fs, []string{"a"}, io.EOF, 0},
		{"only one CR is trailer", vt + "a" + fs + cr + cr, []string{"a"}, io.EOF, 1},
		{"LF after CR is garbage", vt + "a" + fs + cr + "\n", []string{"a"}, io.EOF, 1},
		{"trailing garbage", vt + "a" + fs + cr + "zzz", []string{"a"}, io.EOF, 3},
		{"VT inside frame is content", vt + "a" + vt + "b" + fs + cr, []string{"a" + vt + "b"}, io.EOF, 0},
		{"segments kept as sent", vt + "MSH|x\rPID|y\n" + fs + cr, []string{"MSH|x\rPID|y\n"}, io.EOF, 0},
		{"cut mid frame", vt + "MSH|abc", nil, io.ErrUnexpectedEOF, 0},
		{"cut after frame", vt + "a" + fs + cr + vt + "b", []string{"a"}, io.ErrUnexpectedEOF, 0},
		{"garbage only", "no frame at all", nil, io.EOF, 15},
	}
	for _, tt := range tests {
		// Every test runs with whole reads and with one byte per read, which
		// puts every frame boundary at a read boundary at least once.
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = strings.NewReader(tt.in)
			name := tt.name
			if oneByte {
				src = iotest.OneByteReader(src)
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				r := NewReader(src, ReaderOptions{})
				got, err := readAll(r)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("frames = %q, want %q", got, tt.want)
				}
				st := r.Stats()
				if st.Discarded != tt.discarded {
					t.Errorf("discarded = %d, want %d", st.Discarded, tt.discarded)
				}
				if st.Frames != int64(len(tt.want)) {
					t.Errorf("stats.Frames = %d, want %d", st.Frames, len(tt.want))
				}
			})
		}
	}
}

// A sender that omits the CR after FS must get its frame handled now, not
// when its next message arrives.
func TestReaderDoesNotWaitForCR(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	r := NewReader(pr, ReaderOptions{})
	go func() {
		pw.Write([]byte(vt + "first" + fs)) // and then nothing for a while
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte(cr + vt + "second" + fs + cr))
		pw.Close()
	}()
	done := make(chan string, 1)
	go func() {
		f, err := r.ReadFrame()
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		done <- string(f)
	}()
	select {
	case got := <-done:
		if got != "first" {
			t.Fatalf("first frame = %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrame blocked waiting for the CR after FS")
	}
	f, err := r.ReadFrame()
	if err != nil || string(f) != "second" {
		t.Fatalf("second frame = %q, %v", f, err)
	}
	if d := r.Stats().Discarded; d != 0 {
		t.Errorf("late CR counted as discarded: %d", d)
	}
}

func TestReaderMaxFrameSize(t *testing.T) {
	const limit = 100
	for _, size := range []int{limit - 1, limit, limit + 1, 10 * limit, 100000} {
		for _, oneByte := range []bool{false, true} {
			msg := bytes.Repeat([]byte("x"), size)
			copy(msg, "MSH|^~\\&|SENDER")
			in := vt + string(msg) + fs + cr + vt + "next" + fs + cr
			var src io.Reader = strings.NewReader(in)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			r := NewReader(src, ReaderOptions{MaxFrameSize: limit, ErrorPrefixSize: 20})
			f, err := r.ReadFrame()
			if size <= limit {
				if err != nil || len(f) != size {
					t.Fatalf("size %d: got %d bytes, %v", size, len(f), err)
				}
			} else {
				var tl *FrameTooLargeError
				if !errors.As(err, &tl) || !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("size %d: err = %v, want FrameTooLargeError", size, err)
				}
				if tl.Size != int64(size) || tl.Limit != limit {
					t.Errorf("size %d: error says size %d limit %d", size, tl.Size, tl.Limit)
				}
				if string(tl.Prefix) != string(msg[:20]) {
					t.Errorf("prefix = %q", tl.Prefix)
				}
				if strings.Contains(err.Error(), "SENDER") {
					t.Errorf("error text leaks content: %s", err)
				}
			}
			// Either way, the stream is positioned at the next frame.
			f, err = r.ReadFrame()
			if err != nil || string(f) != "next" {
				t.Fatalf("size %d: next frame = %q, %v", size, f, err)
			}
			if cap(r.buf) > 2*initialBufSize {
				t.Errorf("size %d: buffer grew to %d for a limit of %d", size, cap(r.buf), limit)
			}
		}
	}
}

func TestReaderOversizeCutShort(t *testing.T) {
	in := vt + strings.Repeat("x", 500)
	r := NewReader(strings.NewReader(in), ReaderOptions{MaxFrameSize: 100})
	_, err := r.ReadFrame()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if r.Stats().Oversize != 1 {
		t.Errorf("oversize = %d", r.Stats().Oversize)
	}
}

// A large frame is returned whole, and the buffer grown for it is not kept.
func TestReaderLargeFrameReleasesBuffer(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 3<<20)
	in := vt + string(big) + fs + cr + vt + "small" + fs + cr
	r := NewReader(iotest.HalfReader(strings.NewReader(in)), ReaderOptions{})
	f, err := r.ReadFrame()
	if err != nil || !bytes.Equal(f, big) {
		t.Fatalf("big frame: %d bytes, %v", len(f), err)
	}
	f, err = r.ReadFrame()
	if err != nil || string(f) != "small" {
		t.Fatalf("small frame = %q, %v", f, err)
	}
	if cap(r.buf) > retainBufSize {
		t.Errorf("buffer of %d bytes kept after a large frame", cap(r.buf))
	}
}

func TestReaderStickyError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(iotest.ErrReader(boom), ReaderOptions{})
	for range 2 {
		if _, err := r.ReadFrame(); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	}
	r.Reset(strings.NewReader(vt + "ok" + fs + cr))
	if f, err := r.ReadFrame(); err != nil || string(f) != "ok" {
		t.Fatalf("after Reset: %q, %v", f, err)
	}
}

func TestReaderNoProgress(t *testing.T) {
	r := NewReader(zeroReader{}, ReaderOptions{})
	if _, err := r.ReadFrame(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderFrameStarted(t *testing.T) {
	calls := 0
	in := vt + "whole" + fs + cr + vt + "split" + fs + cr
	// The first frame arrives in one read: no call. The second is split.
	src := io.MultiReader(strings.NewReader(in[:len(in)-4]), strings.NewReader(in[len(in)-4:]))
	r := NewReader(src, ReaderOptions{FrameStarted: func() { calls++ }})
	if _, err := readAll(r); err != io.EOF {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("FrameStarted called %d times, want 1", calls)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	big := bytes.Repeat([]byte("z"), maxCopyWrite+10)
	for _, m := range [][]byte{[]byte("MSH|1"), nil, big} {
		if err := w.WriteFrame(m); err != nil {
			t.Fatal(err)
		}
	}
	want := vt + "MSH|1" + fs + cr + vt + fs + cr + vt + string(big) + fs + cr
	if buf.String() != want {
		t.Errorf("wrote %q...", buf.String()[:20])
	}
	if err := w.WriteFrame([]byte("a" + fs + "b")); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("FS in message: err = %v", err)
	}
	if _, err := AppendFrame(nil, []byte(fs)); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("AppendFrame FS: err = %v", err)
	}
	got, err := AppendFrame([]byte("x"), []byte("m"))
	if err != nil || string(got) != "x"+vt+"m"+fs+cr {
		t.Errorf("AppendFrame = %q, %v", got, err)
	}
	buf.Reset()
	if err := WriteFrame(&buf, []byte("m")); err != nil || buf.String() != vt+"m"+fs+cr {
		t.Errorf("WriteFrame = %q, %v", buf.String(), err)
	}
}

// loopReader replays one stream forever without allocating.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkReadFrame(b *testing.B) {
	msg := bytes.Repeat([]byte("OBX|1|ST|x^y||value||||||F\r"), 80) // ~2 KB, a typical ORU
	stream, _ := AppendFrame(nil, msg)
	for _, n := range []int{1, 8} {
		frames := bytes.Repeat(stream, n)
		b.Run(map[int]string{1: "one-per-read", 8: "eight-per-read"}[n], func(b *testing.B) {
			r := NewReader(&loopReader{data: frames}, ReaderOptions{})
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				f, err := r.ReadFrame()
				if err != nil || len(f) != len(msg) {
					b.Fatalf("frame of %d bytes, %v", len(f), err)
				}
			}
		})
	}
}

func BenchmarkWriteFrame(b *testing.B) {
	msg := bytes.Repeat([]byte("OBX|1|ST|x^y||value||||||F\r"), 80)
	w := NewWriter(io.Discard)
	b.SetBytes(int64(len(msg) + 3))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteFrame(msg); err != nil {
			b.Fatal(err)
		}
	}
}
