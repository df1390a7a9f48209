package mllp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/npmtest"
	"github.com/plexus-hl7/plexus/mllp"
)

// The interop tests run @medplum/hl7 (Node) against our Server and Client.
// The npm packages are installed from the lockfile on first run (npmtest).

const interopDir = "testdata/interop"

// requireNode skips the test when Node or the npm packages are missing, except
// in CI (CI=true), where skipping would hide that the test never ran.
func requireNode(t *testing.T) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		fail("interop: node not found in PATH; install Node.js to run the @medplum/hl7 interop tests")
	}
	if err := npmtest.Install(interopDir); err != nil {
		fail("interop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "@medplum", "hl7", "package.json")); err != nil {
		fail("interop: @medplum/hl7 not installed; run `npm ci` in mllp/%s", interopDir)
	}
	return node
}

// interopMessage is one file of testdata/interop/messages with the control
// id we read from it ourselves.
type interopMessage struct {
	name, path string
	raw        []byte
	controlID  string
}

func interopMessages(t *testing.T) []interopMessage {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(interopDir, "messages", "*.hl7"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("interop messages: %d files, %v", len(paths), err)
	}
	var out []interopMessage
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := hl7.ParseHeader(raw)
		if err != nil || h.ControlID == "" {
			t.Fatalf("%s: MSH-10 unreadable: %v", p, err)
		}
		out = append(out, interopMessage{name: filepath.Base(p), path: p, raw: raw, controlID: h.ControlID})
	}
	return out
}

// ackHandler answers like the engine will: AA for what parses, AR for what
// does not.
func ackHandler(received *sync.Map) mllp.Handler {
	return mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
		m, err := hl7.Parse(msg)
		if err != nil {
			return hl7.RejectRaw(msg, err, hl7.AckOptions{})
		}
		if h, err := hl7.ParseHeader(msg); err == nil {
			received.Store(h.ControlID, true)
		}
		return hl7.Ack(m, hl7.AA, hl7.AckOptions{})
	})
}

// nodeCmd runs a script of the interop directory, bounded by ctx and killed
// when the test ends.
func nodeCmd(ctx context.Context, t *testing.T, node, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = interopDir
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		if stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", script, stderr.String())
		}
	})
	return cmd
}

// Test 1: @medplum/hl7's Hl7Client sends to our Server.
func TestInteropMedplumClient(t *testing.T) {
	node := requireNode(t)
	msgs := interopMessages(t)
	var received sync.Map
	srv, addr := startServer(t, ackHandler(&received), mllp.ServerOptions{})
	host, port, _ := strings.Cut(addr, ":")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--host", host, "--port", port}
	for _, m := range msgs {
		args = append(args, filepath.Join("messages", m.name))
	}
	out, err := nodeCmd(ctx, t, node, "client.mjs", args...).Output()
	if err != nil {
		t.Errorf("client.mjs: %v", err)
	}

	type result struct {
		File, ControlID, Msa1, Msa2, Ack, Error string
	}
	got := map[string]result{}
	for line := range strings.Lines(string(out)) {
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("client.mjs printed %q: %v", line, err)
		}
		got[r.File] = r
	}
	for _, m := range msgs {
		r, ok := got[m.name]
		switch {
		case !ok:
			t.Errorf("%s: no result from client.mjs", m.name)
		case r.Error != "":
			t.Errorf("%s: medplum client error: %s", m.name, r.Error)
		case r.Msa1 != "AA" || r.Msa2 != m.controlID:
			t.Errorf("%s: MSA-1 %q MSA-2 %q, want AA %q (ACK %q)", m.name, r.Msa1, r.Msa2, m.controlID, r.Ack)
		}
		if _, ok := received.Load(m.controlID); !ok {
			t.Errorf("%s: control id %q never reached the handler", m.name, m.controlID)
		}
	}
	if st := srv.Stats(); st.Frames != int64(len(msgs)) || st.BytesDiscarded != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// Test 2: our Client sends to @medplum/hl7's Hl7Server.
func TestInteropMedplumServer(t *testing.T) {
	node := requireNode(t)
	msgs := interopMessages(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := nodeCmd(ctx, t, node, "server.mjs", "--port", "0")
	stdin, err := cmd.StdinPipe() // closing it stops the server
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Logf("server.mjs: %v", err)
		}
	})

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var port struct{ Port int }
	select {
	case line, ok := <-lines:
		if !ok || json.Unmarshal([]byte(line), &port) != nil || port.Port == 0 {
			t.Fatalf("server.mjs did not report its port: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server.mjs did not start listening within 20 s")
	}

	c := newClient(t, "127.0.0.1:"+strconv.Itoa(port.Port), mllp.ClientOptions{Timeout: 10 * time.Second})
	for _, m := range msgs {
		ack, err := c.Send(ctx, m.raw)
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
			continue
		}
		msa1, msa2, err := msa(ack)
		if err != nil || msa1 != "AA" || msa2 != m.controlID {
			t.Errorf("%s: MSA-1 %q MSA-2 %q (%v), want AA %q; ACK %q", m.name, msa1, msa2, err, m.controlID, ack)
		}
	}
	// Hl7Server.stop waits for open connections to end: close ours first.
	c.Close()
	stdin.Close()
	n := 0
	for line := range lines {
		if strings.Contains(line, `"received"`) {
			n++
		}
	}
	if n != len(msgs) {
		t.Errorf("server.mjs reported %d messages, want %d", n, len(msgs))
	}
}

// msa returns MSA-1 and MSA-2 of an ACK, reading as little as possible: the
// field separator from MSH, then the MSA segment, with any terminator.
func msa(ack []byte) (code, controlID string, err error) {
	if len(ack) < 4 || !bytes.HasPrefix(ack, []byte("MSH")) {
		return "", "", errors.New("ACK does not start with MSH")
	}
	sep := string(ack[3])
	comp := "^"
	if len(ack) > 4 {
		comp = string(ack[4])
	}
	for seg := range strings.FieldsFuncSeq(string(ack), func(r rune) bool { return r == '\r' || r == '\n' }) {
		f := strings.Split(seg, sep)
		if f[0] != "MSA" {
			continue
		}
		if len(f) < 3 {
			return "", "", errors.New("MSA has no MSA-2")
		}
		id, _, _ := strings.Cut(f[2], comp)
		return f[1], id, nil
	}
	return "", "", io.ErrUnexpectedEOF
}
