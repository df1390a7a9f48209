//go:build unix

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/engine/store"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// TestCrash is the end-to-end crash test of DESIGN.md's promise: "a crash
// at any point loses no acknowledged message; a restart resumes from the
// journal", and messages about one patient are delivered in the order they
// were received.
//
// A real `plexus serve` (this test binary, re-executed as TestCrashServe)
// takes ADT messages over MLLP from several connections and writes each
// Bundle to two file destinations; it is killed with SIGKILL at a random
// moment while senders are mid-flight, restarted on the same data
// directory, killed again, and so on; at last it is restarted, given a few
// more messages, allowed to drain and stopped with SIGTERM. Then:
//
//   - every control id that got AA reached both destinations (at least once);
//   - per patient, the journal sequence numbers (which the file names carry)
//     follow the order the messages were acknowledged in;
//   - per patient, the order the messages were actually delivered in (the
//     line order of the ndjson destination, which appends as it delivers)
//     follows the journal: within one process lifetime strictly increasing,
//     and across lifetimes every message first delivered after all earlier
//     ones. Redeliveries after a crash (at-least-once) are counted, not
//     failed.
//
// Like engine/store/storebench's crash test, SIGKILL loses what the process
// had not handed to the kernel, not the page cache: this checks the commit
// protocol, recovery and the pipeline's ordering, not a power cut.
//
// PLEXUS_CRASH_ROUNDS sets the number of kills (default 3);
// PLEXUS_CRASH_SEED makes the kill times and message mix repeatable.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills plexus serve several times")
	}
	rounds := 3
	if v := os.Getenv("PLEXUS_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PLEXUS_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PLEXUS_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PLEXUS_CRASH_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("%d rounds, PLEXUS_CRASH_SEED=%d", rounds, seed)

	h := newCrashHarness(t, seed)
	h.checkConverts()
	for round := range rounds {
		h.crashRound(round)
	}
	h.finalRound(rounds)
	h.check()
}

// TestCrashServe is the child side of TestCrash: `plexus serve` with the
// arguments after --, until SIGKILL or SIGTERM. Re-executing the test binary
// rather than building the command keeps the test self-contained (no go
// toolchain needed at run time) while still running the server as a separate
// process that can really be killed; under -race the server runs with the
// race detector too.
func TestCrashServe(t *testing.T) {
	if os.Getenv(crashChildEnv) == "" {
		t.Skip("child process of TestCrash only")
	}
	// The parent holds the other end of stdin and never writes to it: EOF
	// means it is gone (a test timeout, a panic) and nobody will kill this
	// process, which would otherwise hold the port for ever.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	// As main does: SIGTERM ends serve gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if code := run(ctx, flag.Args(), os.Stdin, os.Stdout, os.Stderr); code != 0 {
		os.Exit(code) // the parent reads serve's own exit status
	}
}

const crashChildEnv = "PLEXUS_CRASH_CHILD"

const (
	crashConns    = 6 // sender connections
	crashPerConn  = 3 // patients each connection owns
	crashFinalMsg = 8 // messages per connection after the last restart
	// The senders pause up to this long between messages. Unthrottled, six
	// connections ACK several thousand messages a second, far more than a
	// synced file per message drains; then every kill lands on a deep outbox
	// and the final drain takes most of the time budget. A pace like a busy
	// EMR feed keeps the outbox shallow but never empty, so that kills hit
	// messages at every step of the path.
	crashMaxPause = 4 * time.Millisecond
	drainTimeout  = 30 * time.Second
)

// crashHarness owns the temp directory, the server process of the moment,
// and the record of what was sent and acknowledged.
type crashHarness struct {
	t   *testing.T
	rnd *rand.Rand

	dir, data, routes string
	outDir, trail     string
	addr              string
	exe               string

	proc  *crashProc
	lives []*crashLife // one per process start

	mu      sync.Mutex
	sent    map[string]*crashMsg // by control id
	ackSeq  map[string][]string  // patient -> control ids in the order they were ACKed
	outcome map[string]int       // ack code (or "none") -> count, all lifetimes

	col *crashCollector
}

// crashMsg is one message sent.
type crashMsg struct {
	ctrl, patient string
	life          int
	code          string // AA, AE, ... or "" when no ACK came back
}

// crashLife is one run of the server process.
type crashLife struct {
	n                       int
	killed                  bool
	after                   time.Duration // from the first send to the kill or stop
	sent, acked, nak, lost  atomic.Int64  // lost: no ACK at all
	filesAtEnd, trailAtEnd  int
	trailCut                int64 // size of the ndjson trail when the process had exited
	tempFiles               int   // .plexus-*.tmp left behind in the output dir
	redelivered, tornLines  int   // filled in by check
	deliveredACKed, ackedIn int   // of this life's ACKed messages, how many had a file when it ended
}

type crashProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func newCrashHarness(t *testing.T, seed uint64) *crashHarness {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h := &crashHarness{
		t: t, rnd: rand.New(rand.NewPCG(seed, 1)),
		dir: dir, data: filepath.Join(dir, "data"), routes: filepath.Join(dir, "routes.yaml"),
		outDir: filepath.Join(dir, "out"), trail: filepath.Join(dir, "trail", "delivered.ndjson"),
		exe:  exe,
		sent: map[string]*crashMsg{}, ackSeq: map[string][]string{}, outcome: map[string]int{},
	}
	h.col = newCrashCollector(h.outDir, h.trail)
	// A fixed port for every restart, as an EMR would be configured with:
	// take a free one and give it back. (Another process could grab it in
	// between; on a test machine that is rare enough.)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ln.Close()
	// Two destinations on one route. "files": one file per message, named
	// by patient, journal sequence and control id, so that loss and
	// journal order can be read off the names. "trail": every Bundle
	// appended to one file as it is delivered, so that the real delivery
	// order, and redeliveries, can be read too (the per-message files
	// cannot show either: a redelivery rewrites the same name).
	routes := fmt.Sprintf(`listeners:
  - name: emr
    mllp: { addr: %q }
destinations:
  files:
    file: { dir: ./out, name: "{{.Key}}/{{.Seq}}-{{.ControlID}}" }
  trail:
    file: { dir: ./trail, format: ndjson, name: delivered }
routes:
  - name: adt
    from: emr
    transform: builtin
    to: [files, trail]
`, h.addr)
	if err := os.WriteFile(h.routes, []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p := h.proc; p != nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return h
}

// crashMessage is an ADT^A01 or ^A08 (structure ADT_A01, so the built-in
// adt_a01 map converts both) about patient, whose PID-3 (with its assigning
// authority) is also the engine's partition key. MSH-15 is empty: original
// acknowledgement mode, AA when stored.
func crashMessage(ctrl, patient, event string) []byte {
	const ts = "20260309120000+0000"
	return []byte("MSH|^~\\&|CRASHTEST|PLEXUS|RECV|FAC|" + ts + "||ADT^" + event + "^ADT_A01|" + ctrl + "|P|2.5.1\r" +
		"EVN|" + event + "|" + ts + "\r" +
		"PID|1||" + patient + "^^^CRASHMRN^MR||DOE^JANE^Q||19800101|F\r" +
		"PV1|1|I|ICU^101^A\r")
}

// checkConverts runs `plexus convert` on the message the senders send: if
// the built-in map refuses it, every later failure would only say
// "nothing delivered".
func (h *crashHarness) checkConverts() {
	f := filepath.Join(h.dir, "sample.hl7")
	if err := os.WriteFile(f, crashMessage("SAMPLE-1", "PT00", "A01"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"convert", f}, strings.NewReader(""), &out, &errb)
	if code != 0 || !bytes.HasPrefix(out.Bytes(), []byte(`{"resourceType":"Bundle"`)) {
		h.t.Fatalf("plexus convert of the test message: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// start runs plexus serve on the harness's data directory and returns once
// its MLLP port accepts connections.
func (h *crashHarness) start(life int) {
	h.t.Helper()
	logPath := filepath.Join(h.dir, fmt.Sprintf("serve-%d.log", life))
	logf, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(h.exe, "-test.run=^TestCrashServe$", "-test.count=1", "--",
		"serve", "--config", h.routes, "--data-dir", h.data, "--admin", "",
		"--log-format", "text", "--shutdown-timeout", "20s")
	// Its own directory: no plexus.yaml from elsewhere is picked up.
	cmd.Dir = h.dir
	cmd.Env = append(os.Environ(), crashChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Kept open until the process exits (Wait closes it): see TestCrashServe.
	if _, err := cmd.StdinPipe(); err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		h.t.Fatal(err)
	}
	p := &crashProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	h.proc = p
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", h.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			h.proc = nil
			h.t.Fatalf("life %d: plexus serve exited before listening (%v):\n%s", life, p.err, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("life %d: %s not accepting after 30s:\n%s", life, h.addr, tail(logPath))
		}
	}
}

// stop ends the server with sig and waits for it to exit.
func (h *crashHarness) stop(sig syscall.Signal) error {
	p := h.proc
	if err := p.cmd.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		h.t.Fatalf("plexus serve did not exit 40s after %v:\n%s", sig, tail(p.log))
	}
	h.proc = nil
	return p.err
}

func (h *crashHarness) patient(conn, k int) string {
	return fmt.Sprintf("PT%02d", conn*crashPerConn+k)
}

// send runs one sender connection until ctx ends or it has sent max
// messages (0: no limit). Each connection owns its patients, and waits for
// each ACK before the next message (as MLLP senders do), so a patient's
// messages are never in flight together and "ACKed before" is a total order
// per patient.
func (h *crashHarness) send(ctx context.Context, life *crashLife, conn, max int, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, uint64(conn)))
	c := mllp.NewClient(h.addr, mllp.ClientOptions{
		Timeout: 10 * time.Second, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
	})
	defer c.Close()
	for n := 0; max == 0 || n < max; n++ {
		if ctx.Err() != nil {
			return
		}
		k := rnd.IntN(crashPerConn)
		patient := h.patient(conn, k)
		ctrl := fmt.Sprintf("CR%d-%d-%d", life.n, conn, n)
		event := "A01"
		if rnd.IntN(3) > 0 {
			event = "A08"
		}
		m := &crashMsg{ctrl: ctrl, patient: patient, life: life.n}
		h.mu.Lock()
		h.sent[ctrl] = m
		h.mu.Unlock()
		life.sent.Add(1)
		reply, err := c.Send(ctx, crashMessage(ctrl, patient, event))
		code := ""
		if err == nil {
			code, err = ackCode(reply, ctrl)
		}
		h.mu.Lock()
		m.code = code
		switch {
		case code == "AA" || code == "CA":
			life.acked.Add(1)
			h.ackSeq[patient] = append(h.ackSeq[patient], ctrl)
		case code != "":
			life.nak.Add(1)
		default:
			life.lost.Add(1)
		}
		if code == "" {
			h.outcome["none"]++
		} else {
			h.outcome[code]++
		}
		h.mu.Unlock()
		if err != nil && ctx.Err() == nil && max > 0 {
			h.t.Errorf("life %d: %s with the server up: %v", life.n, ctrl, err)
		}
		if code == "AR" || code == "CR" {
			h.t.Errorf("life %d: %s rejected (%s): the test message is wrong", life.n, ctrl, code)
		}
		if p := time.Duration(rnd.Int64N(int64(crashMaxPause))); p > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(p):
			}
		}
	}
}

// ackCode returns MSA-1 of reply, checking that MSA-2 is ctrl.
func ackCode(reply []byte, ctrl string) (string, error) {
	m, err := hl7.Parse(reply)
	if err != nil {
		return "", fmt.Errorf("reply does not parse: %w", err)
	}
	code := m.Get(hl7.MustPath("MSA-1")).String()
	if got := m.Get(hl7.MustPath("MSA-2")).String(); got != ctrl {
		return "", fmt.Errorf("ACK %s for control id %q, want %q", code, got, ctrl)
	}
	return code, nil
}

// crashRound starts the server (recovering whatever the last kill left),
// sends from every connection and kills it with SIGKILL after 0.3 to 2 s,
// while the senders are waiting for ACKs.
func (h *crashHarness) crashRound(n int) {
	life := &crashLife{n: n, killed: true}
	h.lives = append(h.lives, life)
	h.start(n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	seed := h.rnd.Uint64()
	for conn := range crashConns {
		wg.Go(func() { h.send(ctx, life, conn, 0, seed) })
	}
	life.after = time.Duration(300+h.rnd.IntN(1700)) * time.Millisecond
	start := time.Now()
	time.Sleep(life.after)
	err := h.stop(syscall.SIGKILL)
	life.after = time.Since(start)
	// The senders now fail on reset connections or wait to reconnect to
	// nothing: stop them so they do not talk to the next process.
	cancel()
	wg.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		h.t.Fatalf("life %d: server exited before the kill (%v):\n%s", n, err, tail(filepath.Join(h.dir, fmt.Sprintf("serve-%d.log", n))))
	}
	h.endLife(life)
	h.t.Logf("life %d: sent %d, ACKed %d, NAKed %d, no ACK %d; SIGKILL after %d ms; so far %d files (%d of this life's %d ACKed), %d trail lines, %d temp files",
		n, life.sent.Load(), life.acked.Load(), life.nak.Load(), life.lost.Load(), life.after.Milliseconds(),
		life.filesAtEnd, life.deliveredACKed, life.ackedIn, life.trailAtEnd, life.tempFiles)
	if life.acked.Load() == 0 {
		h.t.Fatalf("life %d: nothing was acknowledged", n)
	}
}

// endLife records where the trail stood when the process had exited (lines
// after that offset belong to the next life) and what had been written.
func (h *crashHarness) endLife(life *crashLife) {
	fi, err := os.Stat(h.trail)
	switch {
	case err == nil:
		life.trailCut = fi.Size()
	case errors.Is(err, fs.ErrNotExist):
	default:
		h.t.Fatal(err)
	}
	if err := h.col.scan(); err != nil {
		h.t.Fatal(err)
	}
	life.filesAtEnd = len(h.col.files)
	life.trailAtEnd = len(h.col.lines)
	life.tempFiles = h.col.temp
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.sent {
		if m.life == life.n && (m.code == "AA" || m.code == "CA") {
			life.ackedIn++
			if len(h.col.byCtrl[m.ctrl]) > 0 {
				life.deliveredACKed++
			}
		}
	}
}

// finalRound restarts once more, sends a few messages per connection and
// waits until every ACKed message of every life is in both destinations,
// then stops the server gracefully.
func (h *crashHarness) finalRound(n int) {
	life := &crashLife{n: n}
	h.lives = append(h.lives, life)
	h.start(n)
	start := time.Now()
	var wg sync.WaitGroup
	seed := h.rnd.Uint64()
	for conn := range crashConns {
		wg.Go(func() { h.send(context.Background(), life, conn, crashFinalMsg, seed) })
	}
	wg.Wait()
	deadline := time.Now().Add(drainTimeout)
	var missing []string
	for {
		if err := h.col.scan(); err != nil {
			h.t.Fatal(err)
		}
		missing = h.undelivered()
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(start)
	if err := h.stop(syscall.SIGTERM); err != nil {
		h.t.Errorf("life %d: graceful stop: %v\n%s", n, err, tail(filepath.Join(h.dir, fmt.Sprintf("serve-%d.log", n))))
	}
	life.after = time.Since(start)
	h.endLife(life)
	h.t.Logf("life %d: sent %d, ACKed %d, NAKed %d, no ACK %d; drained in %d ms, then SIGTERM; %d files, %d trail lines, %d temp files",
		n, life.sent.Load(), life.acked.Load(), life.nak.Load(), life.lost.Load(), drained.Milliseconds(),
		life.filesAtEnd, life.trailAtEnd, life.tempFiles)
	if len(missing) > 0 {
		// Not a Fatal: check says which, and what the store knows of them.
		h.t.Errorf("after %v, %d ACKed messages still not in both destinations (first: %s)", drainTimeout, len(missing), missing[0])
	}
}

// undelivered lists the ACKed control ids not yet in both destinations.
func (h *crashHarness) undelivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for ctrl, m := range h.sent {
		if m.code != "AA" && m.code != "CA" {
			continue
		}
		files := h.col.byCtrl[ctrl]
		if len(files) == 0 || !h.col.inTrail[files[0].bundle] {
			out = append(out, ctrl)
		}
	}
	slices.Sort(out)
	return out
}

// check compares what was acknowledged with what the destinations hold.
func (h *crashHarness) check() {
	t := h.t
	c := h.col
	if err := c.scan(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Logf("ACK codes over all lives: %v", h.outcome)
	errs := &crashErrs{t: t, n: map[string]int{}}
	defer errs.summary()

	// The files: each a Bundle about the patient its directory names, for
	// a message that was sent.
	for _, f := range c.files {
		m := h.sent[f.ctrl]
		switch {
		case f.err != nil:
			errs.add("bad file", "%s: %v", f.path, f.err)
		case m == nil:
			errs.add("bad file", "%s: control id %s was never sent", f.path, f.ctrl)
		case m.patient != f.patient || f.bundlePatient != f.patient:
			errs.add("bad file", "%s: control id %s was sent for %s; directory says %s, Bundle's Patient says %s",
				f.path, f.ctrl, m.patient, f.patient, f.bundlePatient)
		case m.code != "" && m.code != "AA" && m.code != "CA":
			// AE means "not stored, send it again"; finding it delivered
			// is harmless (a resend would be a duplicate) but worth seeing.
			t.Logf("note: %s was answered %s yet delivered (%s)", f.ctrl, m.code, f.path)
		}
	}

	// At least once: every ACKed control id has a file and a trail line.
	var lost []string
	acked := 0
	for ctrl, m := range h.sent {
		if m.code != "AA" && m.code != "CA" {
			continue
		}
		acked++
		files := c.byCtrl[ctrl]
		switch {
		case len(files) == 0:
			lost = append(lost, ctrl+" (no file)")
		case !c.inTrail[files[0].bundle]:
			lost = append(lost, ctrl+" (not in the trail)")
		}
	}
	slices.Sort(lost)
	if len(lost) > 0 {
		t.Errorf("%d of %d ACKed messages lost: %s", len(lost), acked, strings.Join(lost[:min(len(lost), 20)], ", "))
		h.diagnose(lost[:min(len(lost), 20)])
	}

	// The same control id journaled twice (two sequence numbers): only
	// a sender's resend can do that, and duplicate detection keeps the
	// second from being routed.
	dupIDs := 0
	for ctrl, files := range c.byCtrl {
		if len(files) > 1 {
			dupIDs++
			t.Logf("control id %s has %d files (journaled %d times)", ctrl, len(files), len(files))
		}
	}

	// Journal order follows ACK order, per patient: each message was sent
	// only after the one before was ACKed, so it must have a later
	// sequence number.
	for patient, ctrls := range h.ackSeq {
		var prev *crashFile
		for _, ctrl := range ctrls {
			files := c.byCtrl[ctrl]
			if len(files) == 0 {
				continue // reported as lost
			}
			f := files[0] // the lowest sequence: the ACKed append (a resend would come later)
			if prev != nil && f.seq <= prev.seq {
				errs.add("journal order", "patient %s: %s (seq %d) was ACKed after %s (seq %d) but journaled before it",
					patient, ctrl, f.seq, prev.ctrl, prev.seq)
			}
			prev = f
		}
	}

	// Delivery order, from the trail. Per patient and per life the
	// sequence numbers strictly increase (one pass over the outbox, in
	// order); across lives, a message is first delivered only after every
	// earlier message of its patient was (a redelivery replays a suffix).
	lastInLife := map[string]uint64{} // patient -> last seq delivered in the current life
	firstSeen := map[uint64]bool{}
	maxFirst := map[string]uint64{} // patient -> highest seq delivered so far
	life := 0
	unknown := 0
	for _, l := range c.lines {
		for life < len(h.lives)-1 && l.off >= h.lives[life].trailCut {
			life++
			clear(lastInLife)
		}
		lv := h.lives[life]
		if l.bundle == "" {
			lv.tornLines++
			continue
		}
		f := c.byBundle[l.bundle]
		if f == nil {
			unknown++
			errs.add("unknown trail line", "trail line at offset %d (life %d): Bundle %s matches no file", l.off, life, l.bundle)
			continue
		}
		if last, ok := lastInLife[f.patient]; ok && f.seq <= last {
			errs.add("delivery order", "life %d: patient %s: seq %d (%s) delivered after seq %d", life, f.patient, f.seq, f.ctrl, last)
		}
		lastInLife[f.patient] = f.seq
		if firstSeen[f.seq] {
			lv.redelivered++
			continue
		}
		firstSeen[f.seq] = true
		if f.seq < maxFirst[f.patient] {
			errs.add("first delivery order", "life %d: patient %s: seq %d (%s) first delivered after seq %d", life, f.patient, f.seq, f.ctrl, maxFirst[f.patient])
		}
		maxFirst[f.patient] = max(maxFirst[f.patient], f.seq)
	}
	for _, f := range c.files {
		if !firstSeen[f.seq] {
			// Every routed message must reach every destination of its
			// route, ACKed or not; the graceful stop drained both outboxes.
			errs.add("not in the trail", "%s is not in the trail", f.path)
		}
	}

	redelivered, torn := 0, 0
	for _, lv := range h.lives {
		how := "SIGKILL"
		if !lv.killed {
			how = "SIGTERM"
		}
		t.Logf("life %d (%s after %d ms): sent %d, ACKed %d; trail: %d lines redelivered after the previous crash, %d torn",
			lv.n, how, lv.after.Milliseconds(), lv.sent.Load(), lv.acked.Load(), lv.redelivered, lv.tornLines)
		redelivered += lv.redelivered
		torn += lv.tornLines
	}
	t.Logf("total: %d ACKed, %d lost; %d files, %d control ids journaled twice; trail %d lines, %d redeliveries, %d torn, %d unknown; %d order violations; %d temp files left",
		acked, len(lost), len(c.files), dupIDs, len(c.lines), redelivered, torn, unknown,
		errs.n["journal order"]+errs.n["delivery order"]+errs.n["first delivery order"], c.temp)
	for i := range h.lives {
		if b, err := os.ReadFile(filepath.Join(h.dir, fmt.Sprintf("serve-%d.log", i))); err == nil &&
			(bytes.Contains(b, []byte("WARNING: DATA RACE")) || bytes.Contains(b, []byte("panic:"))) {
			t.Errorf("life %d: the server's log reports a race or a panic:\n%s", i, tail(filepath.Join(h.dir, fmt.Sprintf("serve-%d.log", i))))
		}
	}
}

// crashErrs reports the first failures of each kind in detail and counts
// the rest: one broken ordering can produce thousands.
type crashErrs struct {
	t *testing.T
	n map[string]int
}

func (e *crashErrs) add(kind, format string, args ...any) {
	e.t.Helper()
	if e.n[kind]++; e.n[kind] <= 20 {
		e.t.Errorf(format, args...)
	}
}

func (e *crashErrs) summary() {
	for kind, n := range e.n {
		if n > 20 {
			e.t.Errorf("%s: %d failures in all (20 shown)", kind, n)
		}
	}
}

// diagnose says, for lost messages, what the journal knows of them: the
// server is stopped, so its store can be opened here.
func (h *crashHarness) diagnose(lost []string) {
	db, err := store.Open(filepath.Join(h.data, "store"), store.Options{})
	if err != nil {
		h.t.Logf("diagnose: %v", err)
		return
	}
	defer db.Close()
	want := map[string]bool{}
	for _, l := range lost {
		ctrl, _, _ := strings.Cut(l, " ")
		want[ctrl] = true
	}
	found := 0
	err = db.Journal(1, func(r *store.Record) bool {
		if !want[r.ControlID] {
			return true
		}
		found++
		st, _ := db.Statuses(r.Seq)
		o, oerr := db.Outcome(r.Seq)
		outcome := "none"
		if oerr == nil {
			outcome = fmt.Sprintf("%s %v", o.State, o.Errors)
		}
		h.t.Logf("diagnose: %s: journal seq %d, status %s, outcome %s, deliveries %+v", r.ControlID, r.Seq, r.Status, outcome, st)
		return true
	})
	if err != nil {
		h.t.Logf("diagnose: %v", err)
	}
	h.t.Logf("diagnose: %d of %d lost control ids are in the journal", found, len(want))
}

// crashCollector reads the two destinations incrementally: files it has
// seen are not read again, and the trail is read from where it stopped.
type crashCollector struct {
	outDir, trail string

	files    map[string]*crashFile // by path
	byCtrl   map[string][]*crashFile
	byBundle map[string]*crashFile
	temp     int

	trailOff int64
	lines    []crashLine
	inTrail  map[string]bool // Bundle ids
}

// crashFile is one file of the "files" destination.
type crashFile struct {
	path, patient, ctrl string
	seq                 uint64
	bundle              string // Bundle.id: the trail's lines are matched by it
	bundlePatient       string // PID-3 as the Bundle's Patient has it
	err                 error
}

// crashLine is one line of the trail; bundle is empty for a line that is
// not a whole Bundle (a write cut by SIGKILL).
type crashLine struct {
	off    int64
	bundle string
}

func newCrashCollector(outDir, trail string) *crashCollector {
	return &crashCollector{outDir: outDir, trail: trail, files: map[string]*crashFile{},
		byCtrl: map[string][]*crashFile{}, byBundle: map[string]*crashFile{}, inTrail: map[string]bool{}}
}

func (c *crashCollector) scan() error {
	c.temp = 0
	err := filepath.WalkDir(c.outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || c.files[path] != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			c.temp++ // a write SIGKILL cut short; never renamed, never reported delivered
			return nil
		}
		f := readCrashFile(path)
		c.files[path] = f
		if f.err != nil {
			return nil
		}
		c.byCtrl[f.ctrl] = append(c.byCtrl[f.ctrl], f)
		slices.SortFunc(c.byCtrl[f.ctrl], func(a, b *crashFile) int { return cmp.Compare(a.seq, b.seq) })
		if o := c.byBundle[f.bundle]; o != nil && o.ctrl != f.ctrl {
			return fmt.Errorf("%s and %s have one Bundle id %s: the trail cannot tell them apart", o.path, f.path, f.bundle)
		}
		c.byBundle[f.bundle] = f
		return nil
	})
	if err != nil {
		return err
	}
	return c.scanTrail()
}

// readCrashFile parses out/<key>/<seq>-<control id>.json and its Bundle.
func readCrashFile(path string) *crashFile {
	f := &crashFile{path: path}
	key := filepath.Base(filepath.Dir(path))
	f.patient, _, _ = strings.Cut(key, "^")
	name, ok := strings.CutSuffix(filepath.Base(path), ".json")
	seq, ctrl, ok2 := strings.Cut(name, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || !ok2 || err != nil {
		f.err = errors.New("name is not <seq>-<control id>.json")
		return f
	}
	f.seq, f.ctrl = n, ctrl
	b, err := os.ReadFile(path)
	if err != nil {
		f.err = err
		return f
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Identifier   []struct {
					Value string `json:"value"`
				} `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		f.err = fmt.Errorf("not JSON: %w", err)
		return f
	}
	if bundle.ResourceType != "Bundle" || bundle.ID == "" {
		f.err = fmt.Errorf("not a Bundle with an id: resourceType %q, id %q", bundle.ResourceType, bundle.ID)
		return f
	}
	f.bundle = bundle.ID
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "Patient" && len(e.Resource.Identifier) > 0 {
			f.bundlePatient = e.Resource.Identifier[0].Value
		}
	}
	return f
}

// scanTrail reads the trail's new complete lines. A line without its
// newline yet is left for the next scan: it is being written, or SIGKILL
// cut it (then the next life starts its first line with a newline, which
// completes it as a torn line).
func (c *crashCollector) scanTrail() error {
	fh, err := os.Open(c.trail)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.Seek(c.trailOff, 0); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(fh); err != nil {
		return err
	}
	b := buf.Bytes()
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		line := b[:i]
		if len(line) > 0 {
			var v struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			l := crashLine{off: c.trailOff}
			if json.Unmarshal(line, &v) == nil && v.ResourceType == "Bundle" {
				l.bundle = v.ID
				c.inTrail[v.ID] = true
			}
			c.lines = append(c.lines, l)
		}
		c.trailOff += int64(i + 1)
		b = b[i+1:]
	}
}

// tail is the end of a server log, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
