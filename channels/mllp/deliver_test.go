package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	mllpc "github.com/plexus-hl7/plexus/mllp"
)

func TestDeliverClassifiesTheACK(t *testing.T) {
	p := startPeer(t, byControlID, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = p.addr; c.MaxConns = 4 })

	tests := []struct {
		controlID string
		ok        bool
		permanent bool
		nak       string // AckError.Code
		is        error
	}{
		{controlID: "AA-1", ok: true},
		{controlID: "CA-1", ok: true},
		{controlID: "LOWER-1", ok: true}, // "aa", LF terminators, v2.3
		{controlID: "AE-1", nak: "AE"},
		{controlID: "CE-1", nak: "CE"},
		{controlID: "AR-1", nak: "AR", permanent: true},
		{controlID: "CR-1", nak: "CR", permanent: true},
		{controlID: "GARBAGE-1", is: ErrNotAck},
		{controlID: "NOMSA-1", is: ErrNotAck},
		{controlID: "XX-1", is: ErrNotAck}, // unknown MSA-1
		{controlID: "MISMATCH-1", is: ErrAckMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.controlID, func(t *testing.T) {
			t.Parallel()
			err := deliver(t, d, message(tt.controlID))
			if tt.ok {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if got := channels.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if tt.nak != "" {
				var nak *AckError
				if !errors.As(err, &nak) || nak.Code != tt.nak || nak.Text != "it says "+tt.nak {
					t.Errorf("error %v, want an AckError %s with the peer's text", err, tt.nak)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			if tt.permanent {
				if got, want := channels.Detail(err), p.reply(tt.controlID); len(want) == 0 || !bytes.Equal(got, want) {
					t.Errorf("Detail = %q, want the ACK %q", got, want)
				}
			}
		})
	}
}

func TestDeliverRejectsNonV2Bodies(t *testing.T) {
	// No peer: a permanent error must come before any network use.
	d := open(t, "", func(c *Config) { c.Addr = "127.0.0.1:1" })
	m := message("AA-1")
	m.ContentType, m.Body = channels.ContentFHIR, []byte(`{"resourceType":"Bundle"}`)
	err := deliver(t, d, m)
	if !channels.IsPermanent(err) {
		t.Fatalf("FHIR body: %v, want a permanent error", err)
	}
	t.Log(err)

	m = message("AA-2")
	m.Body = append(m.Body, 0x1c) // the frame's end byte
	if err := deliver(t, d, m); !channels.IsPermanent(err) || !errors.Is(err, mllpc.ErrInvalidMessage) {
		t.Fatalf("body with 0x1c: %v, want a permanent ErrInvalidMessage", err)
	}
}

// A peer that does not answer in time: the attempt fails (retryable), and the
// late ACK is never taken for the next message's.
func TestDeliverSlowPeer(t *testing.T) {
	release := make(chan struct{})
	p := startPeer(t, func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte {
		if bytes.Contains(msg, []byte("|SLOW-1|")) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return []byte("MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.5.1\rMSA|AA|NEXT-1\r")
		}
		return byControlID(ctx, ci, msg)
	}, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = p.addr; c.AckTimeout = 100 * time.Millisecond })

	err := deliver(t, d, message("SLOW-1"))
	if err == nil || channels.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow peer: %v, want a retryable deadline error", err)
	}
	close(release) // the late ACK goes to a connection the client dropped
	if err := deliver(t, d, message("AA-1")); err != nil {
		t.Fatalf("after the slow one: %v", err)
	}
}

func TestDeliverHonoursContext(t *testing.T) {
	got := make(chan struct{}, 1)
	p := startPeer(t, func(ctx context.Context, _ mllpc.ConnInfo, _ []byte) []byte {
		got <- struct{}{}
		<-ctx.Done() // never answers; the server's Close ends it
		return nil
	}, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = p.addr }) // ack_timeout 30s: only ctx can end it

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, message("AA-1")) }()
	<-got

	// A second delivery waits for the only connection; its own ctx ends the
	// wait.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := d.Deliver(ctx2, message("AA-2")); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a connection: %v, want context.Canceled", err)
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
			t.Fatalf("cancelled: %v, want a retryable context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Deliver ignored the cancellation")
	}
}

func TestDeliverReconnectsAfterPeerRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	p := &peer{addr: addr, answer: byControlID}
	p.serve(t, ln, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = addr })

	if err := deliver(t, d, message("AA-1")); err != nil {
		t.Fatalf("first: %v", err)
	}
	p.srv.Close() // the client's idle connection is now dead

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := d.Deliver(ctx, message("AA-2")); err == nil || channels.IsPermanent(err) {
		t.Fatalf("peer down: %v, want a retryable error", err)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relisten on %s: %v", addr, err)
	}
	p.serve(t, ln2, mllpc.ServerOptions{})
	if err := deliver(t, d, message("AA-3")); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestDeliverConcurrently(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	p := startPeer(t, func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte {
		mu.Lock()
		seen[string(msg)]++
		mu.Unlock()
		return byControlID(ctx, ci, msg)
	}, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = p.addr; c.MaxConns = 3 })

	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() { errs[i] = deliver(t, d, message(fmt.Sprintf("AA-%d", i))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if len(seen) != len(errs) {
		t.Errorf("peer saw %d distinct messages, want %d", len(seen), len(errs))
	}
	if n := p.srv.Stats().ConnsAccepted; n > 3 {
		t.Errorf("%d connections, want at most max_conns = 3", n)
	}
}

func TestDeliverAfterClose(t *testing.T) {
	p := startPeer(t, byControlID, mllpc.ServerOptions{})
	d := open(t, "", func(c *Config) { c.Addr = p.addr })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := deliver(t, d, message("AA-1")); !errors.Is(err, mllpc.ErrClientClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
