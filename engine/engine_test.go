package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

type testEngine struct {
	*engine.Engine
	dir   string
	addr  string
	admin *httptest.Server
}

// start runs an engine on routes (a routes.yaml) with its data in dir.
func start(t *testing.T, dir, routes string) *testEngine {
	t.Helper()
	file := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(file, []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), engine.Options{Config: cfg, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e, dir: dir, addr: e.Addr(cfg.Listeners[0].Name).String(), admin: httptest.NewServer(e.Handler())}
	t.Cleanup(func() { te.stop(t) })
	return te
}

func (te *testEngine) stop(t *testing.T) {
	te.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := te.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func adt(ctrl, event, mrn string) []byte {
	return []byte("MSH|^~\\&|EPIC|HOSP|PLEXUS|HOSP|20240101120000||ADT^" + event + "^ADT_A01|" + ctrl + "|P|2.5.1\r" +
		"EVN|" + event + "|20240101120000\r" +
		"PID|1||" + mrn + "^^^HOSP^MR||DOE^JANE||19800101|F\r" +
		"PV1|1|I|W1^R1^B1\r")
}

// send sends msg and returns MSA-1 and the whole ACK.
func send(t *testing.T, c *mllp.Client, msg []byte) (string, *hl7.Message) {
	t.Helper()
	reply, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	ack, err := hl7.Parse(reply)
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, reply)
	}
	return ack.Get(hl7.MustPath("MSA-1")).String(), ack
}

func (te *testEngine) message(t *testing.T, seq uint64) engine.MessageView {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/messages/%d", te.admin.URL, seq))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v engine.MessageView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

const basic = `listeners:
  - name: adt
    mllp: { addr: "127.0.0.1:0" }
destinations:
  fhir: { sink: { sink: %[1]s-fhir }, workers: 4, retry: { initial: 10ms, max: 50ms, max_attempts: 3 } }
  raw:  { sink: { sink: %[1]s-raw }, key: 'msg.sendingApp + "/" + text(v("PV1-3.1"))' }
routes:
  - name: admissions
    from: adt
    when: msg.type == "ADT" && msg.event in ["A01", "A04", "A08"]
    transform: builtin
    to: [fhir]
  - name: copy
    transform: raw
    to: raw
`

func TestEndToEnd(t *testing.T) {
	name := t.Name()
	fhir, raw := newSink(name+"-fhir"), newSink(name+"-raw")
	te := start(t, t.TempDir(), fmt.Sprintf(basic, name))
	const conns, per = 4, 25
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
			defer cl.Close()
			for i := range per {
				// 5 patients, each on several connections
				code, _ := send(t, cl, adt(fmt.Sprintf("C%d-%d", c, i), "A08", fmt.Sprint("MRN", i%5)))
				if code != "AA" {
					t.Errorf("ACK %s", code)
				}
			}
		})
	}
	wg.Wait()
	if err := fhir.waitFor(conns*per, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := raw.waitFor(conns*per, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// per patient, deliveries in journal order, never two at once
	last := map[string]uint64{}
	for _, m := range fhir.messages() {
		if m.Seq <= last[m.Key] {
			t.Errorf("patient %s: message %d delivered after %d", m.Key, m.Seq, last[m.Key])
		}
		last[m.Key] = m.Seq
		if m.ContentType != channels.ContentFHIR || !json.Valid(m.Body) || !strings.Contains(string(m.Body), `"resourceType":"Bundle"`) {
			t.Fatalf("not a Bundle: %s %.200s", m.ContentType, m.Body)
		}
		if m.IdempotencyKey != "EPIC|HOSP|"+m.ControlID || m.MessageType != "ADT^A08" || m.Source != "adt" || m.Received.IsZero() {
			t.Errorf("message metadata %+v", m)
		}
	}
	if len(last) != 5 || !strings.HasPrefix(fhir.messages()[0].Key, "MRN") {
		t.Errorf("partition keys %v", last)
	}
	if fhir.overlaps != 0 {
		t.Errorf("%d deliveries of one patient overlapped", fhir.overlaps)
	}
	for _, m := range raw.messages() {
		if m.Key != "EPIC/W1" {
			t.Fatalf("raw destination's own key: %q, want EPIC/W1 (key: expression)", m.Key)
		}
		if m.ContentType != channels.ContentHL7v2 || !strings.HasPrefix(string(m.Body), "MSH|") {
			t.Fatalf("raw route: %s %.50q", m.ContentType, m.Body)
		}
	}
	// the browser's list: by patient, newest first, in pages
	resp, err := http.Get(te.admin.URL + "/api/messages?patient=MRN3%5EHOSP&limit=5")
	if err != nil {
		t.Fatal(err)
	}
	var page engine.MessageList
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if len(page.Messages) != 5 || page.Next == 0 || page.Messages[0].Seq <= page.Messages[4].Seq || page.Messages[0].Key != "MRN3^HOSP" {
		t.Errorf("list by patient: %+v", page)
	}
	resp, _ = http.Get(te.admin.URL + "/api/messages?status=bogus")
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("bad list query: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp.Body.Close()
	v := te.message(t, 1)
	if v.Status != "accepted" || v.Outcome != "routed" || len(v.Deliveries) != 2 {
		t.Errorf("message 1: %+v", v)
	}
	for _, d := range v.Deliveries {
		if d.State != "delivered" || d.Attempts != 1 {
			t.Errorf("delivery %+v", d)
		}
	}
}

func TestBadInputIsNAKedAndRecorded(t *testing.T) {
	name := t.Name()
	newSink(name + "-fhir")
	newSink(name + "-raw")
	routes := fmt.Sprintf(basic, name)
	routes = strings.Replace(routes, `mllp: { addr: "127.0.0.1:0" }`, `mllp: { addr: "127.0.0.1:0", max_frame: 2000 }
    versions: ["2.5.1", "2.5"]`, 1)
	te := start(t, t.TempDir(), routes)
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()

	// errCode is the table 0357 code of the ACK's ERR segment: ERR-3 from
	// v2.5, ERR-1.4 before
	errCode := func(ack *hl7.Message) string {
		if c := ack.Get(hl7.MustPath("ERR-3.1")).String(); c != "" {
			return c
		}
		return ack.Get(hl7.MustPath("ERR-1.4.1")).String()
	}
	code, ack := send(t, cl, []byte("this is not HL7"))
	if code != "AR" || errCode(ack) == "" {
		t.Errorf("garbage: %s, ERR code %q", code, errCode(ack))
	}
	code, ack = send(t, cl, []byte(strings.Replace(string(adt("V1", "A01", "1")), "|2.5.1", "|2.3", 1)))
	if code != "AR" || errCode(ack) != "203" || ack.Get(hl7.MustPath("MSA-2")).String() != "V1" {
		t.Errorf("unsupported version: %s ERR code %q", code, errCode(ack))
	}
	big := append(adt("BIG", "A01", "1"), []byte("NTE|1||"+strings.Repeat("x", 3000)+"\r")...)
	code, ack = send(t, cl, big)
	if code != "AR" || ack.Get(hl7.MustPath("MSA-2")).String() != "BIG" {
		t.Errorf("oversize frame: %s MSA-2 %q", code, ack.Get(hl7.MustPath("MSA-2")))
	}
	// the connection still works, and each bad message is in the journal
	if code, _ := send(t, cl, adt("OK1", "A01", "1")); code != "AA" {
		t.Errorf("after the bad ones: %s", code)
	}
	for seq, want := range map[uint64]string{1: "rejected", 2: "rejected", 3: "rejected", 4: "accepted"} {
		if v := te.message(t, seq); v.Status != want || want == "rejected" && v.Reason == "" {
			t.Errorf("message %d: %s (%q), want %s", seq, v.Status, v.Reason, want)
		}
	}
}

func TestDuplicatesAndUnrouted(t *testing.T) {
	name := t.Name()
	fhir := newSink(name + "-fhir")
	newSink(name + "-raw")
	routes := fmt.Sprintf(basic, name)
	routes = strings.Replace(routes, "  - name: copy\n    transform: raw\n    to: raw\n", "", 1)
	routes = strings.Replace(routes, `mllp: { addr: "127.0.0.1:0" }`, `mllp: { addr: "127.0.0.1:0" }
    unrouted: reject`, 1)
	routes += "duplicates: { action: record, window: 1h }\n"
	te := start(t, t.TempDir(), routes)
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	for range 3 {
		if code, _ := send(t, cl, adt("SAME", "A01", "1")); code != "AA" {
			t.Fatalf("duplicate ACK %s, want AA", code)
		}
	}
	code, ack := send(t, cl, adt("X", "A03", "1"))
	if code != "AR" || ack.Get(hl7.MustPath("ERR-3.1")).String() != "200" {
		t.Errorf("unrouted on a reject listener: %s %s", code, ack.Get(hl7.MustPath("ERR-3.1")))
	}
	if err := fhir.waitFor(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(fhir.messages()); n != 1 {
		t.Errorf("%d deliveries of one message sent three times", n)
	}
	if v := te.message(t, 2); v.Status != "duplicate" || v.DupOf != 1 {
		t.Errorf("second copy: %+v", v)
	}
}

func TestRetryDeadLetterReplay(t *testing.T) {
	name := t.Name()
	fhir := newSink(name + "-fhir")
	newSink(name + "-raw")
	var mu sync.Mutex
	refuse := map[string]bool{"BAD": true}
	fhir.setFail(func(m *channels.Message) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case refuse[m.ControlID]:
			return channels.Permanent(fmt.Errorf("400 bad request"), []byte(`{"resourceType":"OperationOutcome"}`))
		case m.ControlID == "FLAKY" && m.Attempt < 3:
			return errDown
		case m.ControlID == "DOWN":
			return errDown
		}
		return nil
	})
	te := start(t, t.TempDir(), fmt.Sprintf(basic, name))
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	for _, c := range []string{"BAD", "FLAKY", "DOWN", "OK"} {
		send(t, cl, adt(c, "A01", c)) // one patient each: none holds up another
	}
	if err := fhir.waitFor(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	wait := func(seq uint64, want string) engine.DeliveryView {
		deadline := time.Now().Add(5 * time.Second)
		for {
			v := te.message(t, seq)
			for _, d := range v.Deliveries {
				if d.Dest == "fhir" && d.State == want {
					return d
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %d never %s: %+v", seq, want, v.Deliveries)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if d := wait(1, "dead"); d.Attempts != 1 || !strings.Contains(d.Detail, "OperationOutcome") {
		t.Errorf("permanent failure: %+v", d)
	}
	if d := wait(2, "delivered"); d.Attempts != 3 {
		t.Errorf("flaky: %+v", d)
	}
	if d := wait(3, "dead"); d.Attempts != 3 || !strings.Contains(d.LastError, "gave up after 3 attempts") {
		t.Errorf("down: %+v", d)
	}
	// fix the endpoint, replay the dead letters
	mu.Lock()
	refuse["BAD"] = false
	mu.Unlock()
	fhir.setFail(nil)
	resp, err := http.Post(te.admin.URL+"/api/replay", "application/json", strings.NewReader(`{"destination":"fhir"}`))
	if err != nil {
		t.Fatal(err)
	}
	var res engine.ReplayResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if res.Requeued != 2 {
		t.Fatalf("replay: %+v", res)
	}
	wait(1, "delivered")
	wait(3, "delivered")
	// a bad request gets a problem body
	resp, _ = http.Post(te.admin.URL+"/api/replay", "application/json", strings.NewReader(`{"destinaton":"fhir"}`))
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("bad replay request: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp.Body.Close()
}

// Undelivered messages survive a restart and go out, in order, after it.
func TestRestartResumes(t *testing.T) {
	name := t.Name()
	fhir := newSink(name + "-fhir")
	newSink(name + "-raw")
	fhir.setFail(func(*channels.Message) error { return errDown })
	dir := t.TempDir()
	routes := strings.Replace(fmt.Sprintf(basic, name), "max_attempts: 3", "max_attempts: 0", 1)
	te := start(t, dir, routes)
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	for i := range 10 {
		if code, _ := send(t, cl, adt(fmt.Sprint("R", i), "A01", "P1")); code != "AA" {
			t.Fatal(code)
		}
	}
	cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	te.Shutdown(ctx) // the destination is down: times out with everything pending
	cancel()
	te.admin.Close()
	if n := len(fhir.messages()); n != 0 {
		t.Fatalf("%d delivered while down", n)
	}
	fhir.setFail(nil)
	start(t, dir, routes)
	if err := fhir.waitFor(10, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, m := range fhir.messages() {
		if m.ControlID != fmt.Sprint("R", i) {
			t.Fatalf("after restart message %d is %s", i, m.ControlID)
		}
	}
}

// Routes change without a restart; a change to destinations needs one.
func TestReloadRoutes(t *testing.T) {
	name := t.Name()
	fhir, raw := newSink(name+"-fhir"), newSink(name+"-raw")
	te := start(t, t.TempDir(), fmt.Sprintf(basic, name))
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	send(t, cl, adt("BEFORE", "A01", "1"))
	if err := raw.waitFor(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// the copy route goes away, admissions goes raw
	routes := strings.Replace(fmt.Sprintf(basic, name), "  - name: copy\n    transform: raw\n    to: raw\n", "", 1)
	routes = strings.Replace(routes, "transform: builtin\n    to: [fhir]", "transform: raw\n    to: [raw]", 1)
	file := filepath.Join(te.dir, "routes.yaml")
	os.WriteFile(file, []byte(routes), 0o644)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	send(t, cl, adt("AFTER", "A01", "1"))
	if err := raw.waitFor(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(raw.messages()); n != 2 {
		t.Errorf("raw has %d messages, want 2 (one per message: the copy route is gone)", n)
	}
	if n := len(fhir.messages()); n != 1 {
		t.Errorf("fhir has %d messages, want only the one from before the reload", n)
	}
	// a destination change is refused, and the running routes stay
	os.WriteFile(file, []byte(strings.Replace(routes, "workers: 4", "workers: 5", 1)), 0o644)
	cfg, err = config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(cfg); !errors.Is(err, engine.ErrRestartNeeded) || !strings.Contains(err.Error(), "destinations changed") {
		t.Errorf("reload with a destination change: %v", err)
	}
}

// TestBuiltinSkipsACKs: under transform: builtin an acknowledgment is
// ACKed, recorded and left out (outcome skipped, no delivery), while a
// message with no built-in map fails with the reason.
func TestBuiltinSkipsACKs(t *testing.T) {
	name := t.Name()
	fhir := newSink(name + "-fhir")
	te := start(t, t.TempDir(), fmt.Sprintf(`listeners:
  - name: in
    mllp: { addr: "127.0.0.1:0" }
destinations:
  fhir: { sink: { sink: %s-fhir } }
routes:
  - name: all
    transform: builtin
    to: fhir
`, name))
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	ack := []byte("MSH|^~\\&|LAB|HOSP|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.5.1\rMSA|AA|MSG1\r")
	if code, _ := send(t, cl, ack); code != "AA" {
		t.Fatalf("ACK of an ACK: %s", code)
	}
	unmapped := []byte("MSH|^~\\&|EPIC|HOSP|PLEXUS|HOSP|20240101120000||ADT^A45^ADT_A45|N1|P|2.5.1\rEVN|A45\rPID|1||1^^^HOSP^MR\r")
	if code, _ := send(t, cl, unmapped); code != "AA" {
		t.Fatalf("ACK of ADT^A45: %s", code)
	}
	want := map[uint64]string{1: "skipped", 2: "failed"}
	deadline := time.Now().Add(5 * time.Second)
	for seq, outcome := range want {
		var v engine.MessageView
		for {
			if v = te.message(t, seq); v.Outcome != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if v.Outcome != outcome || len(v.Deliveries) != 0 {
			t.Errorf("message %d: outcome %q with %d deliveries, want %s and none", seq, v.Outcome, len(v.Deliveries), outcome)
		}
		if seq == 2 && (len(v.Errors) != 1 || !strings.Contains(v.Errors[0], "no built-in map for ADT^A45")) {
			t.Errorf("message 2's errors: %q", v.Errors)
		}
	}
	// the browser finds each by its outcome
	for seq, outcome := range want {
		var page engine.MessageList
		getJSON(t, te.admin.URL+"/api/messages?outcome="+outcome, &page)
		if len(page.Messages) != 1 || page.Messages[0].Seq != seq {
			t.Errorf("outcome=%s: %+v", outcome, page.Messages)
		}
	}
	if n := len(fhir.messages()); n != 0 {
		t.Errorf("%d deliveries", n)
	}
}

// A destination removed from routes.yaml while deliveries waited for it:
// at the next start they are dead letters with the reason (not pending
// for ever), and a reroute sends their messages through the routes as
// they are now.
func TestRemovedDestinationDeadLetters(t *testing.T) {
	name := t.Name()
	fhir := newSink(name + "-fhir")
	newSink(name + "-raw")
	fhir.setFail(func(*channels.Message) error { return errDown })
	dir := t.TempDir()
	routes := strings.Replace(fmt.Sprintf(basic, name), "max_attempts: 3", "max_attempts: 0", 1)
	te := start(t, dir, routes)
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	for i := range 3 {
		if code, _ := send(t, cl, adt(fmt.Sprint("G", i), "A01", "P1")); code != "AA" {
			t.Fatal(code)
		}
	}
	cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	te.Shutdown(ctx) // fhir is down: its deliveries stay pending
	cancel()
	te.admin.Close()

	// fhir is renamed ehr
	routes = strings.Replace(strings.Replace(routes, "  fhir: {", "  ehr: {", 1), "to: [fhir]", "to: [ehr]", 1)
	ehr := newSink(name + "-fhir")
	te = start(t, dir, routes)
	var dead []struct {
		Dest, Route string
		Seq         uint64
	}
	getJSON(t, te.admin.URL+"/api/dead-letters?destination=fhir", &dead)
	if len(dead) != 3 {
		t.Fatalf("dead letters of the removed destination: %+v, want 3", dead)
	}
	v := te.message(t, dead[0].Seq)
	var st string
	for _, d := range v.Deliveries {
		if d.Dest == "fhir" {
			st = d.State + ": " + d.LastError
		}
	}
	if !strings.Contains(st, "dead: destination fhir is no longer in") {
		t.Errorf("delivery to fhir: %q", st)
	}
	// requeue to it is refused; reroute goes to ehr
	body := `{"destination":"fhir"}`
	resp, err := http.Post(te.admin.URL+"/api/replay", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("requeue to a removed destination: %d, want 400", resp.StatusCode)
	}
	resp, err = http.Post(te.admin.URL+"/api/replay", "application/json", strings.NewReader(`{"destination":"fhir","reroute":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var res engine.ReplayResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if res.Rerouted != 3 {
		t.Fatalf("reroute: %+v", res)
	}
	if err := ehr.waitFor(3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
