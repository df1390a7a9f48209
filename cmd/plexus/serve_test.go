//go:build unix

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// serve with a routes file forwarding to an MLLP peer that refuses, then
// accepts; plexus replay gets the dead letter through.
func TestServeAndReplay(t *testing.T) {
	var accept atomic.Bool
	var got atomic.Int64
	peer := mllp.NewServer(mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
		m, err := hl7.Parse(msg)
		if err != nil {
			return nil
		}
		if !accept.Load() {
			return hl7.Ack(m, hl7.AR, hl7.AckOptions{Text: "not today"})
		}
		got.Add(1)
		return hl7.Ack(m, hl7.AA, hl7.AckOptions{})
	}), mllp.ServerOptions{})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go peer.Serve(pl)
	defer peer.Close()

	dir := t.TempDir()
	routes := `listeners: [{ name: in, mllp: { addr: "127.0.0.1:0" } }]
destinations:
  peer: { mllp: { addr: "` + pl.Addr().String() + `" } }
routes: [{ name: fwd, transform: raw, to: peer }]
`
	os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(routes), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *engine.Engine, 1)
	var adminAddr string
	done := make(chan error, 1)
	logs := &lockedWriter{w: &bytes.Buffer{}}
	go func() {
		done <- serve(ctx, &settings{Config: filepath.Join(dir, "routes.yaml"), DataDir: filepath.Join(dir, "data"),
			Admin: "127.0.0.1:0", LogLevel: "info", LogFormat: "json", ShutdownTimeout: 5 * time.Second}, logs,
			func(e *engine.Engine, a net.Addr) { adminAddr = a.String(); started <- e })
	}()
	var e *engine.Engine
	select {
	case e = <-started:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	c := mllp.NewClient(e.Addr("in").String(), mllp.ClientOptions{})
	defer c.Close()
	reply, err := c.Send(context.Background(), []byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|R1|P|2.5\rPID|1||9^^^H\r"))
	if err != nil || !strings.Contains(string(reply), "MSA|AA|R1") {
		t.Fatalf("ACK %q %v", reply, err)
	}
	// wait for the dead letter
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out bytes.Buffer
		run(context.Background(), []string{"replay", "--admin", adminAddr, "--destination", "peer"}, nil, &out, &out)
		if strings.Contains(out.String(), "1 deliveries requeued") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter to replay: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// the first replay happened while the peer still refused: accept and
	// replay again
	accept.Store(true)
	deadline = time.Now().Add(5 * time.Second)
	for got.Load() == 0 {
		var out bytes.Buffer
		run(context.Background(), []string{"replay", "--admin", adminAddr, "--destination", "peer"}, nil, &out, &out)
		if time.Now().After(deadline) {
			t.Fatalf("never delivered after replay: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// SIGHUP reloads the routes file
	os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(strings.Replace(routes, "name: fwd", "name: forward", 1)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "routes reloaded"); {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--admin", adminAddr, "--destination", "nope"}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "no such destination") {
		t.Errorf("replay to an unknown destination: %d %s", code, errOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "9^^^H") {
		t.Errorf("patient identifier in the log")
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte("listeners: [{ name: in, mllp: { adr: x } }]\nroutes: []\n"), 0o644)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"serve", "-c", filepath.Join(dir, "routes.yaml"), "--data-dir", filepath.Join(dir, "d"), "--admin", ""}, nil, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), `routes.yaml:1:33: unknown key "adr" in listener.mllp (did you mean addr?)`) {
		t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
	}
}

// lockedWriter serialises writes from the engine's goroutines and reads
// from the test.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
