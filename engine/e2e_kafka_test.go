package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plexus-hl7/plexus/channels"
	_ "github.com/plexus-hl7/plexus/channels/kafka"
	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// MLLP in, Kafka out, over TCP on both sides: every message an EMR got an
// AA for is on the topic once, as a FHIR Bundle keyed by its patient with
// the idempotency key in a header, and each patient's records are in one
// partition in journal order.
func TestE2EKafka(t *testing.T) {
	_, brokers := kafkaCluster(t, kfake.SeedTopics(4, "fhir.adt"))
	began := time.Now()
	te := start(t, t.TempDir(), routesFrom(t, "kafka.routes.yaml", map[string]string{"Brokers": brokers}))

	// Six patients, each on a connection of its own, so that its send order
	// is its journal order; and two connections that interleave messages
	// for all of them, which only the journal (plexus-seq) orders against
	// the others.
	const patients, per, mixers = 6, 12, 2
	type sentMsg struct {
		conn, idx  int
		mrn, event string
	}
	sent := map[string]sentMsg{}
	var conns [][][]byte
	events := []string{"A01", "A08", "A04"}
	for c := range patients + mixers {
		var msgs [][]byte
		for i := range per {
			ctrl := fmt.Sprintf("C%d-%02d", c, i)
			p := c
			if c >= patients {
				p = (i + c) % patients
			}
			s := sentMsg{conn: c, idx: i, mrn: fmt.Sprintf("MRN%d", p), event: events[i%len(events)]}
			sent[ctrl] = s
			msgs = append(msgs, adt(ctrl, s.event, s.mrn))
		}
		conns = append(conns, msgs)
	}
	acked := sendConns(t, te.addr, conns)
	if len(acked) != len(sent) {
		t.Fatalf("%d of %d messages ACKed AA", len(acked), len(sent))
	}
	te.waitDrained(t, "events", len(sent))

	recs := readTopic(t, brokers, "fhir.adt")
	if len(recs) != len(sent) {
		t.Errorf("%d records on the topic for %d messages ACKed", len(recs), len(sent))
	}
	seen := map[string]bool{}
	seqOf := map[string]uint64{}
	partOf := map[string]int{}          // key -> partition
	lastSeq := map[string]uint64{}      // key -> plexus-seq of its last record
	lastIdx := map[string]map[int]int{} // key -> connection -> send index of its last record
	parts := map[int]bool{}
	for _, r := range recs {
		h := recordHeaders(t, r)
		ctrl := h["plexus-control-id"]
		s, ok := sent[ctrl]
		switch {
		case !ok:
			t.Errorf("record for control id %q, which was never sent", ctrl)
			continue
		case seen[ctrl]:
			t.Errorf("control id %s twice on the topic", ctrl)
			continue
		}
		seen[ctrl] = true
		key := s.mrn + "^HOSP" // PID-3.1 ^ PID-3.4: the engine's partition key
		if string(r.Key) != key {
			t.Errorf("%s: record key %q, want the patient %q", ctrl, r.Key, key)
		}
		for name, want := range map[string]string{
			"plexus-idempotency-key": "EPIC|HOSP|" + ctrl,
			"plexus-message-type":    "ADT^" + s.event,
			"plexus-source":          "adt",
			"plexus-route":           "admissions",
			"content-type":           channels.ContentFHIR,
		} {
			if h[name] != want {
				t.Errorf("%s: header %s = %q, want %q", ctrl, name, h[name], want)
			}
		}
		if typ, mrns, err := bundlePatients(r.Value); err != nil || typ != "transaction" || len(mrns) != 1 || mrns[0] != s.mrn {
			t.Errorf("%s: value is not a transaction Bundle for patient %s: type %q, patients %v, err %v", ctrl, s.mrn, typ, mrns, err)
		}
		seq, err := strconv.ParseUint(h["plexus-seq"], 10, 64)
		if err != nil {
			t.Errorf("%s: plexus-seq %q", ctrl, h["plexus-seq"])
			continue
		}
		seqOf[ctrl] = seq
		// plexus-seq is the journal's number for the message: the admin
		// API finds the same message under it.
		if v := te.message(t, seq); v.ControlID != ctrl {
			t.Errorf("%s: plexus-seq %d is %q in the admin API", ctrl, seq, v.ControlID)
		}
		if rt, err := time.Parse(time.RFC3339Nano, h["plexus-received"]); err != nil || rt.Before(began.Add(-time.Second)) || rt.After(time.Now()) {
			t.Errorf("%s: plexus-received %q is not the journal time (%v)", ctrl, h["plexus-received"], err)
		}
		// Kafka orders only within a partition: one patient, one partition.
		if p, ok := partOf[key]; ok && p != r.Partition {
			t.Errorf("patient %s in partitions %d and %d", key, p, r.Partition)
		}
		partOf[key] = r.Partition
		parts[r.Partition] = true
		// Within it, journal order, which is also each connection's
		// send order.
		if seq <= lastSeq[key] {
			t.Errorf("patient %s: seq %d (%s) after seq %d in partition %d", key, seq, ctrl, lastSeq[key], r.Partition)
		}
		lastSeq[key] = seq
		if lastIdx[key] == nil {
			lastIdx[key] = map[int]int{}
		}
		if prev, ok := lastIdx[key][s.conn]; ok && s.idx <= prev {
			t.Errorf("patient %s: connection %d's message %d after its message %d", key, s.conn, s.idx, prev)
		}
		lastIdx[key][s.conn] = s.idx
	}
	for ctrl := range acked {
		if !seen[ctrl] {
			t.Errorf("%s was ACKed AA but is not on the topic", ctrl)
		}
	}
	// The journal numbers each connection's messages in the order sent:
	// an ACK comes only after the append, and the next message only after
	// the ACK.
	for c := range conns {
		var prev uint64
		for i := range per {
			seq := seqOf[fmt.Sprintf("C%d-%02d", c, i)]
			if seq != 0 && seq <= prev {
				t.Errorf("connection %d: message %d journaled as %d, after %d", c, i, seq, prev)
			}
			prev = max(prev, seq)
		}
	}
	if len(parts) < 2 {
		t.Errorf("%d patients all in one of 4 partitions: the order check proves little", patients)
	}
	if v := te.message(t, 1); len(v.Deliveries) != 1 || v.Deliveries[0].Dest != "events" || v.Deliveries[0].State != "delivered" {
		t.Errorf("message 1 in the admin API: %+v", v.Deliveries)
	}
}

// kafkaCluster starts a one-broker kfake cluster, closed when the test
// ends (after the engine: cleanups run last-registered first).
func kafkaCluster(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// readTopic reads every record of topic with kafka-go Readers, partition by
// partition in offset order. It asks each partition's leader for its high
// watermark first, so that it knows how many records to read and never
// waits for a timer to decide that there are no more.
func readTopic(t *testing.T, addr, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialer := &kafkago.Dialer{Timeout: 5 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		lc, err := dialer.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatalf("dial leader of %s/%d: %v", topic, p.ID, err)
		}
		n, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatalf("high watermark of %s/%d: %v", topic, p.ID, err)
		}
		if n == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers: []string{addr}, Topic: topic, Partition: p.ID, Dialer: dialer,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 50 * time.Millisecond,
		})
		for range n {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p.ID, err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

// recordHeaders returns a record's headers by name; a repeated header is
// an error, since a consumer could read either value.
func recordHeaders(t *testing.T, m kafkago.Message) map[string]string {
	t.Helper()
	h := map[string]string{}
	for _, kv := range m.Headers {
		if _, dup := h[kv.Key]; dup {
			t.Errorf("offset %d: header %s repeated", m.Offset, kv.Key)
		}
		h[kv.Key] = string(kv.Value)
	}
	return h
}

// Helpers shared by the e2e_*_test.go files.

// routesFrom renders the routes.yaml template testdata/e2e/name with data
// (the addresses of the servers a test started).
func routesFrom(t *testing.T, name string, data any) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

// sendConns sends conns[i] in order on MLLP connection i, all connections
// at once, each message waiting for its ACK as an EMR does. It returns the
// control ids ACKed AA; any other answer fails the test.
func sendConns(t *testing.T, addr string, conns [][][]byte) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for _, msgs := range conns {
		wg.Go(func() {
			cl := mllp.NewClient(addr, mllp.ClientOptions{Timeout: 10 * time.Second})
			defer cl.Close()
			for _, m := range msgs {
				h, err := hl7.ParseHeader(m)
				if err != nil {
					t.Errorf("test message does not parse: %v", err)
					return
				}
				code, err := sendOnce(cl, m)
				if err != nil || code != "AA" {
					// t.Errorf, not Fatal: this is not the test's goroutine
					t.Errorf("%s: ACK %q, err %v", h.ControlID, code, err)
					continue
				}
				mu.Lock()
				acked[h.ControlID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acked
}

// sendOnce sends msg and returns MSA-1 of the answer; unlike send it can
// run on any goroutine.
func sendOnce(cl *mllp.Client, msg []byte) (string, error) {
	reply, err := cl.Send(context.Background(), msg)
	if err != nil {
		return "", err
	}
	ack, err := hl7.Parse(reply)
	if err != nil {
		return "", fmt.Errorf("ACK does not parse: %w", err)
	}
	return ack.Get(hl7.MustPath("MSA-1")).String(), nil
}

// eventually polls cond until it holds. The bound only turns a hang into a
// failure; cond says what it saw, for the message.
func eventually(t *testing.T, bound time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after %v; last seen: %s", what, bound, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric reads one series from the admin handler's /metrics, as Prometheus
// scrapes it; series is the name with its labels in Prometheus's order
// (sorted by label name). A series that does not exist reads as -1.
func (te *testEngine) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(te.admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %v", series, err)
		}
		return f
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return -1
}

// deliveries reads plexus_deliveries_total of dest for result (delivered,
// retried, dead).
func (te *testEngine) deliveries(t *testing.T, dest, result string) int {
	t.Helper()
	return int(te.metric(t, fmt.Sprintf(`plexus_deliveries_total{destination=%q,result=%q}`, dest, result)))
}

// outboxPending reads the outbox gauge of dest.
func (te *testEngine) outboxPending(t *testing.T, dest string) int {
	t.Helper()
	return int(te.metric(t, fmt.Sprintf(`plexus_outbox_pending{destination=%q}`, dest)))
}

// waitDrained waits until dest has delivered n messages and its outbox is
// empty, as the metrics tell an operator.
func (te *testEngine) waitDrained(t *testing.T, dest string, n int) {
	t.Helper()
	eventually(t, 20*time.Second, dest+" drained", func() (bool, string) {
		d, p := te.deliveries(t, dest, "delivered"), te.outboxPending(t, dest)
		return d >= n && p == 0, fmt.Sprintf("%d delivered (want %d), %d pending", d, n, p)
	})
}

// waitDelivery polls the admin API until the delivery of message seq to
// dest satisfies ok, and returns it.
func (te *testEngine) waitDelivery(t *testing.T, seq uint64, dest string, what string, ok func(engine.DeliveryView) bool) engine.DeliveryView {
	t.Helper()
	var got engine.DeliveryView
	eventually(t, 10*time.Second, fmt.Sprintf("message %d to %s %s", seq, dest, what), func() (bool, string) {
		v := te.message(t, seq)
		for _, d := range v.Deliveries {
			if d.Dest == dest {
				got = d
				return ok(d), fmt.Sprintf("%+v", d)
			}
		}
		return false, fmt.Sprintf("status %s, outcome %q, no delivery to %s", v.Status, v.Outcome, dest)
	})
	return got
}

// bundlePatients reads a Bundle's type and the first identifier value of
// each Patient in it.
func bundlePatients(body []byte) (typ string, mrns []string, err error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Identifier   []struct {
					Value string `json:"value"`
				} `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "", nil, err
	}
	if b.ResourceType != "Bundle" {
		return "", nil, fmt.Errorf("resourceType %q", b.ResourceType)
	}
	for _, e := range b.Entry {
		if e.Resource.ResourceType == "Patient" && len(e.Resource.Identifier) > 0 {
			mrns = append(mrns, e.Resource.Identifier[0].Value)
		}
	}
	return b.Type, mrns, nil
}
