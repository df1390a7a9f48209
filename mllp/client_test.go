package mllp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

// After a timeout the connection is dropped: the late reply to the first
// message must never be returned for the second.
func TestClientTimeoutDiscardsConnection(t *testing.T) {
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if string(msg) == "slow" {
			time.Sleep(300 * time.Millisecond)
		}
		return echo(ctx, ci, msg)
	})
	srv, addr := startServer(t, h, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Send(ctx, []byte("slow"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
	if got := send(t, c, "fast"); got != "ACK:fast" {
		t.Fatalf("second message got %q", got)
	}
	if n := srv.Stats().ConnsAccepted; n != 2 {
		t.Errorf("ConnsAccepted = %d, want 2 (the timed-out connection is not reused)", n)
	}
}

// The client's own Timeout applies when ctx has no deadline.
func TestClientDefaultTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	})
	_, addr := startServer(t, h, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{Timeout: 100 * time.Millisecond})
	if _, err := c.Send(context.Background(), []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want DeadlineExceeded", err)
	}
}

func TestClientCancel(t *testing.T) {
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	_, addr := startServer(t, h, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.Send(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want Canceled", err)
	}
}

func TestClientReconnectAfterServerRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv1 := mllp.NewServer(echo, mllp.ServerOptions{})
	go srv1.Serve(ln)
	c := newClient(t, addr, mllp.ClientOptions{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if got := send(t, c, "one"); got != "ACK:one" {
		t.Fatalf("ack = %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// While the server is down, Send fails once its time is up.
	short, cancelShort := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancelShort()
	if _, err := c.Send(short, []byte("lost")); err == nil {
		t.Fatal("Send succeeded with the server down")
	}

	// The server comes back on the same port a little later; a Send that is
	// already waiting gets through.
	restarted := make(chan *mllp.Server, 1)
	time.AfterFunc(200*time.Millisecond, func() {
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("relisten: %v", err)
			restarted <- nil
			return
		}
		restarted <- serveOn(t, ln2, echo, mllp.ServerOptions{})
	})
	if got := send(t, c, "two"); got != "ACK:two" {
		t.Fatalf("ack = %q", got)
	}
	if srv2 := <-restarted; srv2 != nil && srv2.Stats().Frames != 1 {
		t.Errorf("restarted server saw %d frames", srv2.Stats().Frames)
	}
}

// A server that closed an idle connection (its idle timeout) does not make
// the next Send fail: the client notices and resends on a new connection.
func TestClientStaleConnection(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{IdleTimeout: 50 * time.Millisecond})
	c := newClient(t, addr, mllp.ClientOptions{})
	send(t, c, "first")
	eventually(t, 5*time.Second, "idle connection closed", func() bool { return srv.Stats().IdleTimeouts == 1 })
	if got := send(t, c, "second"); got != "ACK:second" {
		t.Fatalf("ack = %q", got)
	}
}

func TestClientBackoffBounded(t *testing.T) {
	var attempts atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		attempts.Add(1)
		return nil, errors.New("refused")
	}
	c := newClient(t, "127.0.0.1:1", mllp.ClientOptions{Dial: dial, BackoffMin: 20 * time.Millisecond, BackoffMax: 80 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Send(ctx, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Send = %v, want the dial error", err)
	}
	// Waits double from 20 ms (with jitter down to half) up to 80 ms: in
	// 500 ms that is between 6 and 20 attempts; no backoff would be
	// thousands.
	if n := attempts.Load(); n < 4 || n > 25 {
		t.Errorf("%d dial attempts in %v", n, time.Since(start))
	}
}

// Concurrent Sends share MaxConns connections and each gets its own reply.
func TestClientConcurrent(t *testing.T) {
	srv, addr := startServer(t, echo, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{MaxConns: 4})
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := range 25 {
				msg := fmt.Sprintf("MSH|%d-%d", g, i)
				ack, err := c.Send(context.Background(), []byte(msg))
				if err != nil || string(ack) != "ACK:"+msg {
					t.Errorf("Send(%s) = %q, %v", msg, ack, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := srv.Stats(); st.ConnsAccepted > 4 || st.Frames != 500 {
		t.Errorf("stats = %+v", st)
	}
}

func TestClientClose(t *testing.T) {
	release := make(chan struct{})
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte {
		if string(msg) == "hold" {
			<-release
		}
		return echo(ctx, ci, msg)
	})
	_, addr := startServer(t, h, mllp.ServerOptions{})
	defer close(release)
	c := newClient(t, addr, mllp.ClientOptions{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(context.Background(), []byte("hold"))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, mllp.ErrClientClosed) {
			t.Errorf("in-flight Send = %v, want ErrClientClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not interrupt the Send in flight")
	}
	if _, err := c.Send(context.Background(), []byte("x")); !errors.Is(err, mllp.ErrClientClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestClientRejectsEndBlockInMessage(t *testing.T) {
	c := newClient(t, "127.0.0.1:1", mllp.ClientOptions{})
	if _, err := c.Send(context.Background(), []byte("a\x1cb")); !errors.Is(err, mllp.ErrInvalidMessage) {
		t.Errorf("Send = %v, want ErrInvalidMessage", err)
	}
}

// A server that closes without replying produces an error, not a hang or an
// empty ACK.
func TestClientServerClosesWithoutReply(t *testing.T) {
	h := mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, msg []byte) []byte { panic("no reply") })
	_, addr := startServer(t, h, mllp.ServerOptions{})
	c := newClient(t, addr, mllp.ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ack, err := c.Send(ctx, []byte("x")); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %q, %v; want a connection error", ack, err)
	}
}
