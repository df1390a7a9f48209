package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/loadgen"
	"github.com/plexus-hl7/plexus/mllp"
)

func TestBenchNoop(t *testing.T) {
	code, out, errs := runCmd(t, "", "bench", "--noop", "127.0.0.1:0", "-c", "2", "--count", "200")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{
		"2 connections, closed loop, 1 input message\n",
		"sent 200, acked 200, nacked 0, errors 0\n",
		"| conns | offered msgs/s | msgs/s |",
		"\n| 2 | max | ",
		" | 200 | 200 | 0 | 0 |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errs != "" {
		t.Errorf("stderr is not a terminal, yet: %q", errs)
	}
}

func TestBenchFilesJSON(t *testing.T) {
	addr, n := ackServer(t)
	code, out, errs := runCmd(t, "", "bench", "--to", addr, "-c", "3", "--count", "50", "--patients", "4", "--json",
		"testdata/adt_a01.hl7", "testdata/two.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// two.hl7's REJECTME is not sent as such: every message gets a control
	// id of its own.
	if rep.Messages != 3 || rep.Sent != 50 || rep.Acked != 50 || rep.Latency.Count != 50 || rep.Conns != 3 {
		t.Errorf("report: %+v", rep)
	}
	if got := n.Load(); got != 50 {
		t.Errorf("server saw %d messages", got)
	}
}

func TestBenchNAKsFail(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mllp.NewServer(mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, raw []byte) []byte {
		m, err := hl7.Parse(raw)
		if err != nil {
			return nil
		}
		return hl7.Ack(m, hl7.AE, hl7.AckOptions{Text: "no"})
	}), mllp.ServerOptions{})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	code, out, errs := runCmd(t, "", "bench", "--to", l.Addr().String(), "--count", "20")
	if code != 1 || !strings.Contains(out, "sent 20, acked 0, nacked 20 (AE 20), errors 0") ||
		!strings.Contains(errs, "20 of 20 messages not acknowledged") {
		t.Errorf("exit %d:\n%s\n%s", code, out, errs)
	}
}

func TestBenchUsage(t *testing.T) {
	if code, _, errs := runCmd(t, "", "bench"); code != 2 || !strings.Contains(errs, "give --to") {
		t.Errorf("no receiver: exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd(t, "", "bench", "--to", "h:1", "--noop", ":0"); code != 2 || !strings.Contains(errs, "exclude") {
		t.Errorf("two receivers: exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd(t, "", "bench", "--noop", "127.0.0.1:0", "--count", "1", "nosuchfile.hl7"); code != 1 ||
		!strings.Contains(errs, "1 inputs could not be read") {
		t.Errorf("missing file: exit %d: %s", code, errs)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if code, out, errs := runCmd(t, "", "bench", "--to", addr, "--count", "1"); code != 1 || out != "" ||
		!strings.Contains(errs, "connection refused") {
		t.Errorf("nobody listening: exit %d: %q %s", code, out, errs)
	}
}
