package mllp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client defaults, used when the corresponding ClientOptions field is zero.
const (
	DefaultSendTimeout = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultBackoffMin  = 100 * time.Millisecond
	DefaultBackoffMax  = 10 * time.Second
)

// ErrClientClosed is returned by Send after Close.
var ErrClientClosed = errors.New("mllp: client closed")

// ClientOptions configures a Client. The zero value means defaults.
type ClientOptions struct {
	// TLSConfig, when set, makes the client speak TLS. Add a client
	// certificate for mutual TLS; ClientTLSConfig builds one from PEM files.
	// ServerName defaults to the host of the address.
	TLSConfig *tls.Config

	// Timeout bounds one Send, connecting included, when ctx has no earlier
	// deadline. Zero means DefaultSendTimeout.
	Timeout time.Duration
	// DialTimeout bounds one connection attempt. Zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between failed connection
	// attempts, which doubles from BackoffMin (with jitter) up to
	// BackoffMax and resets on success.
	BackoffMin, BackoffMax time.Duration

	// MaxConns is how many connections the client may open to the server,
	// and so how many messages may be in flight at once (MLLP allows one per
	// connection). Zero means 1, which also keeps messages in the order they
	// were sent, as many receivers require.
	MaxConns int

	// MaxFrameSize bounds a reply; see ReaderOptions.
	MaxFrameSize int

	// Dial, if set, opens the network connection instead of net.Dialer
	// (TLS is still added on top when TLSConfig is set).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Logger receives connection events (connect, failures); never message
	// content. Nil means no logging.
	Logger *slog.Logger
}

// Client sends messages to one MLLP server and returns its replies.
//
// It connects lazily, on the first Send, and reconnects after failures,
// waiting between attempts with bounded exponential backoff. It is safe for
// concurrent use: each connection carries one message at a time (send, then
// wait for the reply), and concurrent Sends share up to MaxConns connections,
// waiting for a free one.
//
// After a timeout, a cancellation or any I/O error the connection is
// discarded, so a late reply can never be taken for the reply to the next
// message.
type Client struct {
	addr string
	opts ClientOptions
	log  *slog.Logger

	// slots holds MaxConns connection slots; taking one is the right to use
	// its connection (or to open it).
	slots  chan *clientConn
	closed atomic.Bool
	ctx    context.Context // cancelled by Close, interrupting Sends in flight
	cancel context.CancelFunc

	mu       sync.Mutex // guards the backoff state below
	backoff  time.Duration
	nextDial time.Time
	dialErr  error
}

type clientConn struct {
	nc net.Conn
	rd *Reader
	wr *Writer
}

func (cc *clientConn) discard() {
	if cc.nc != nil {
		cc.nc.Close()
		cc.nc = nil
	}
}

// NewClient returns a Client for the server at addr (host:port). It does not
// connect.
func NewClient(addr string, opts ClientOptions) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultSendTimeout
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = DefaultBackoffMin
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffMin)
	if opts.MaxConns <= 0 {
		opts.MaxConns = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{addr: addr, opts: opts, log: log.With(slog.String("addr", addr))}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.slots = make(chan *clientConn, opts.MaxConns)
	for range opts.MaxConns {
		c.slots <- &clientConn{}
	}
	return c
}

// Send sends msg as one frame and returns the reply frame (typically an HL7
// ACK), which the caller owns.
//
// It waits for a free connection, connecting if needed and retrying failed
// connection attempts with backoff, until ctx is done or Timeout has passed.
// Once msg has been written it is not resent, with one exception: when a
// connection that had been idle turns out to be closed by the server (reset
// or closed before any reply), msg is sent once more on a new connection.
// As with any MLLP sender, the receiver may therefore see a message twice;
// HL7 receivers are expected to tolerate duplicates by control id.
//
// An error after the deadline or cancellation wraps ctx's error (e.g.
// context.DeadlineExceeded).
func (c *Client) Send(ctx context.Context, msg []byte) ([]byte, error) {
	if c.closed.Load() {
		return nil, ErrClientClosed
	}
	if i := bytes.IndexByte(msg, EndBlock); i >= 0 {
		return nil, fmt.Errorf("mllp: send: offset %d: %w", i, ErrInvalidMessage)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()

	var cc *clientConn
	select {
	case cc = <-c.slots:
	case <-ctx.Done():
		return nil, c.ctxErr(ctx, "waiting for a free connection", nil)
	}
	defer c.release(cc)

	for attempt := 0; ; attempt++ {
		reused := cc.nc != nil
		if !reused {
			if err := c.connect(ctx, cc); err != nil {
				return nil, err
			}
		}
		ack, err := c.roundTrip(ctx, cc, msg)
		if err == nil {
			return ack, nil
		}
		cc.discard()
		// The connection's deadline is ctx's, and may fire a moment before
		// ctx notices: report both the same way.
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, c.ctxErr(ctx, "waiting for reply", err)
		}
		if reused && attempt == 0 && staleConn(err) {
			c.log.LogAttrs(ctx, slog.LevelDebug, "mllp: idle connection was closed by the server; resending on a new one",
				slog.String("error", err.Error()))
			continue
		}
		return nil, fmt.Errorf("mllp: send to %s: %w", c.addr, err)
	}
}

// staleConn reports an error that means the server had closed the
// connection before our message reached it, rather than while handling it.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Client) release(cc *clientConn) {
	if c.closed.Load() {
		cc.discard()
	}
	c.slots <- cc // never blocks: the channel holds every slot
}

func (c *Client) ctxErr(ctx context.Context, what string, err error) error {
	if c.closed.Load() {
		return fmt.Errorf("mllp: send to %s: %w", c.addr, ErrClientClosed)
	}
	cause := context.Cause(ctx)
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	if err != nil {
		return fmt.Errorf("mllp: send to %s: %s: %w (%v)", c.addr, what, cause, err)
	}
	return fmt.Errorf("mllp: send to %s: %s: %w", c.addr, what, cause)
}

// roundTrip writes msg and reads one frame back on cc.
func (c *Client) roundTrip(ctx context.Context, cc *clientConn, msg []byte) ([]byte, error) {
	if n := cc.rd.Buffered(); n > 0 {
		// The server sent something we did not ask for (a second reply to
		// the previous message?). Reading it as the reply to msg would
		// mismatch every reply from now on.
		return nil, fmt.Errorf("mllp: %d unsolicited bytes on connection", n)
	}
	nc := cc.nc
	deadline, _ := ctx.Deadline() // always set: Send adds Timeout
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("mllp: set deadline: %w", err)
	}
	// Deadlines cover timeouts; this covers cancellation. It may still run
	// after we return, so it must not touch cc.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := cc.wr.WriteFrame(msg); err != nil {
		return nil, err
	}
	ack, err := cc.rd.ReadFrame()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(ack), nil
}

// connect opens cc's connection, retrying with backoff until ctx is done.
func (c *Client) connect(ctx context.Context, cc *clientConn) error {
	for {
		c.mu.Lock()
		wait, lastErr := time.Until(c.nextDial), c.dialErr
		c.mu.Unlock()
		if wait > 0 {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				// Waiting would only end in a timeout: fail now with the
				// reason, and keep the slot free for others.
				return fmt.Errorf("mllp: connect to %s: backing off %v after: %w", c.addr, wait.Round(time.Millisecond), lastErr)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return c.ctxErr(ctx, "backing off before reconnecting", lastErr)
			}
		}
		nc, err := c.dial(ctx)
		if err == nil {
			c.mu.Lock()
			c.backoff, c.nextDial, c.dialErr = 0, time.Time{}, nil
			c.mu.Unlock()
			if cc.rd == nil {
				cc.rd = NewReader(nc, ReaderOptions{MaxFrameSize: c.opts.MaxFrameSize})
				cc.wr = NewWriter(nc)
			} else {
				cc.rd.Reset(nc)
				cc.wr.Reset(nc)
			}
			cc.nc = nc
			c.log.LogAttrs(ctx, slog.LevelDebug, "mllp: connected", slog.String("local", addrString(nc.LocalAddr())))
			return nil
		}
		if ctx.Err() != nil {
			return c.ctxErr(ctx, "connecting", err)
		}
		c.mu.Lock()
		c.backoff = min(max(2*c.backoff, c.opts.BackoffMin), c.opts.BackoffMax)
		// Jitter spreads the reconnects of many clients after a server
		// restart.
		d := c.backoff/2 + rand.N(c.backoff/2+1)
		c.nextDial, c.dialErr = time.Now().Add(d), err
		c.mu.Unlock()
		c.log.LogAttrs(ctx, slog.LevelWarn, "mllp: connect failed",
			slog.String("error", err.Error()), slog.Duration("retry_in", d))
	}
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if c.opts.Dial != nil {
		nc, err = c.opts.Dial(ctx, "tcp", c.addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mllp: dial %s: %w", c.addr, err)
	}
	if c.opts.TLSConfig == nil {
		return nc, nil
	}
	cfg := c.opts.TLSConfig
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(c.addr)
		if err != nil {
			host = c.addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("mllp: TLS handshake with %s: %w", c.addr, err)
	}
	return tc, nil
}

// Close closes the client's connections and makes Sends in flight and any
// later Send fail with ErrClientClosed.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.cancel()
	// Close the idle connections now; those in use are closed when their
	// Send, interrupted by the cancel, releases them.
	var idle []*clientConn
	for range cap(c.slots) {
		select {
		case cc := <-c.slots:
			cc.discard()
			idle = append(idle, cc)
		default:
		}
	}
	for _, cc := range idle {
		c.slots <- cc
	}
	return nil
}
