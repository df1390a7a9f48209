package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
)

// MLLP framing bytes.
const (
	StartBlock     byte = 0x0b // <VT>, opens a frame
	EndBlock       byte = 0x1c // <FS>, closes a frame
	CarriageReturn byte = 0x0d // <CR>, expected after <FS>
)

// DefaultMaxFrameSize is the largest message (the bytes between <VT> and <FS>)
// a Reader accepts when no limit is configured.
const DefaultMaxFrameSize = 16 << 20

// DefaultErrorPrefixSize is how many leading bytes of an oversize frame a
// FrameTooLargeError keeps by default: enough for any real MSH segment, so the
// receiver can still build a NAK that names the sender and control id.
const DefaultErrorPrefixSize = 4 << 10

const (
	// initialBufSize fits the vast majority of HL7 messages, so most frames are
	// returned as a slice of the read buffer without ever growing it.
	initialBufSize = 16 << 10
	// retainBufSize bounds what a Reader keeps between frames: a buffer grown
	// past it for one large frame is dropped afterwards, so a connection that
	// once carried a 10 MiB document does not pin 10 MiB while idle.
	retainBufSize = 1 << 20
	// maxEmptyReads mirrors bufio: an io.Reader that keeps returning (0, nil)
	// is broken, and looping on it forever would hang the caller.
	maxEmptyReads = 100
	// maxCopyWrite is the largest message WriteFrame copies into its own
	// buffer to send the frame in one write; larger ones go out as a vectored
	// write so the buffer stays small.
	maxCopyWrite = 64 << 10
)

// ErrFrameTooLarge is matched (errors.Is) by every *FrameTooLargeError.
var ErrFrameTooLarge = errors.New("mllp: frame too large")

// ErrInvalidMessage is returned when asked to frame a message that contains
// the end block byte <FS>: the receiver would cut it there and read the rest
// as garbage or as a second message.
var ErrInvalidMessage = errors.New("mllp: message contains end block byte 0x1c")

// FrameTooLargeError reports a frame whose content exceeded the reader's
// limit. The reader has already skipped the whole frame (up to and including
// its <FS>), so the stream is positioned at the next frame and the
// connection can be answered and kept.
//
// Prefix holds the frame's first bytes (DefaultErrorPrefixSize unless
// configured) so that a receiver can build a NAK that names the sender's MSH.
// It may hold patient data: never log it.
type FrameTooLargeError struct {
	Size   int64  // content bytes of the whole frame
	Limit  int    // the limit in force
	Prefix []byte // the first bytes of the frame, owned by the error
}

func (e *FrameTooLargeError) Error() string {
	// Prefix is deliberately left out: error strings end up in logs.
	return fmt.Sprintf("mllp: frame of %d bytes exceeds limit of %d bytes", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrFrameTooLarge) true.
func (e *FrameTooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }

// ReaderOptions configures a Reader. The zero value means defaults.
type ReaderOptions struct {
	// MaxFrameSize is the largest frame content accepted; zero means
	// DefaultMaxFrameSize. The reader never buffers more than about this much.
	MaxFrameSize int
	// ErrorPrefixSize is how many leading bytes of an oversize frame are kept
	// in FrameTooLargeError.Prefix (at most MaxFrameSize); zero means
	// DefaultErrorPrefixSize, negative means none.
	ErrorPrefixSize int
	// FrameStarted, if set, is called at most once per frame, when a <VT> has
	// been seen but the rest of the frame has not arrived yet and the reader
	// is about to block for it. A server uses it to switch from its idle
	// deadline to the (shorter) deadline for finishing a frame.
	FrameStarted func()
}

// ReaderStats are cumulative counters of one Reader.
type ReaderStats struct {
	Frames    int64 // frames returned
	Bytes     int64 // content bytes of the frames returned
	Discarded int64 // bytes outside any frame (before <VT>), skipped
	Oversize  int64 // frames rejected with FrameTooLargeError
}

// Reader reads MLLP frames from an io.Reader.
//
// It tolerates what real senders do: bytes before <VT> are skipped and
// counted, a missing <CR> after <FS> is accepted (and a <CR> that arrives
// late is still recognised as the trailer). It never buffers more than
// about MaxFrameSize bytes, whatever the peer sends.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	src          io.Reader
	buf          []byte
	r, w         int // buf[r:w] is read but not yet consumed
	max          int
	prefixSize   int
	frameStarted func()
	// skipCR is set when a frame ended at the last buffered byte: the <CR>
	// that should follow may arrive with the next read, and must then not be
	// counted as garbage. Waiting for it instead would block a sender that
	// omits it until its next message.
	skipCR bool
	err    error // sticky error from src
	stats  ReaderStats
}

// NewReader returns a Reader that reads frames from src.
func NewReader(src io.Reader, opts ReaderOptions) *Reader {
	r := &Reader{src: src, frameStarted: opts.FrameStarted}
	r.max = opts.MaxFrameSize
	if r.max <= 0 {
		r.max = DefaultMaxFrameSize
	}
	switch {
	case opts.ErrorPrefixSize == 0:
		r.prefixSize = DefaultErrorPrefixSize
	case opts.ErrorPrefixSize > 0:
		r.prefixSize = opts.ErrorPrefixSize
	}
	// An oversize frame is detected once more than max bytes are buffered,
	// so a prefix up to max is always available, whatever the read sizes.
	r.prefixSize = min(r.prefixSize, r.max)
	return r
}

// Reset discards all state except the options and the buffer, and makes the
// reader read from src, so one Reader can serve many connections in turn.
// Statistics are zeroed.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w = 0, 0
	r.skipCR = false
	r.err = nil
	r.stats = ReaderStats{}
	if cap(r.buf) > retainBufSize {
		r.buf = nil
	}
}

// Stats returns the reader's counters.
func (r *Reader) Stats() ReaderStats { return r.stats }

// Buffered reports how many bytes have been read from the source but not yet
// consumed as frames. A client uses it to notice an unsolicited frame.
func (r *Reader) Buffered() int { return r.w - r.r }

// ReadFrame returns the content of the next frame, without <VT>, <FS> and
// <CR>.
//
// The returned slice aliases the reader's buffer: it is valid only until the
// next call to ReadFrame or Reset. Copy it to keep it.
//
// At the end of the stream between frames ReadFrame returns io.EOF; in the
// middle of a frame, an error wrapping io.ErrUnexpectedEOF. A frame larger
// than the limit yields a *FrameTooLargeError after the frame has been
// skipped; the reader can be used again. Any other error from the source is
// returned wrapped, and again on every later call.
//
// Cancellation is the source's business: for a net.Conn, set a deadline or
// close it.
func (r *Reader) ReadFrame() ([]byte, error) {
	if cap(r.buf) > retainBufSize {
		r.shrink()
	}
	if r.buf == nil {
		r.buf = make([]byte, initialBufSize)
	}
	if err := r.findStart(); err != nil {
		return nil, err
	}

	start := r.r // first content byte
	scanned := start
	notified := false
	for {
		if i := bytes.IndexByte(r.buf[scanned:r.w], EndBlock); i >= 0 {
			end := scanned + i
			if end-start > r.max {
				prefix := r.prefix(start, end)
				r.consumeEnd(end)
				return nil, r.tooLarge(int64(end-start), prefix)
			}
			frame := r.buf[start:end:end]
			r.consumeEnd(end)
			r.stats.Frames++
			r.stats.Bytes += int64(len(frame))
			return frame, nil
		}
		scanned = r.w
		if r.w-start > r.max {
			return r.discardFrame(start)
		}
		if !notified && r.frameStarted != nil {
			notified = true
			r.frameStarted()
		}
		if r.err != nil {
			return nil, r.partialErr(int64(r.w - start))
		}
		if r.w == len(r.buf) {
			if start > 0 {
				n := copy(r.buf, r.buf[start:r.w])
				scanned -= start
				r.r, r.w, start = 0, n, 0
			} else {
				r.grow()
			}
		}
		r.fill()
	}
}

// findStart consumes input up to and including the next <VT>.
func (r *Reader) findStart() error {
	for {
		if r.r < r.w {
			if r.skipCR {
				r.skipCR = false
				if r.buf[r.r] == CarriageReturn {
					r.r++
					continue
				}
			}
			if i := bytes.IndexByte(r.buf[r.r:r.w], StartBlock); i >= 0 {
				r.stats.Discarded += int64(i)
				r.r += i + 1
				return nil
			}
			r.stats.Discarded += int64(r.w - r.r)
		}
		r.r, r.w = 0, 0
		if r.err != nil {
			if r.err == io.EOF {
				return io.EOF
			}
			return fmt.Errorf("mllp: read frame: %w", r.err)
		}
		r.fill()
	}
}

// consumeEnd consumes the <FS> at end and a <CR> right after it, if it has
// already arrived.
func (r *Reader) consumeEnd(end int) {
	r.r = end + 1
	if r.r < r.w {
		if r.buf[r.r] == CarriageReturn {
			r.r++
		}
	} else {
		r.skipCR = true
	}
}

// discardFrame skips the rest of an oversize frame whose content starts at
// start, reading in chunks of the current buffer so that memory stays bounded
// however long the frame is.
func (r *Reader) discardFrame(start int) ([]byte, error) {
	prefix := r.prefix(start, r.w)
	size := int64(r.w - start)
	r.r, r.w = 0, 0
	for {
		if r.r < r.w {
			if i := bytes.IndexByte(r.buf[r.r:r.w], EndBlock); i >= 0 {
				size += int64(i)
				r.consumeEnd(r.r + i)
				return nil, r.tooLarge(size, prefix)
			}
			size += int64(r.w - r.r)
			r.r, r.w = 0, 0
		}
		if r.err != nil {
			r.stats.Oversize++
			return nil, r.partialErr(size)
		}
		r.fill()
	}
}

func (r *Reader) prefix(start, end int) []byte {
	n := min(end-start, r.prefixSize)
	if n <= 0 {
		return nil
	}
	return bytes.Clone(r.buf[start : start+n])
}

func (r *Reader) tooLarge(size int64, prefix []byte) error {
	r.stats.Oversize++
	return &FrameTooLargeError{Size: size, Limit: r.max, Prefix: prefix}
}

func (r *Reader) partialErr(n int64) error {
	if r.err == io.EOF {
		return fmt.Errorf("mllp: read frame: stream ended %d bytes into a frame: %w", n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("mllp: read frame: %d bytes into a frame: %w", n, r.err)
}

// fill reads once into the free tail of buf, which must not be empty.
func (r *Reader) fill() {
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.err = fmt.Errorf("invalid read count %d", n)
			return
		}
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// grow enlarges a full buffer, up to what the largest acceptable frame needs
// (content plus one byte to tell "exactly the limit" from "over it").
func (r *Reader) grow() {
	limit := r.max + 2
	size := min(2*len(r.buf), limit)
	if size <= len(r.buf) {
		// Unreachable: a full buffer at the limit means the frame is already
		// over the limit. Grow a little anyway rather than loop on a full one.
		size = len(r.buf) + initialBufSize
	}
	buf := make([]byte, size)
	copy(buf, r.buf[r.r:r.w])
	r.r, r.w = 0, r.w-r.r
	r.buf = buf
}

// shrink replaces a buffer grown for a large frame with a small one, keeping
// unconsumed bytes (a pipelined next frame) when they fit.
func (r *Reader) shrink() {
	n := r.w - r.r
	if n > initialBufSize {
		// Keep the big buffer while it holds more than a small one could;
		// compact instead so the next frame starts at 0.
		copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w = 0, n
		return
	}
	buf := make([]byte, initialBufSize)
	copy(buf, r.buf[r.r:r.w])
	r.r, r.w = 0, n
	r.buf = buf
}

// Writer writes MLLP frames to an io.Writer, each in a single write when it
// is small, so that a frame is not split into packets needlessly. It is not
// safe for concurrent use.
type Writer struct {
	dst io.Writer
	buf []byte
}

// NewWriter returns a Writer that writes frames to dst.
func NewWriter(dst io.Writer) *Writer { return &Writer{dst: dst} }

// Reset makes w write to dst, keeping its buffer.
func (w *Writer) Reset(dst io.Writer) { w.dst = dst }

// WriteFrame writes msg as one frame: <VT> msg <FS><CR>. It refuses a
// message that contains <FS> (ErrInvalidMessage) rather than send something
// the receiver would split.
func (w *Writer) WriteFrame(msg []byte) error {
	if i := bytes.IndexByte(msg, EndBlock); i >= 0 {
		return fmt.Errorf("mllp: write frame: offset %d: %w", i, ErrInvalidMessage)
	}
	if len(msg) > maxCopyWrite {
		// A vectored write: one syscall on a TCP connection, no copy.
		bufs := net.Buffers{[]byte{StartBlock}, msg, []byte{EndBlock, CarriageReturn}}
		if _, err := bufs.WriteTo(w.dst); err != nil {
			return fmt.Errorf("mllp: write frame: %w", err)
		}
		return nil
	}
	w.buf = appendFrame(w.buf[:0], msg)
	if _, err := w.dst.Write(w.buf); err != nil {
		return fmt.Errorf("mllp: write frame: %w", err)
	}
	return nil
}

// WriteFrame writes msg to dst as one frame. It allocates; use a Writer to
// write many frames.
func WriteFrame(dst io.Writer, msg []byte) error {
	return NewWriter(dst).WriteFrame(msg)
}

// AppendFrame appends msg framed as <VT> msg <FS><CR> to dst. It returns
// ErrInvalidMessage if msg contains <FS>.
func AppendFrame(dst, msg []byte) ([]byte, error) {
	if i := bytes.IndexByte(msg, EndBlock); i >= 0 {
		return dst, fmt.Errorf("mllp: append frame: offset %d: %w", i, ErrInvalidMessage)
	}
	return appendFrame(dst, msg), nil
}

func appendFrame(dst, msg []byte) []byte {
	dst = append(dst, StartBlock)
	dst = append(dst, msg...)
	return append(dst, EndBlock, CarriageReturn)
}
