package kafka_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plexus-hl7/plexus/channels"
	_ "github.com/plexus-hl7/plexus/channels/kafka"
)

// cluster starts a one-broker kfake cluster with the given options and
// returns it with its address.
func cluster(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// decode does what the engine does with a destination's block: the kind's
// defaults, then the YAML over them in strict mode.
func decode(t *testing.T, src string) channels.Config {
	t.Helper()
	k, ok := channels.Lookup("kafka")
	if !ok {
		t.Fatal(`kind "kafka" is not registered`)
	}
	cfg := k.New()
	if err := yaml.UnmarshalWithOptions([]byte(src), cfg, yaml.Strict()); err != nil {
		t.Fatalf("decode:\n%s\n%v", src, err)
	}
	return cfg
}

// open decodes, validates and opens a destination; brokers is prepended to
// src. A small metadata_ttl (unless src sets one) lets tests that wait for
// the writer to notice a change finish quickly.
func open(t *testing.T, addr, src string) channels.Destination {
	t.Helper()
	if !strings.Contains(src, "metadata_ttl") {
		src += "\nmetadata_ttl: 50ms"
	}
	cfg := decode(t, fmt.Sprintf("brokers: [%q]\n%s", addr, src))
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	d, err := cfg.Open(context.Background(), channels.OpenOptions{Name: t.Name(), BaseDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

// msg is a delivery with every field set.
func msg(seq uint64, key string, body string) *channels.Message {
	return &channels.Message{
		Seq:            seq,
		Route:          "admissions",
		Key:            key,
		IdempotencyKey: fmt.Sprintf("ADT_APP|FACILITY_A|MSG%05d", seq),
		Source:         "adt-feed",
		MessageType:    "ADT^A01",
		ControlID:      fmt.Sprintf("MSG%05d", seq),
		ContentType:    channels.ContentFHIR,
		Body:           []byte(body),
		Attempt:        1,
		Received:       time.Date(2026, 3, 9, 12, 0, 0, 123e6, time.FixedZone("EST", -5*3600)),
	}
}

// bundleJSON is a real Bundle: testdata/adt_a01.bundle.json.
func bundleJSON(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/adt_a01.bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliver is Deliver with a test deadline, failing the test on error.
func deliver(t *testing.T, d channels.Destination, m *channels.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Deliver(ctx, m); err != nil {
		t.Fatalf("deliver seq %d: %v", m.Seq, err)
	}
}

// deliverEventually retries Deliver until it succeeds, as the engine would,
// for the tests where the writer has to notice a change (a topic created, a
// broker back). It returns the first error seen. The bound is a safety
// net, not an assertion about time.
func deliverEventually(t *testing.T, d channels.Destination, m *channels.Message) (first error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		err := d.Deliver(ctx, m)
		if err == nil {
			return first
		}
		if channels.IsPermanent(err) {
			t.Fatalf("deliver: permanent error while waiting for recovery: %v", err)
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			t.Fatalf("deliver never succeeded: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readAll reads every record of topic, partition by partition, with a
// kafka-go Reader: it asks each partition's leader for the high watermark
// first, so it knows how many to read and never waits on a timer. (Its
// metadata requests ask for auto-creation, see topicExists: call it only
// for topics that exist.)
func readAll(t *testing.T, addr, topic string, dialer *kafkago.Dialer) []kafkago.Message {
	t.Helper()
	if dialer == nil {
		dialer = &kafkago.Dialer{Timeout: 5 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
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
			t.Fatalf("dial leader %s/%d: %v", topic, p.ID, err)
		}
		n, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatalf("last offset %s/%d: %v", topic, p.ID, err)
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

// headers returns a record's headers as a map, failing on a repeated one.
func headers(t *testing.T, m kafkago.Message) map[string]string {
	t.Helper()
	h := map[string]string{}
	for _, kv := range m.Headers {
		if _, dup := h[kv.Key]; dup {
			t.Errorf("header %s repeated", kv.Key)
		}
		h[kv.Key] = string(kv.Value)
	}
	return h
}
