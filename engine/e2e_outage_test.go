package engine_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	_ "github.com/plexus-hl7/plexus/channels/fhir"
	_ "github.com/plexus-hl7/plexus/channels/file"
	_ "github.com/plexus-hl7/plexus/channels/kafka"
)

// Kafka goes away (the broker process stops: its port closes, its
// connections drop) and the FHIR server answers 503, while the EMRs keep
// sending. Plexus keeps ACKing, the file destination on its own route keeps
// writing, the two others keep retrying without giving up, and once both
// come back everything reaches them: no message lost, none dead-lettered,
// outboxes empty, memory bounded.
func TestE2EOutage(t *testing.T) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// The broker keeps its log in a directory, so that the one started
	// after the outage has the records written before it, like a restarted
	// Kafka broker.
	kdir := t.TempDir()
	kopts := []kfake.Opt{kfake.SeedTopics(2, "fhir.adt"), kfake.DataDir(kdir)}
	kafka1, brokers := kafkaCluster(t, kopts...)
	_, portText, _ := net.SplitHostPort(brokers)
	port, _ := strconv.Atoi(portText)

	var fhirDown atomic.Bool
	srv := newFHIRServer(t, "/fhir", func(string, int) int {
		if fhirDown.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusCreated
	})
	dir := t.TempDir()
	te := start(t, dir, routesFrom(t, "outage.routes.yaml", map[string]string{"Brokers": brokers, "BaseURL": srv.URL + "/fhir"}))
	dests := []string{"events", "ehr", "archive"}

	// batch is conns connections of n messages each, for 5 patients.
	batch := func(phase string, conns, n int) [][][]byte {
		var out [][][]byte
		for c := range conns {
			var msgs [][]byte
			for i := range n {
				msgs = append(msgs, adt(fmt.Sprintf("%s%d-%02d", phase, c, i), "A08", fmt.Sprintf("MRN%d", (c+i)%5)))
			}
			out = append(out, msgs)
		}
		return out
	}
	acked := map[string]bool{}
	add := func(m map[string]bool) {
		for k := range m {
			acked[k] = true
		}
	}

	// Everything up.
	add(sendConns(t, te.addr, batch("A", 4, 5)))
	for _, d := range dests {
		te.waitDrained(t, d, len(acked))
	}

	// Outage.
	kafka1.Close()
	fhirDown.Store(true)
	retried := map[string]int{}
	for _, d := range dests {
		retried[d] = te.deliveries(t, d, "retried")
	}
	during := sendConns(t, te.addr, batch("B", 4, 15))
	add(during)
	if len(during) != 60 {
		t.Fatalf("%d of 60 messages ACKed during the outage: ingest must not depend on the destinations", len(during))
	}
	// The archive delivers everything while the others are still down.
	te.waitDrained(t, "archive", len(acked))
	files := archived(t, filepath.Join(dir, "out"))
	for ctrl := range acked {
		if !files[ctrl] {
			t.Errorf("%s is not in the archive", ctrl)
		}
	}
	// The two others hold what they could not deliver, and keep trying
	// (a few rounds each, so that the outage spans several retries).
	for _, d := range []string{"events", "ehr"} {
		eventually(t, 15*time.Second, d+" retrying", func() (bool, string) {
			r := te.deliveries(t, d, "retried")
			return r >= retried[d]+5, fmt.Sprintf("%d retries since the outage began", r-retried[d])
		})
		if p := te.outboxPending(t, d); p == 0 {
			t.Errorf("%s: empty outbox while its endpoint is down", d)
		}
	}
	if n := len(archived(t, filepath.Join(dir, "out"))); n != len(acked) {
		t.Errorf("%d files for %d messages", n, len(acked))
	}

	// Recovery: a broker on the same port with the same log, and the FHIR
	// server answering again.
	recovered := time.Now()
	_, again := kafkaCluster(t, append(kopts, kfake.Ports(port))...)
	if again != brokers {
		t.Fatalf("the broker came back on %s, not %s", again, brokers)
	}
	fhirDown.Store(false)
	add(sendConns(t, te.addr, batch("C", 4, 5)))
	if len(acked) != 100 {
		t.Fatalf("%d of 100 messages ACKed", len(acked))
	}
	for _, d := range dests {
		te.waitDrained(t, d, len(acked))
		if n := te.deliveries(t, d, "dead"); n != 0 {
			t.Errorf("%s: %d dead letters with max_attempts 0", d, n)
		}
		if n := te.outboxPending(t, d); n != 0 {
			t.Errorf("plexus_outbox_pending{%s} = %d after recovery", d, n)
		}
	}
	var dead []any
	getJSON(t, te.admin.URL+"/api/dead-letters", &dead)
	if len(dead) != 0 {
		t.Errorf("dead letters after recovery: %v", dead)
	}

	// Every ACKed message is on the topic and was accepted by the FHIR
	// server, some perhaps twice (at least once: a produce in flight when
	// the broker died may have been written and is sent again).
	recs := readTopic(t, brokers, "fhir.adt")
	onTopic := map[string]int{}
	firstSeq := map[string][]uint64{} // key -> plexus-seq of first occurrences, in partition order
	for _, r := range recs {
		h := recordHeaders(t, r)
		ctrl := h["plexus-control-id"]
		onTopic[ctrl]++
		if onTopic[ctrl] == 1 {
			seq, _ := strconv.ParseUint(h["plexus-seq"], 10, 64)
			firstSeq[string(r.Key)] = append(firstSeq[string(r.Key)], seq)
		}
	}
	// The admin API tells the story of a message sent during the outage:
	// archived then, delivered to the two others only after they came back.
	// (Its attempts may be 1: while a worker retries the entry at the head
	// of its queue, the entries behind it wait untried.)
	if seqs := seqsOf(recs, "B0-00"); len(seqs) > 0 {
		v := te.message(t, seqs[0])
		for _, d := range v.Deliveries {
			if d.State != "delivered" || d.Dest == "archive" && !d.Updated.Before(recovered) || d.Dest != "archive" && d.Updated.Before(recovered) {
				t.Errorf("B0-00 to %s (recovery at %v): %+v", d.Dest, recovered, d)
			}
		}
		if len(v.Deliveries) != 3 {
			t.Errorf("B0-00: %d deliveries, want 3", len(v.Deliveries))
		}
	}
	accepted := srv.accepted()
	for ctrl := range acked {
		if onTopic[ctrl] == 0 {
			t.Errorf("%s is not on the topic", ctrl)
		}
		if !accepted[ctrl] {
			t.Errorf("%s never reached the FHIR server", ctrl)
		}
	}
	if len(recs) > len(acked) {
		t.Logf("%d records for %d messages: %d duplicates", len(recs), len(acked), len(recs)-len(acked))
	}
	// The outage did not reorder a patient: a message is attempted only
	// after the one before it was acknowledged by the broker.
	for key, seqs := range firstSeq {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("patient %s: seq %d first appears after seq %d", key, seqs[i], seqs[i-1])
			}
		}
	}
	srv.check(t)

	// Memory: loose, to catch a leak of bodies or retries, not to measure.
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("heap in use: %d MB before, %d MB after", before.HeapInuse>>20, after.HeapInuse>>20)
	if after.HeapInuse > 256<<20 {
		t.Errorf("heap in use %d MB after the outage", after.HeapInuse>>20)
	}
}

// archived returns the control ids of the files the archive destination
// wrote in dir: the default name is {seq}-{control id}.json. Temporary
// files (.plexus-*.tmp) are not messages.
func archived(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if _, ctrl, ok := strings.Cut(name, "-"); ok {
			out[ctrl] = true
		}
	}
	return out
}

// seqsOf returns the plexus-seq headers of the records of control id ctrl.
func seqsOf(recs []kafkago.Message, ctrl string) []uint64 {
	var out []uint64
	for _, r := range recs {
		var c, seq string
		for _, h := range r.Headers {
			switch h.Key {
			case "plexus-control-id":
				c = string(h.Value)
			case "plexus-seq":
				seq = string(h.Value)
			}
		}
		if n, err := strconv.ParseUint(seq, 10, 64); err == nil && c == ctrl {
			out = append(out, n)
		}
	}
	return out
}
