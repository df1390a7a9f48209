package mllp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

// echo answers every message with "ACK:" + message.
var echo = mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
	return append([]byte("ACK:"), msg...)
})

// testLogger logs to the test when -v is given, so failures can be read
// with context; it is silent otherwise.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startServer serves on a fresh loopback port until the test ends.
func startServer(t testing.TB, h mllp.Handler, opts mllp.ServerOptions) (*mllp.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, h, opts), ln.Addr().String()
}

func serveOn(t testing.TB, ln net.Listener, h mllp.Handler, opts mllp.ServerOptions) *mllp.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	srv := mllp.NewServer(h, opts)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; !errors.Is(err, mllp.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv
}

func newClient(t testing.TB, addr string, opts mllp.ClientOptions) *mllp.Client {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	c := mllp.NewClient(addr, opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a hand-driven peer, for sending what no well-behaved client
// would.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	rd *mllp.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, rd: mllp.NewReader(nc, mllp.ReaderOptions{})}
}

func (c *rawConn) write(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one frame, failing the test after d.
func (c *rawConn) readFrame(d time.Duration) string {
	c.t.Helper()
	f, err := c.tryReadFrame(d)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (c *rawConn) tryReadFrame(d time.Duration) (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	f, err := c.rd.ReadFrame()
	return string(f), err
}

// expectClosed asserts that the server closes the connection within d.
func (c *rawConn) expectClosed(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.nc.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.t.Fatalf("connection still open after %v", d)
		}
		return // EOF or reset: closed
	}
}

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func send(t testing.TB, c *mllp.Client, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Send(ctx, []byte(msg))
	if err != nil {
		t.Fatalf("Send(%q): %v", msg, err)
	}
	return string(ack)
}
