package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "plexus ") {
		t.Fatalf("%d %q", code, out)
	}
}

func TestParseTree(t *testing.T) {
	code, out, errs := runCmd(t, "", "parse", "testdata/adt_a01.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"ADT^A01^ADT_A01  control ID",
		"  MSH-9.2          \"A01\"",
		"  PID-3              ",
		"    PID-3.1          ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParsePathsFromStdin(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5\rPID|1||123^^^H^MR~456^^^S^SS||DOE\\S\\X^JOHN\r"
	code, out, errs := runCmd(t, msg, "parse", "-p", "PID-3[2].1", "-p", "PID-5.1", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "-\tPID-3[2].1\t456\n-\tPID-5.1\tDOE^X\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestParseReportsWhere(t *testing.T) {
	code, out, _ := runCmd(t, "MSH|^~\\&|A\rPID|1|x\x00\r", "parse", "-")
	if code != 1 || !strings.Contains(out, "PID-2 (segment 2, byte 18): NUL") {
		t.Fatalf("exit %d: %q", code, out)
	}
	if code, _, _ := runCmd(t, "", "parse", "-p", "pid-3", "-"); code != 2 {
		t.Errorf("bad path: exit %d, want 2", code)
	}
}

// ackServer answers every message with an ACK built by package hl7: AR for
// the control ID REJECTME, AA otherwise; a message with control ID SLOW is
// never answered.
func ackServer(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := mllp.NewServer(mllp.HandlerFunc(func(ctx context.Context, _ mllp.ConnInfo, raw []byte) []byte {
		n.Add(1)
		m, err := hl7.Parse(raw)
		if err != nil {
			return hl7.RejectRaw(raw, err, hl7.AckOptions{})
		}
		switch m.Header().ControlID {
		case "REJECTME":
			return hl7.Ack(m, hl7.AR, hl7.AckOptions{Text: "rejected by test"})
		case "SLOW":
			<-ctx.Done()
			return nil
		}
		return hl7.Ack(m, hl7.AA, hl7.AckOptions{})
	}), mllp.ServerOptions{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), &n
}

func TestSendPrintsAcks(t *testing.T) {
	addr, n := ackServer(t)
	code, out, errs := runCmd(t, "", "send", "--to", addr, "testdata/adt_a01.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(out, "testdata/adt_a01.hl7: AA (MSA-2 ") || !strings.Contains(out, "  MSA|AA|") {
		t.Errorf("output:\n%s", out)
	}
	code, out, _ = runCmd(t, "", "send", "-q", "--to", addr, "testdata/two.hl7")
	if code != 1 {
		t.Errorf("a rejected message: exit %d, want 1", code)
	}
	for _, want := range []string{"two.hl7#1: AA (MSA-2 \"B1\")", "two.hl7#2: AR (MSA-2 \"REJECTME\")", "rejected by test"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := n.Load(); got != 3 {
		t.Errorf("server saw %d messages, want 3", got)
	}
}

func TestSendTimeout(t *testing.T) {
	addr, _ := ackServer(t)
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|SLOW|P|2.5\rPID|1\r"
	start := time.Now()
	code, out, _ := runCmd(t, msg, "send", "--timeout", "300ms", "--to", addr, "-")
	if code != 1 || !strings.Contains(out, "no ACK") {
		t.Fatalf("exit %d: %q", code, out)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("timeout not honoured")
	}
}

func TestSendNobodyListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, out, _ := runCmd(t, "", "send", "--timeout", "500ms", "--to", addr, "testdata/adt_a01.hl7")
	if code != 1 || !strings.Contains(out, "no ACK") {
		t.Fatalf("exit %d: %q", code, out)
	}
}

func TestValidateRules(t *testing.T) {
	code, out, _ := runCmd(t, "", "validate", "testdata/rules.yaml", "testdata/broken.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"testdata/rules.yaml: ok",
		"testdata/broken.yaml:6:7: Patient has no element 'birthdate' (did you mean 'birthDate'?)",
		"testdata/broken.yaml:7:15: unknown name nosuch",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConvert(t *testing.T) {
	code, out, errs := runCmd(t, "", "convert", "--map", "testdata/rules.yaml", "testdata/adt_a01.hl7", "testdata/two.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d bundles, want 3:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"resourceType":"Bundle"`) {
			t.Errorf("not a bundle: %s", l)
		}
	}
	if !strings.Contains(errs, "3 converted, 0 failed") {
		t.Errorf("summary: %s", errs)
	}
	dir := t.TempDir()
	code, _, errs = runCmd(t, "", "convert", "--map", "testdata/rules.yaml", "--out", dir, "testdata/two.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, f := range []string{"two-1.json", "two-2.json"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	code, _, errs = runCmd(t, "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1||1||X||19701301\r", "convert", "--map", "testdata/rules.yaml", "-")
	if code != 1 || !strings.Contains(errs, "Patient.birthDate from PID-7") || !strings.Contains(errs, "0 converted, 1 failed") {
		t.Errorf("bad date: exit %d: %s", code, errs)
	}
}

func TestConvertBuiltinMap(t *testing.T) {
	code, out, errs := runCmd(t, "", "convert", "--map", "adt_a01", "testdata/adt_a01.hl7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`"resourceType":"Patient"`, `"resourceType":"Encounter"`, `"resourceType":"MessageHeader"`} {
		if !strings.Contains(out, want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if code, out, _ := runCmd(t, "", "validate", "adt_a01", "no_such_map"); code != 1 || !strings.Contains(out, "adt_a01: ok") || !strings.Contains(out, `no built-in map "no_such_map"`) {
		t.Errorf("validate builtins: exit %d\n%s", code, out)
	}
}

func TestConvertChoosesBuiltinMap(t *testing.T) {
	unmapped := "MSH|^~\\&|A|B|C|D|20240101||ADT^A45^ADT_A45|R1|P|2.5.1\rPID|1||1\r"
	code, out, errs := runCmd(t, unmapped, "convert", "testdata/adt_a01.hl7", "-")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, `"resourceType":"Patient"`) || !strings.Contains(errs, "-: no built-in map for ADT^A45 (structure ADT_A45)") || !strings.Contains(errs, "1 converted, 1 failed") {
		t.Errorf("out %s\nerrs %s", out, errs)
	}
	// An ACK is no failure: there is nothing to convert.
	ack := "MSH|^~\\&|A|B|C|D|20240101||ACK^A01^ACK|R2|P|2.5.1\rMSA|AA|M1\r"
	code, out, errs = runCmd(t, ack, "convert", "-")
	if code != 0 || out != "" || !strings.Contains(errs, "-: ACK^A01: an acknowledgment carries no FHIR resources") || !strings.Contains(errs, "0 converted, 1 not converted (no resources), 0 failed") {
		t.Errorf("ACK: exit %d\nout %s\nerrs %s", code, out, errs)
	}
}
