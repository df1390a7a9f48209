package kafka_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/plexus-hl7/plexus/channels"
)

// A broker error that clears (a leader election) is retryable; once it
// clears, the same message goes through.
func TestLeaderErrorIsRetriedThenSucceeds(t *testing.T) {
	c, addr := cluster(t, kfake.SeedTopics(1, "t"))
	d := open(t, addr, "topic: t\nmax_attempts: 1")

	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotLeaderForPartition, Count: -1})
	err := d.Deliver(t.Context(), msg(1, "p", "{}"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if !errors.Is(err, kafkago.NotLeaderForPartition) || !strings.Contains(err.Error(), "kafka produce to t:") {
		t.Errorf("err = %v, want NOT_LEADER wrapped with the topic", err)
	}

	h.Remove()
	deliver(t, d, msg(1, "p", "{}"))
	if n := len(readAll(t, addr, "t", nil)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

// With max_attempts > 1, kafka-go's own retry rides out a short blip and
// Deliver never sees it.
func TestWriterRetriesWithinDeliver(t *testing.T) {
	c, addr := cluster(t, kfake.SeedTopics(1, "t"))
	d := open(t, addr, "topic: t\nmax_attempts: 3")
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.LeaderNotAvailable, Count: 2})
	deliver(t, d, msg(1, "p", "{}"))
	if h.Hits() != 2 {
		t.Errorf("fault answered %d produce requests, want 2", h.Hits())
	}
}

// A cluster that is down when the destination opens: Open succeeds,
// deliveries fail with retryable errors, and go through once it is up.
func TestBrokerDownThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	d := open(t, addr, "topic: t")

	first := d.Deliver(t.Context(), msg(1, "p", "{}"))
	if first == nil || channels.IsPermanent(first) {
		t.Fatalf("deliver to a down cluster: err = %v, want a retryable error", first)
	}

	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	_, _ = cluster(t, kfake.Ports(p), kfake.SeedTopics(1, "t"))
	deliverEventually(t, d, msg(1, "p", "{}"))
	recs := readAll(t, addr, "t", nil)
	if len(recs) == 0 {
		t.Fatal("no record after the cluster came up")
	}
}

// A missing topic is retryable (an operator may create it) and is not
// created behind the operator's back.
func TestMissingTopicThenCreated(t *testing.T) {
	_, addr := cluster(t, kfake.AllowAutoTopicCreation()) // the broker would, if asked
	d := open(t, addr, "topic: late")

	err := d.Deliver(t.Context(), msg(1, "p", "{}"))
	if err == nil || channels.IsPermanent(err) || !errors.Is(err, kafkago.UnknownTopicOrPartition) {
		t.Fatalf("err = %v, want a retryable UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	if topicExists(t, addr, "late") {
		t.Fatal("the topic was auto-created although allow_auto_topic_creation is false")
	}

	createTopic(t, addr, "late")
	deliverEventually(t, d, msg(1, "p", "{}"))
	if n := len(readAll(t, addr, "late", nil)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestAutoCreateTopic(t *testing.T) {
	_, addr := cluster(t, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	d := open(t, addr, "topic: auto\nallow_auto_topic_creation: true")
	deliver(t, d, msg(1, "p", "{}"))
	if n := len(readAll(t, addr, "auto", nil)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestPermanentErrors(t *testing.T) {
	big := `{"pad":"` + strings.Repeat("x", 4000) + `"}`
	for _, tc := range []struct {
		name  string
		opts  []kfake.Opt
		fault *kfake.Fault
		cfg   string
		m     *channels.Message
		is    error // in the chain, when set
	}{
		{
			name: "record larger than max_message_bytes",
			cfg:  "topic: t\nmax_message_bytes: 1024",
			m:    msg(1, "p", big),
			is:   kafkago.MessageSizeTooLarge,
		},
		{
			name: "broker MESSAGE_TOO_LARGE",
			opts: []kfake.Opt{kfake.BrokerConfigs(map[string]string{"message.max.bytes": "2048"})},
			cfg:  "topic: t",
			m:    msg(1, "p", big),
			is:   kafkago.MessageSizeTooLarge,
		},
		{
			name:  "topic authorization failed",
			fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.TopicAuthorizationFailed, Count: -1},
			cfg:   "topic: t",
			m:     msg(1, "p", "{}"),
			is:    kafkago.TopicAuthorizationFailed,
		},
		{
			name:  "invalid topic",
			fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.InvalidTopicException, Count: -1},
			cfg:   "topic: t",
			m:     msg(1, "p", "{}"),
			is:    kafkago.InvalidTopic,
		},
		{
			name: "per resource: not a FHIR body",
			cfg:  "topic_per_resource: true",
			m: func() *channels.Message {
				m := msg(1, "p", "MSH|^~\\&|...")
				m.ContentType = channels.ContentHL7v2
				return m
			}(),
		},
		{
			name: "per resource: not JSON",
			cfg:  "topic_per_resource: true",
			m:    msg(1, "p", "{"),
		},
		{
			name: "per resource: not a Bundle",
			cfg:  "topic_per_resource: true",
			m:    msg(1, "p", `{"resourceType":"Patient"}`),
		},
		{
			name: "per resource: resourceType unfit for a topic",
			cfg:  "topic_per_resource: true",
			m:    msg(1, "p", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Pa/tient"}}]}`),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, addr := cluster(t, append(tc.opts, kfake.SeedTopics(1, "t"))...)
			if tc.fault != nil {
				c.Fault(*tc.fault)
			}
			d := open(t, addr, tc.cfg)
			err := d.Deliver(t.Context(), tc.m)
			if !channels.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v in its chain", err, tc.is)
			}
			if len(channels.Detail(err)) == 0 && tc.is != nil {
				t.Errorf("no detail for the message browser")
			}
		})
	}
}

// Deliver honours ctx while the broker sits on the produce request. The
// broker then answers with a retryable error and kafka-go tries again on
// its own, after Deliver has returned: the record is written late (the
// at-least-once case the idempotency key is for), and must be the Body as
// it was at Deliver although the engine has reused that memory since.
func TestContextCancelWhileProducing(t *testing.T) {
	c, addr := cluster(t, kfake.SeedTopics(1, "t"))
	d := open(t, addr, "topic: t\nmax_attempts: 3")

	held := make(chan struct{})
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		close(held)
		c.SleepControl(func() { <-release })
		return notLeader(r.(*kmsg.ProduceRequest)), nil, true // answers (and drops) this control
	})

	ctx, cancel := context.WithCancel(t.Context())
	m := msg(1, "p", `{"n":1}`)
	done := make(chan error)
	go func() { done <- d.Deliver(ctx, m) }()
	<-held
	cancel()
	err := <-done
	copy(m.Body, "garbage")
	close(release)
	if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable context.Canceled", err)
	}

	deliver(t, d, msg(2, "p", `{"n":2}`)) // queued behind the retry
	recs := readAll(t, addr, "t", nil)
	if len(recs) != 2 {
		t.Fatalf("%d records, want the cancelled one (written late) and the next", len(recs))
	}
	if string(recs[0].Value) != `{"n":1}` || string(recs[1].Value) != `{"n":2}` {
		t.Errorf("values %q, %q: the late record must hold the Body as it was at Deliver", recs[0].Value, recs[1].Value)
	}
}

// notLeader answers every partition of req with NOT_LEADER_FOR_PARTITION.
func notLeader(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = kerr.NotLeaderForPartition.Code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// topicExists asks the cluster through kafka-go's Client, whose metadata
// requests do not ask for auto-creation. (Conn.ReadPartitions, and so
// Dialer.DialLeader and a partition Reader, send AllowAutoTopicCreation:
// true, which would create the topic it asks about.)
func topicExists(t *testing.T, addr, topic string) bool {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&kafkago.Client{Addr: kafkago.TCP(addr), Transport: tr}).Metadata(t.Context(), &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range res.Topics {
		if tp.Name == topic {
			return tp.Error == nil
		}
	}
	return false
}

func createTopic(t *testing.T, addr, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&kafkago.Client{Addr: kafkago.TCP(addr), Transport: tr}).CreateTopics(ctx, &kafkago.CreateTopicsRequest{
		Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}},
	})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}
