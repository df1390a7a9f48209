package mllp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server defaults, used when the corresponding ServerOptions field is zero.
const (
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultMaxConns     = 1024
	DefaultAddr         = ":2575" // the port IANA registered for HL7 over MLLP
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("mllp: server closed")

// Handler answers one message.
//
// ServeMLLP is called for each frame received on a connection, one at a time
// and in the order received: the next frame is read only after the reply has
// been written, as HL7 original mode expects. msg aliases the connection's
// read buffer and is valid only during the call; copy it to keep it. The
// returned bytes are framed and written back (nil sends nothing); they may be
// reused by the handler once the next call on the same connection begins.
//
// ctx is cancelled when the server is closed or a graceful shutdown runs out
// of time. A handler that panics has its connection closed without a reply.
type Handler interface {
	ServeMLLP(ctx context.Context, conn ConnInfo, msg []byte) []byte
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, conn ConnInfo, msg []byte) []byte

// ServeMLLP calls f.
func (f HandlerFunc) ServeMLLP(ctx context.Context, conn ConnInfo, msg []byte) []byte {
	return f(ctx, conn, msg)
}

// ConnInfo describes the connection a message arrived on.
type ConnInfo struct {
	ID         uint64 // unique within a Server, in order of acceptance
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	TLS        bool // the connection is TLS
	// PeerSubject is the subject of the client's certificate (mutual TLS),
	// empty when the client presented none.
	PeerSubject string
	// PeerCertificate is the client's leaf certificate, verified against
	// the server's ClientCAs when the TLS config requires it.
	PeerCertificate *x509.Certificate
}

// ServerOptions configures a Server. The zero value means defaults.
//
// Durations and limits: zero means the package default (DefaultXxx), a
// negative value means no limit.
type ServerOptions struct {
	// TLSConfig, when set, makes the server speak TLS on every listener.
	// Set ClientAuth to tls.RequireAndVerifyClientCert and ClientCAs for
	// mutual TLS; ServerTLSConfig builds such a config from PEM files.
	TLSConfig *tls.Config

	// MaxFrameSize bounds a message; see ReaderOptions.
	MaxFrameSize int
	// ErrorPrefixSize is how much of an oversize frame OnFrameError gets to
	// see; see ReaderOptions.
	ErrorPrefixSize int

	// ReadTimeout is the time a peer has to finish a frame once it started
	// it, and to complete a TLS handshake (IdleTimeout applies to the
	// handshake when ReadTimeout is disabled). It cuts off senders that
	// trickle bytes (slow loris).
	ReadTimeout time.Duration
	// IdleTimeout closes a connection on which no frame has started for this
	// long. It frees the slot of peers that connect and never send. Legacy
	// senders that keep one connection open for days reconnect when they
	// next have something to send.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one reply.
	WriteTimeout time.Duration

	// MaxConns bounds concurrent connections (and so goroutines). A
	// connection over the limit is accepted and closed at once, without
	// being read: the sender sees the close straight away and can back off
	// and retry, rather than sit in the kernel's accept queue thinking it is
	// connected while its message times out unanswered.
	MaxConns int

	// OnFrameError is called when a frame was rejected but the connection is
	// still usable, so the owner can answer it. Today that is a frame over
	// MaxFrameSize: err is a *FrameTooLargeError whose Prefix holds the start
	// of the message, enough to build a NAK naming the sender's MSH. The
	// returned bytes are framed and sent (nil sends nothing, and the
	// connection stays open).
	//
	// When OnFrameError is nil, the connection is closed instead: mllp knows
	// nothing of HL7 and cannot build a NAK, and a sender left waiting for
	// an ACK that never comes would time out and resend the same oversize
	// message, while a close tells it at once that the message failed.
	OnFrameError func(ctx context.Context, conn ConnInfo, err error) []byte

	// Logger receives connection-level events (accept, reject, timeouts,
	// errors) with connection id and addresses. Message content is never
	// logged. Nil means no logging.
	Logger *slog.Logger
}

// Server accepts MLLP connections and hands each message to a Handler.
// Create it with NewServer.
type Server struct {
	handler Handler
	opts    ServerOptions
	log     *slog.Logger

	// ctx is the parent of every handler's context; cancel fires on Close
	// and when Shutdown's context expires.
	ctx    context.Context
	cancel context.CancelFunc

	inShutdown atomic.Bool
	nextID     atomic.Uint64
	stats      serverStats
	bufs       sync.Pool // *connBuffers

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	addr      net.Addr
	conns     map[*serverConn]struct{}
	wg        sync.WaitGroup // connection goroutines
}

// NewServer returns a Server that passes messages to h.
func NewServer(h Handler, opts ServerOptions) *Server {
	opts.ReadTimeout = durationOr(opts.ReadTimeout, DefaultReadTimeout)
	opts.WriteTimeout = durationOr(opts.WriteTimeout, DefaultWriteTimeout)
	opts.IdleTimeout = durationOr(opts.IdleTimeout, DefaultIdleTimeout)
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = DefaultMaxFrameSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		handler:   h,
		opts:      opts,
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[*net.Listener]struct{}),
		conns:     make(map[*serverConn]struct{}),
	}
}

// durationOr maps the zero value to def and negative values to 0 (none).
func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// ListenAndServe listens on the TCP address addr (DefaultAddr if empty) and
// serves connections until Shutdown or Close. It always returns a non-nil
// error; after Shutdown or Close, ErrServerClosed.
func (s *Server) ListenAndServe(addr string) error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	l, err := lc.Listen(s.ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mllp: listen: %w", err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l, which it closes on return, and serves each
// in its own goroutine. When the server has a TLSConfig, l must be a plain
// listener: Serve adds TLS. It always returns a non-nil error; after Shutdown
// or Close, ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if s.opts.TLSConfig != nil {
		l = tls.NewListener(l, s.opts.TLSConfig)
	}
	if !s.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(&l, false)
	s.log.LogAttrs(s.ctx, slog.LevelInfo, "mllp: listening",
		slog.String("addr", l.Addr().String()), slog.Bool("tls", s.opts.TLSConfig != nil))

	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("mllp: accept: %w", err)
			}
			// Typically out of file descriptors: back off rather than spin,
			// and let established connections finish and free some.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.LogAttrs(s.ctx, slog.LevelError, "mllp: accept failed; retrying",
				slog.String("error", err.Error()), slog.Duration("delay", delay))
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
			}
			continue
		}
		delay = 0
		c := s.newConn(nc)
		if reason := s.trackConn(c); reason != "" {
			s.stats.rejected.Add(1)
			s.log.LogAttrs(s.ctx, slog.LevelWarn, "mllp: connection rejected",
				slog.String("reason", reason), slog.String("remote", addrString(nc.RemoteAddr())))
			nc.Close()
			continue
		}
		go s.serveConn(c)
	}
}

// Addr returns the address of the first listener being served, or nil
// before Serve has started. Useful after listening on port 0.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops the server gracefully: it closes the listeners, closes
// connections that are idle (waiting for a frame to start), and lets the
// others finish the frame they are receiving, run the handler and write its
// reply before closing them. It returns when every connection is closed, or
// when ctx is done: then it closes the remaining connections, cancels the
// handlers' context and returns ctx's error without waiting for handlers
// that ignore it.
//
// Serve returns ErrServerClosed as soon as Shutdown starts; wait for
// Shutdown to return before exiting the program.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.inShutdown.Store(true)
	err := s.closeListenersLocked()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	// A connection that is busy now sees inShutdown when it next becomes
	// idle, and exits by itself; no polling is needed.
	for _, c := range conns {
		c.closeIfIdle()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		s.closeAll()
		return fmt.Errorf("mllp: shutdown: %w", ctx.Err())
	}
}

// Close stops the server at once: listeners and connections are closed and
// handlers' context is cancelled. Replies in progress are lost; use Shutdown
// to let them finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.inShutdown.Store(true)
	err := s.closeListenersLocked()
	s.mu.Unlock()
	s.closeAll()
	return err
}

func (s *Server) closeAll() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.forceClose()
	}
}

func (s *Server) closeListenersLocked() error {
	var errs []error
	for l := range s.listeners {
		if err := (*l).Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		delete(s.listeners, l)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mllp: close listener: %w", err)
	}
	return nil
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShutdown.Load() {
			return false
		}
		s.listeners[l] = struct{}{}
		if s.addr == nil {
			s.addr = (*l).Addr()
		}
		return true
	}
	if _, ok := s.listeners[l]; ok {
		(*l).Close()
		delete(s.listeners, l)
	}
	return true
}

// trackConn registers c, or says why it must be refused. Counting under the
// same lock as Shutdown makes the WaitGroup safe: no Add after Shutdown.
func (s *Server) trackConn(c *serverConn) (rejected string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return "shutting down"
	}
	if s.opts.MaxConns > 0 && len(s.conns) >= s.opts.MaxConns {
		return "too many connections"
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.stats.accepted.Add(1)
	s.stats.active.Add(1)
	return ""
}

func (s *Server) untrackConn(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.stats.active.Add(-1)
	s.wg.Done()
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
