package mllp

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/npmtest"
)

// interopDir holds the @medplum/hl7 scripts and sample messages of the mllp
// package's own interop test; this test reuses its server.mjs (medplum's
// Hl7Server answering message.buildAck()) rather than keep a second copy of
// the scripts and the lockfile.
const interopDir = "../../mllp/testdata/interop"

// TestInteropMedplumServer forwards the sample messages to @medplum/hl7's
// Hl7Server and expects each to be delivered on medplum's ACK. It skips
// without node (fails under CI=true, like the mllp package's test).
func TestInteropMedplumServer(t *testing.T) {
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("interop: node not found in PATH")
	}
	if err := npmtest.Install(interopDir); err != nil {
		skip("interop: %v", err)
	}
	paths, err := filepath.Glob(filepath.Join(interopDir, "messages", "*.hl7"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("interop messages: %v, %v", paths, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "server.mjs", "--port", "0")
	cmd.Dir = interopDir
	cmd.WaitDelay = 2 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
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
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("server.mjs stderr:\n%s", stderr.String())
		}
	}()
	var port struct{ Port int }
	if line, ok := <-lines; !ok || json.Unmarshal([]byte(line), &port) != nil || port.Port == 0 {
		t.Fatalf("server.mjs did not report its port: %q", line)
	}

	d := open(t, "", func(c *Config) { c.Addr = "127.0.0.1:" + strconv.Itoa(port.Port); c.AckTimeout = 10 * time.Second })
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := hl7.ParseHeader(raw)
		m := &channels.Message{Seq: 1, ControlID: h.ControlID, ContentType: channels.ContentHL7v2, Body: raw}
		if err := d.Deliver(ctx, m); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
	// Hl7Server.stop waits for open connections: close ours first.
	d.Close()
	stdin.Close()
	n := 0
	for line := range lines {
		if strings.Contains(line, `"received"`) {
			n++
		}
	}
	if n != len(paths) {
		t.Errorf("medplum received %d messages, want %d", n, len(paths))
	}
}
