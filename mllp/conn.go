package mllp

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Connection states. Only the connection's goroutine moves between the
// first four; Shutdown moves new or idle connections to closed, and a
// connection that finds itself closed stops without handling anything.
const (
	stateNew     int32 = iota // TLS handshake not done
	stateIdle                 // waiting for a frame to start
	stateReading              // a frame has started
	stateActive               // handler or reply in progress
	stateClosed
)

type serverConn struct {
	srv   *Server
	nc    net.Conn
	info  ConnInfo
	state atomic.Int32
	log   *slog.Logger
}

type connBuffers struct {
	rd *Reader
	wr *Writer
}

func (s *Server) newConn(nc net.Conn) *serverConn {
	c := &serverConn{srv: s, nc: nc}
	c.info = ConnInfo{
		ID:         s.nextID.Add(1),
		RemoteAddr: nc.RemoteAddr(),
		LocalAddr:  nc.LocalAddr(),
	}
	c.log = s.log.With(slog.Uint64("conn", c.info.ID), slog.String("remote", addrString(c.info.RemoteAddr)))
	return c
}

func (c *serverConn) closeIfIdle() {
	if c.state.CompareAndSwap(stateIdle, stateClosed) || c.state.CompareAndSwap(stateNew, stateClosed) {
		c.nc.Close()
	}
}

func (c *serverConn) forceClose() {
	c.state.Store(stateClosed)
	c.nc.Close()
}

// to moves the connection from state from to state to; false means Shutdown
// closed it meanwhile.
func (c *serverConn) to(from, to int32) bool { return c.state.CompareAndSwap(from, to) }

func (s *Server) serveConn(c *serverConn) {
	defer s.untrackConn(c)
	defer c.nc.Close()
	c.log.LogAttrs(s.ctx, slog.LevelDebug, "mllp: connection accepted")

	if tc, ok := c.nc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			return
		}
	}
	if !c.to(stateNew, stateIdle) {
		return
	}

	b, _ := s.bufs.Get().(*connBuffers)
	if b == nil {
		b = &connBuffers{
			rd: NewReader(nil, ReaderOptions{MaxFrameSize: s.opts.MaxFrameSize, ErrorPrefixSize: s.opts.ErrorPrefixSize}),
			wr: NewWriter(nil),
		}
	}
	defer func() {
		b.rd.Reset(nil)
		b.wr.Reset(nil)
		s.bufs.Put(b)
	}()
	rd, wr := b.rd, b.wr
	rd.Reset(c.nc)
	wr.Reset(c.nc)

	started := false
	rd.frameStarted = func() {
		started = true
		c.to(stateIdle, stateReading)
		c.setReadDeadline(s.opts.ReadTimeout)
	}
	defer func() { rd.frameStarted = nil }()

	var discarded int64
	for {
		if s.inShutdown.Load() {
			return
		}
		started = false
		c.setReadDeadline(s.opts.IdleTimeout)
		msg, err := rd.ReadFrame()
		if d := rd.stats.Discarded; d != discarded {
			s.stats.discarded.Add(d - discarded)
			discarded = d
		}
		state := stateIdle
		if started {
			state = stateReading
		}
		if err != nil {
			var tooLarge *FrameTooLargeError
			if !errors.As(err, &tooLarge) {
				c.readFailed(err, started)
				return
			}
			s.stats.oversize.Add(1)
			c.log.LogAttrs(s.ctx, slog.LevelWarn, "mllp: frame too large",
				slog.Int64("size", tooLarge.Size), slog.Int("limit", tooLarge.Limit))
			if s.opts.OnFrameError == nil || !c.to(state, stateActive) {
				return
			}
			nak, ok := c.handle(nil, err)
			if !ok || !c.reply(wr, nak) || !c.to(stateActive, stateIdle) {
				return
			}
			continue
		}
		if !c.to(state, stateActive) {
			return // Shutdown closed the connection as idle: leave msg unanswered
		}
		s.stats.frames.Add(1)
		s.stats.frameBytes.Add(int64(len(msg)))
		ack, ok := c.handle(msg, nil)
		if !ok || !c.reply(wr, ack) {
			return
		}
		if !c.to(stateActive, stateIdle) {
			return
		}
	}
}

func (c *serverConn) handshake(tc *tls.Conn) bool {
	s := c.srv
	ctx := s.ctx
	// A peer that connects and never completes the handshake must not hold
	// its slot forever, even with ReadTimeout disabled.
	if d := cmp.Or(s.opts.ReadTimeout, s.opts.IdleTimeout); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		s.stats.tlsErrors.Add(1)
		c.log.LogAttrs(s.ctx, slog.LevelWarn, "mllp: TLS handshake failed", slog.String("error", err.Error()))
		return false
	}
	st := tc.ConnectionState()
	c.info.TLS = true
	if len(st.PeerCertificates) > 0 {
		c.info.PeerCertificate = st.PeerCertificates[0]
		c.info.PeerSubject = st.PeerCertificates[0].Subject.String()
	}
	c.log.LogAttrs(s.ctx, slog.LevelDebug, "mllp: TLS established",
		slog.String("peer", c.info.PeerSubject), slog.String("version", tls.VersionName(st.Version)))
	return true
}

func (c *serverConn) setReadDeadline(d time.Duration) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	// An error here means the connection is closed; the read reports it.
	_ = c.nc.SetReadDeadline(t)
}

func (c *serverConn) readFailed(err error, midFrame bool) {
	s := c.srv
	timeout := errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case midFrame:
		s.stats.incomplete.Add(1)
		c.log.LogAttrs(s.ctx, slog.LevelWarn, "mllp: connection lost mid-frame",
			slog.Bool("timeout", timeout), slog.String("error", err.Error()))
	case errors.Is(err, io.EOF):
		c.log.LogAttrs(s.ctx, slog.LevelDebug, "mllp: connection closed by peer")
	case timeout:
		s.stats.idle.Add(1)
		c.log.LogAttrs(s.ctx, slog.LevelDebug, "mllp: idle timeout")
	case s.inShutdown.Load():
		c.log.LogAttrs(s.ctx, slog.LevelDebug, "mllp: connection closed by shutdown")
	default:
		c.log.LogAttrs(s.ctx, slog.LevelInfo, "mllp: read failed", slog.String("error", err.Error()))
	}
}

// handle runs the handler for msg, or OnFrameError for frameErr, turning a
// panic into a closed connection rather than a crashed engine.
func (c *serverConn) handle(msg []byte, frameErr error) (ack []byte, ok bool) {
	s := c.srv
	defer func() {
		if p := recover(); p != nil {
			s.stats.panics.Add(1)
			// A handler may panic with a value built from the message; only
			// the runtime's own errors are known to carry no content.
			val := slog.String("panic", fmt.Sprintf("value of type %T (not logged)", p))
			if re, ok := p.(runtime.Error); ok {
				val = slog.String("panic", re.Error())
			}
			c.log.LogAttrs(s.ctx, slog.LevelError, "mllp: handler panic",
				val, slog.String("stack", string(debug.Stack())))
			ack, ok = nil, false
		}
	}()
	if frameErr != nil {
		return s.opts.OnFrameError(s.ctx, c.info, frameErr), true
	}
	return s.handler.ServeMLLP(s.ctx, c.info, msg), true
}

func (c *serverConn) reply(wr *Writer, ack []byte) bool {
	if ack == nil {
		return true
	}
	s := c.srv
	var t time.Time
	if s.opts.WriteTimeout > 0 {
		t = time.Now().Add(s.opts.WriteTimeout)
	}
	_ = c.nc.SetWriteDeadline(t)
	if err := wr.WriteFrame(ack); err != nil {
		s.stats.writeErrors.Add(1)
		c.log.LogAttrs(s.ctx, slog.LevelWarn, "mllp: reply not written", slog.String("error", err.Error()))
		return false
	}
	s.stats.replies.Add(1)
	return true
}
