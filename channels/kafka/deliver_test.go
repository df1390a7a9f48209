package kafka_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/channels/kafka"
)

func TestDeliverTopic(t *testing.T) {
	_, addr := cluster(t, kfake.SeedTopics(1, "fhir.adt"))
	d := open(t, addr, "topic: fhir.adt")

	body := bundleJSON(t)
	m := msg(42, "12345^^^MRN", string(body))
	start := time.Now().Truncate(time.Millisecond)
	deliver(t, d, m)
	// The destination must not hold on to Body: the engine may reuse it.
	for i := range m.Body {
		m.Body[i] = 'x'
	}

	recs := readAll(t, addr, "fhir.adt", nil)
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	r := recs[0]
	if !bytes.Equal(r.Value, body) {
		t.Errorf("value differs from the Body sent")
	}
	if string(r.Key) != "12345^^^MRN" {
		t.Errorf("key = %q, want the patient key", r.Key)
	}
	if r.Time.Before(start) {
		t.Errorf("record time %v is before the delivery (%v)", r.Time, start)
	}
	want := map[string]string{
		kafka.HeaderIdempotencyKey: "ADT_APP|FACILITY_A|MSG00042",
		kafka.HeaderMessageType:    "ADT^A01",
		kafka.HeaderControlID:      "MSG00042",
		kafka.HeaderSource:         "adt-feed",
		kafka.HeaderRoute:          "admissions",
		kafka.HeaderContentType:    channels.ContentFHIR,
		kafka.HeaderSeq:            "42",
		kafka.HeaderReceived:       "2026-03-09T17:00:00.123Z",
	}
	got := headers(t, r)
	if len(got) != len(want) {
		t.Errorf("headers = %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestDeliverHL7v2Body(t *testing.T) {
	_, addr := cluster(t, kfake.SeedTopics(1, "hl7.raw"))
	d := open(t, addr, "topic: hl7.raw")
	m := msg(1, "p1", "MSH|^~\\&|A|B|C|D|20260309120000||ADT^A01|MSG00001|P|2.5.1\rPID|1||12345\r")
	m.ContentType = channels.ContentHL7v2
	m.Received = time.Time{} // unknown: no header rather than year 1
	deliver(t, d, m)
	recs := readAll(t, addr, "hl7.raw", nil)
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	h := headers(t, recs[0])
	if h[kafka.HeaderContentType] != channels.ContentHL7v2 || string(recs[0].Value) != string(m.Body) {
		t.Errorf("record %q with headers %v", recs[0].Value, h)
	}
	if _, ok := h[kafka.HeaderReceived]; ok {
		t.Errorf("%s header for an unknown receive time", kafka.HeaderReceived)
	}
}

func TestDeliverPerResource(t *testing.T) {
	body := bundleJSON(t)
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  struct{ Method, URL string }
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	// What the split must produce, per topic, in Bundle order.
	type want struct {
		entry           int
		fullURL, req    string
		resource        []byte
		resourceTypeHdr string
	}
	wants := map[string][]want{}
	for i, e := range b.Entry {
		var r struct{ ResourceType string }
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		topic := "fhir." + r.ResourceType
		wants[topic] = append(wants[topic], want{i, e.FullURL, e.Request.Method + " " + e.Request.URL, e.Resource, r.ResourceType})
	}
	if len(wants) < 5 {
		t.Fatalf("test Bundle has only %d resource types", len(wants))
	}
	var topics []string
	for tp := range wants {
		topics = append(topics, tp)
	}
	_, addr := cluster(t, kfake.SeedTopics(1, topics...))
	d := open(t, addr, "topic_per_resource: true")

	deliver(t, d, msg(7, "12345^^^MRN", string(body)))

	for topic, ws := range wants {
		recs := readAll(t, addr, topic, nil)
		if len(recs) != len(ws) {
			t.Errorf("%s: %d records, want %d", topic, len(recs), len(ws))
			continue
		}
		for i, r := range recs {
			w := ws[i]
			if !bytes.Equal(r.Value, w.resource) {
				t.Errorf("%s[%d]: value is not entry %d's resource", topic, i, w.entry)
			}
			if string(r.Key) != "12345^^^MRN" {
				t.Errorf("%s[%d]: key %q", topic, i, r.Key)
			}
			h := headers(t, r)
			for k, v := range map[string]string{
				kafka.HeaderResourceType:   w.resourceTypeHdr,
				kafka.HeaderEntry:          strconv.Itoa(w.entry),
				kafka.HeaderFullURL:        w.fullURL,
				kafka.HeaderRequest:        w.req,
				kafka.HeaderIdempotencyKey: "ADT_APP|FACILITY_A|MSG00007",
				kafka.HeaderContentType:    channels.ContentFHIR,
				kafka.HeaderSeq:            "7",
			} {
				if h[k] != v {
					t.Errorf("%s[%d]: header %s = %q, want %q", topic, i, k, h[k], v)
				}
			}
		}
	}
}

func TestDeliverPerResourceSkipsEntriesWithoutResource(t *testing.T) {
	_, addr := cluster(t, kfake.SeedTopics(1, "x.Patient"))
	d := open(t, addr, "topic_per_resource: true\ntopic_prefix: x.")
	deliver(t, d, msg(1, "p", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"request":{"method":"DELETE","url":"Observation/1"}},
		{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"1"}}]}`))
	// A Bundle without entries has nothing to send, which is success.
	deliver(t, d, msg(2, "p", `{"resourceType":"Bundle","type":"transaction"}`))
	recs := readAll(t, addr, "x.Patient", nil)
	if len(recs) != 1 || headers(t, recs[0])[kafka.HeaderEntry] != "1" {
		t.Fatalf("got %v", recs)
	}
	if _, ok := headers(t, recs[0])[kafka.HeaderRequest]; ok {
		t.Errorf("entry without request got a %s header", kafka.HeaderRequest)
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		key, want string
	}{
		{"patient", "PAT-1"},
		{"message", "ADT_APP|FACILITY_A|MSG00001"},
		{"none", ""},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, addr := cluster(t, kfake.SeedTopics(1, "k"))
			d := open(t, addr, "topic: k\nkey: "+tc.key)
			deliver(t, d, msg(1, "PAT-1", "{}"))
			recs := readAll(t, addr, "k", nil)
			if len(recs) != 1 || string(recs[0].Key) != tc.want {
				t.Fatalf("records %v, want one with key %q", recs, tc.want)
			}
		})
	}
}

// One patient's messages must land in one partition (Kafka orders only
// within a partition).
func TestPatientKeyPicksOnePartition(t *testing.T) {
	_, addr := cluster(t, kfake.SeedTopics(4, "k4"))
	d := open(t, addr, "topic: k4")
	for i := range 20 {
		deliver(t, d, msg(uint64(i), fmt.Sprintf("PAT-%d", i%5), "{}"))
	}
	recs := readAll(t, addr, "k4", nil)
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20", len(recs))
	}
	part := map[string]int{}
	parts := map[int]bool{}
	lastSeq := map[string]int{}
	for _, r := range recs {
		k := string(r.Key)
		if p, ok := part[k]; ok && p != r.Partition {
			t.Errorf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		part[k] = r.Partition
		parts[r.Partition] = true
		seq, _ := strconv.Atoi(headers(t, r)[kafka.HeaderSeq])
		if prev, ok := lastSeq[k]; ok && seq < prev {
			t.Errorf("key %s: seq %d after %d", k, seq, prev)
		}
		lastSeq[k] = seq
	}
	if len(parts) < 2 {
		t.Errorf("5 keys all hashed to one of 4 partitions: %v", part)
	}
}

// Deliver is called from several outbox workers at once; they share one
// writer (run with -race).
func TestConcurrentDeliver(t *testing.T) {
	_, addr := cluster(t, kfake.SeedTopics(3, "conc"))
	d := open(t, addr, "topic: conc")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				seq := uint64(w*each + i)
				if err := d.Deliver(t.Context(), msg(seq, fmt.Sprintf("PAT-%d", w), fmt.Sprintf(`{"n":%d}`, seq))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs := readAll(t, addr, "conc", nil)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[headers(t, r)[kafka.HeaderIdempotencyKey]] = true
	}
	if len(recs) != workers*each || len(seen) != workers*each {
		t.Fatalf("%d records, %d distinct, want %d", len(recs), len(seen), workers*each)
	}
}

func TestCompression(t *testing.T) {
	for _, c := range []string{"gzip", "snappy", "lz4", "zstd"} {
		t.Run(c, func(t *testing.T) {
			_, addr := cluster(t, kfake.SeedTopics(1, "z"))
			d := open(t, addr, "topic: z\ncompression: "+c)
			body := bundleJSON(t)
			deliver(t, d, msg(1, "p", string(body)))
			recs := readAll(t, addr, "z", nil)
			if len(recs) != 1 || !bytes.Equal(recs[0].Value, body) {
				t.Fatalf("round trip through %s failed", c)
			}
		})
	}
}
