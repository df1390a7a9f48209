package mllp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

func TestServerRoundTrip(t *testing.T) {
	var seen sync.Map // conn id -> ConnInfo
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		seen.Store(ci.ID, ci)
		return echo(ctx, ci, msg)
	})
	srv, addr := startServer(t, h, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{})
	for i := range 3 {
		msg := fmt.Sprintf("MSH|^~\\&|%d", i)
		if got := send(t, c, msg); got != "ACK:"+msg {
			t.Fatalf("ack = %q", got)
		}
	}
	n := 0
	seen.Range(func(_, v any) bool {
		ci := v.(mllp.ConnInfo)
		n++
		if ci.ID == 0 || ci.RemoteAddr == nil || ci.LocalAddr == nil || ci.TLS || ci.PeerSubject != "" {
			t.Errorf("ConnInfo = %+v", ci)
		}
		if ci.LocalAddr.String() != addr {
			t.Errorf("LocalAddr = %v, want %s", ci.LocalAddr, addr)
		}
		return true
	})
	if n != 1 {
		t.Errorf("messages arrived on %d connections, want 1", n)
	}
	eventually(t, 5*time.Second, "3 replies counted", func() bool { return srv.Stats().Replies == 3 })
	st := srv.Stats()
	if st.Frames != 3 || st.FrameBytes != 3*10 || st.ConnsAccepted != 1 || st.ConnsActive != 1 {
		t.Errorf("stats = %+v", st)
	}
	if srv.Addr() == nil || srv.Addr().String() != addr {
		t.Errorf("Addr() = %v, want %s", srv.Addr(), addr)
	}
}

func TestServerGarbageBeforeStartBlockCounted(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{})
	c := dialRaw(t, addr)
	c.write("junk\r\n\x00" + frame("MSH|1") + "\n" + frame("MSH|2"))
	if got := c.readFrame(5 * time.Second); got != "ACK:MSH|1" {
		t.Fatalf("ack = %q", got)
	}
	if got := c.readFrame(5 * time.Second); got != "ACK:MSH|2" {
		t.Fatalf("ack = %q", got)
	}
	if d := srv.Stats().BytesDiscarded; d != 8 {
		t.Errorf("BytesDiscarded = %d, want 8", d)
	}
}

// Some senders end a frame with FS alone. The message must be answered at
// once, not when the sender's next bytes arrive.
func TestServerMissingCRTolerated(t *testing.T) {
	_, addr := startServer(t, echo, mllp.ServerOptions{})
	c := dialRaw(t, addr)
	c.write("\x0bMSH|1\x1c")
	if got := c.readFrame(5 * time.Second); got != "ACK:MSH|1" {
		t.Fatalf("ack = %q", got)
	}
	c.write("\x0bMSH|2\x1c\x0bMSH|3\x1c")
	for _, want := range []string{"ACK:MSH|2", "ACK:MSH|3"} {
		if got := c.readFrame(5 * time.Second); got != want {
			t.Fatalf("ack = %q, want %q", got, want)
		}
	}
}

// Messages on one connection are handled one at a time, in order, even when
// the sender pipelines them.
func TestServerHandlesInOrder(t *testing.T) {
	var running atomic.Int32
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if running.Add(1) != 1 {
			t.Error("two messages of one connection handled at once")
		}
		defer running.Add(-1)
		time.Sleep(time.Millisecond)
		return echo(ctx, ci, msg)
	})
	_, addr := startServer(t, h, mllp.ServerOptions{})
	c := dialRaw(t, addr)
	var all strings.Builder
	for i := range 50 {
		all.WriteString(frame(fmt.Sprint(i)))
	}
	c.write(all.String())
	for i := range 50 {
		if got := c.readFrame(5 * time.Second); got != fmt.Sprint("ACK:", i) {
			t.Fatalf("ack %d = %q", i, got)
		}
	}
}

func TestServerHandlerReturnsNil(t *testing.T) {
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if string(msg) == "quiet" {
			return nil
		}
		return echo(ctx, ci, msg)
	})
	_, addr := startServer(t, h, mllp.ServerOptions{})
	c := dialRaw(t, addr)
	c.write(frame("quiet") + frame("loud"))
	if got := c.readFrame(5 * time.Second); got != "ACK:loud" {
		t.Fatalf("ack = %q", got)
	}
}

// A client that trickles a frame byte by byte is cut off by ReadTimeout,
// while other connections keep being served.
func TestServerSlowLoris(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{ReadTimeout: 300 * time.Millisecond})
	loris := dialRaw(t, addr)
	lorisDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		loris.nc.Write([]byte("\x0bMSH|"))
		for range 200 { // far longer than ReadTimeout, if never cut off
			time.Sleep(20 * time.Millisecond)
			if _, err := loris.nc.Write([]byte("x")); err != nil {
				break
			}
		}
		lorisDone <- time.Since(start)
	}()

	c := newClient(t, addr, mllp.ClientOptions{})
	deadline := time.Now().Add(600 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		msg := fmt.Sprint("MSH|", n)
		if got := send(t, c, msg); got != "ACK:"+msg {
			t.Fatalf("ack = %q", got)
		}
		n++
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case d := <-lorisDone:
		if d > 2*time.Second {
			t.Errorf("slow client was cut off only after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow client never cut off")
	}
	eventually(t, 2*time.Second, "IncompleteFrames == 1", func() bool { return srv.Stats().IncompleteFrames == 1 })
	if n < 10 {
		t.Errorf("only %d messages served alongside the slow client", n)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{IdleTimeout: 200 * time.Millisecond})
	silent := dialRaw(t, addr)
	// Garbage without a start block does not count as activity.
	babbler := dialRaw(t, addr)
	go func() {
		for range 100 {
			if _, err := babbler.nc.Write([]byte("z")); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	silent.expectClosed(3 * time.Second)
	babbler.expectClosed(3 * time.Second)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	eventually(t, 2*time.Second, "IdleTimeouts == 2", func() bool { return srv.Stats().IdleTimeouts == 2 })
}

func TestServerClientDisconnectsMidFrame(t *testing.T) {
	var handled atomic.Int32
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		handled.Add(1)
		return echo(ctx, ci, msg)
	})
	srv, addr := startServer(t, h, mllp.ServerOptions{})
	for _, rst := range []bool{false, true} {
		c := dialRaw(t, addr)
		c.write("\x0bMSH|^~\\&|cut here")
		if rst {
			c.nc.(*net.TCPConn).SetLinger(0)
		}
		c.nc.Close()
	}
	eventually(t, 5*time.Second, "IncompleteFrames == 2", func() bool { return srv.Stats().IncompleteFrames == 2 })
	eventually(t, 5*time.Second, "no active connections", func() bool { return srv.Stats().ConnsActive == 0 })
	if handled.Load() != 0 {
		t.Error("a partial frame reached the handler")
	}
	c := newClient(t, addr, mllp.ClientOptions{})
	if got := send(t, c, "MSH|ok"); got != "ACK:MSH|ok" {
		t.Fatalf("ack = %q", got)
	}
}

// nakHandler answers oversize frames with a NAK naming how much of the frame
// it was given.
func nakOnFrameError(_ context.Context, _ mllp.ConnInfo, err error) []byte {
	var tl *mllp.FrameTooLargeError
	if !errors.As(err, &tl) {
		return []byte("NAK:unexpected error")
	}
	field, _, _ := bytes.Cut(tl.Prefix, []byte("|"))
	return fmt.Appendf(nil, "NAK:%s:%d:%d", field, len(tl.Prefix), tl.Size)
}

// A 100 MB frame is skipped in bounded memory, answered through OnFrameError,
// and neither its connection nor others suffer.
func TestServerHugeFrameBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 MB")
	}
	for _, limit := range []int{mllp.DefaultMaxFrameSize, 1 << 20} {
		t.Run(fmt.Sprintf("limit=%dMiB", limit>>20), func(t *testing.T) {
			testHugeFrame(t, limit)
		})
	}
}

func testHugeFrame(t *testing.T, limit int) {
	const size = 100 << 20
	srv, addr := startServer(t, echo, mllp.ServerOptions{MaxFrameSize: limit, OnFrameError: nakOnFrameError})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the heap while the frame streams in
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()

	big := dialRaw(t, addr)
	other := newClient(t, addr, mllp.ClientOptions{})
	writeErr := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		copy(chunk, "MSH|^~\\&|BIGSENDER|")
		big.nc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		_, err := big.nc.Write([]byte{0x0b})
		for sent := 0; err == nil && sent < size; sent += len(chunk) {
			_, err = big.nc.Write(chunk)
			copy(chunk, bytes.Repeat([]byte("A"), 32)) // only the first chunk has an MSH
		}
		if err == nil {
			_, err = big.nc.Write([]byte("\x1c\r"))
		}
		writeErr <- err
	}()
	// Meanwhile, another connection is served.
	for i := range 5 {
		if got := send(t, other, fmt.Sprint("MSH|", i)); got != fmt.Sprint("ACK:MSH|", i) {
			t.Fatalf("ack = %q", got)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("writing the big frame: %v", err)
	}
	nak := big.readFrame(30 * time.Second)
	close(stop)
	<-sampled
	want := fmt.Sprintf("NAK:MSH:%d:%d", mllp.DefaultErrorPrefixSize, size)
	if nak != want {
		t.Errorf("reply = %q, want %q", nak, want)
	}
	// The same connection still works.
	big.write(frame("MSH|after"))
	if got := big.readFrame(5 * time.Second); got != "ACK:MSH|after" {
		t.Errorf("ack after oversize frame = %q", got)
	}
	// The reader's buffer grows (by doubling) up to the limit, and the GC
	// may not have reclaimed the smaller ones yet: about 3x the limit at
	// worst, whatever the size of the frame.
	growth := int64(peak.Load()) - int64(base)
	t.Logf("heap in use grew by %.1f MiB for a %d MiB frame (limit %d MiB)", float64(growth)/(1<<20), size>>20, limit>>20)
	if bound := int64(3*limit + 8<<20); growth > bound {
		t.Errorf("heap in use grew by %d MiB, more than %d MiB", growth>>20, bound>>20)
	}
	// Replies are counted just after they are written: wait for the last.
	eventually(t, 5*time.Second, "7 replies counted", func() bool { return srv.Stats().Replies == 7 })
	if st := srv.Stats(); st.OversizeFrames != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// Without OnFrameError the server cannot answer an oversize frame, and closes
// the connection so the sender learns of the failure at once.
func TestServerOversizeWithoutHookCloses(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{MaxFrameSize: 1024})
	c := dialRaw(t, addr)
	c.write(frame(strings.Repeat("x", 2000)))
	c.expectClosed(5 * time.Second)
	if st := srv.Stats(); st.OversizeFrames != 1 || st.Frames != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// Many connections opened and dropped (some mid-frame, some with a reset)
// leave the server up, and its goroutines return to where they were.
func TestServerManyConnections(t *testing.T) {
	const total, parallel = 10000, 32
	// Thousands of connection events are too many to log even under -v.
	srv, addr := startServer(t, echo, mllp.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	baseline := runtime.NumGoroutine()

	var wg sync.WaitGroup
	var dialErrs atomic.Int32
	next := make(chan int)
	for range parallel {
		wg.Go(func() {
			for i := range next {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				switch i % 3 {
				case 0:
					nc.(*net.TCPConn).SetLinger(0) // reset instead of FIN
				case 1:
					nc.Write([]byte("\x0bMSH|partial"))
					nc.(*net.TCPConn).SetLinger(0)
				}
				nc.Close()
			}
		})
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	if n := dialErrs.Load(); n > 0 {
		t.Errorf("%d dials failed", n)
	}
	eventually(t, 10*time.Second, "every connection accepted", func() bool {
		st := srv.Stats()
		return st.ConnsAccepted+st.ConnsRejected >= total
	})

	c := newClient(t, addr, mllp.ClientOptions{})
	if got := send(t, c, "MSH|still here"); got != "ACK:MSH|still here" {
		t.Fatalf("ack = %q", got)
	}
	c.Close()
	eventually(t, 10*time.Second, "every connection closed", func() bool { return srv.Stats().ConnsActive == 0 })
	var n int
	eventually(t, 10*time.Second, "goroutines back to baseline", func() bool {
		n = runtime.NumGoroutine()
		return n <= baseline
	})
	t.Logf("goroutines: baseline %d, now %d; stats %+v", baseline, n, srv.Stats())
}

func TestServerMaxConns(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{MaxConns: 2})
	a := newClient(t, addr, mllp.ClientOptions{})
	b := newClient(t, addr, mllp.ClientOptions{})
	send(t, a, "a")
	send(t, b, "b") // both now hold a connection

	extra := dialRaw(t, addr)
	extra.expectClosed(5 * time.Second)
	if st := srv.Stats(); st.ConnsRejected != 1 || st.ConnsActive != 2 {
		t.Errorf("stats = %+v", st)
	}
	a.Close()
	eventually(t, 5*time.Second, "a's connection released", func() bool { return srv.Stats().ConnsActive == 1 })
	c := newClient(t, addr, mllp.ClientOptions{})
	if got := send(t, c, "c"); got != "ACK:c" {
		t.Fatalf("ack = %q", got)
	}
}

func TestServerHandlerPanic(t *testing.T) {
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if string(msg) == "boom" {
			panic("handler bug")
		}
		return echo(ctx, ci, msg)
	})
	srv, addr := startServer(t, h, mllp.ServerOptions{})
	c := dialRaw(t, addr)
	c.write(frame("boom"))
	c.expectClosed(5 * time.Second)
	if n := srv.Stats().HandlerPanics; n != 1 {
		t.Errorf("HandlerPanics = %d", n)
	}
	cl := newClient(t, addr, mllp.ClientOptions{})
	if got := send(t, cl, "fine"); got != "ACK:fine" {
		t.Fatalf("ack = %q", got)
	}
}

// Shutdown lets an in-flight slow handler finish and its ACK reach the
// client, closes idle connections at once, and refuses new ones.
func TestServerShutdownGraceful(t *testing.T) {
	started := make(chan struct{})
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if string(msg) == "slow" {
			close(started)
			time.Sleep(400 * time.Millisecond)
		}
		return echo(ctx, ci, msg)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := mllp.NewServer(h, mllp.ServerOptions{Logger: testLogger(t)})
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	idle := dialRaw(t, addr)
	idle.write(frame("hello"))
	idle.readFrame(5 * time.Second)
	// A connection that has started a frame is not idle: it may finish.
	partial := dialRaw(t, addr)
	partial.write("\x0bMSH|first half")
	eventually(t, 5*time.Second, "partial frame received", func() bool { return srv.Stats().ConnsActive == 2 })
	time.Sleep(50 * time.Millisecond)

	busy := newClient(t, addr, mllp.ClientOptions{})
	ackc := make(chan string, 1)
	go func() {
		ack, err := busy.Send(context.Background(), []byte("slow"))
		if err != nil {
			ackc <- "error: " + err.Error()
			return
		}
		ackc <- string(ack)
	}()
	<-started

	shutdownStart := time.Now()
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- srv.Shutdown(ctx)
	}()
	if err := <-serveErr; !errors.Is(err, mllp.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	idle.expectClosed(200 * time.Millisecond)
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Error("new connection accepted during shutdown")
	}
	partial.write(" and the rest\x1c\r")
	if got := partial.readFrame(5 * time.Second); got != "ACK:MSH|first half and the rest" {
		t.Errorf("partial frame answered with %q", got)
	}
	if got := <-ackc; got != "ACK:slow" {
		t.Errorf("in-flight message answered with %q", got)
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if d := time.Since(shutdownStart); d < 300*time.Millisecond {
		t.Errorf("Shutdown returned after %v, before the handler finished", d)
	}
	partial.expectClosed(time.Second)
	if st := srv.Stats(); st.ConnsActive != 0 {
		t.Errorf("ConnsActive = %d after Shutdown", st.ConnsActive)
	}
}

// When Shutdown's context expires, remaining connections are closed and
// handlers see their context cancelled.
func TestServerShutdownForced(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan struct{})
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return []byte("too late")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mllp.NewServer(h, mllp.ServerOptions{Logger: testLogger(t)})
	go srv.Serve(ln)
	c := dialRaw(t, ln.Addr().String())
	c.write(frame("stuck"))
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler context not cancelled")
	}
	c.expectClosed(5 * time.Second)
}

func TestServerCloseAndReuse(t *testing.T) {
	srv := mllp.NewServer(echo, mllp.ServerOptions{})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, mllp.ErrServerClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
	if err := srv.ListenAndServe("127.0.0.1:0"); !errors.Is(err, mllp.ErrServerClosed) {
		t.Errorf("ListenAndServe after Close = %v", err)
	}
}

func TestServerListenAndServe(t *testing.T) {
	srv := mllp.NewServer(echo, mllp.ServerOptions{})
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe("127.0.0.1:0") }()
	eventually(t, 5*time.Second, "listening", func() bool { return srv.Addr() != nil })
	c := newClient(t, srv.Addr().String(), mllp.ClientOptions{})
	if got := send(t, c, "x"); got != "ACK:x" {
		t.Fatalf("ack = %q", got)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, mllp.ErrServerClosed) {
		t.Errorf("ListenAndServe = %v", err)
	}
	if err := mllp.NewServer(echo, mllp.ServerOptions{}).ListenAndServe("256.0.0.1:bad"); err == nil || errors.Is(err, mllp.ErrServerClosed) {
		t.Errorf("ListenAndServe on a bad address = %v", err)
	}
}
