package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/plexus-hl7/plexus/channels"
)

// compression maps the compression setting to kafka-go's codec (0 is
// none); ok is false for an unknown name.
func compression(name string) (c compress.Compression, ok bool) {
	switch name {
	case "none":
		return 0, true
	case "gzip":
		return kafkago.Gzip, true
	case "snappy":
		return kafkago.Snappy, true
	case "lz4":
		return kafkago.Lz4, true
	case "zstd":
		return kafkago.Zstd, true
	}
	return 0, false
}

// Destination writes to Kafka through one kafka-go Writer shared by every
// Deliver, so that concurrent deliveries to a partition go out in one
// produce request.
type Destination struct {
	cfg       Config
	name      string
	w         *kafkago.Writer
	transport *kafkago.Transport
}

// Open builds the writer. It does not connect: kafka-go dials on the first
// Deliver, so a cluster that is down at start fails deliveries (retried),
// not the engine's start.
func (c *Config) Open(_ context.Context, o channels.OpenOptions) (channels.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	codec, _ := compression(c.Compression)
	tlsConf, err := c.TLS.Config(o.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("kafka destination %s: %w", o.Name, err)
	}
	mech, err := c.SASL.mechanism(o.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("kafka destination %s: sasl: %w", o.Name, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	t := &kafkago.Transport{
		Dial:        (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		DialTimeout: c.DialTimeout,
		MetadataTTL: c.MetadataTTL,
		ClientID:    c.ClientID,
		TLS:         tlsConf,
		SASL:        mech,
	}
	if !c.TopicPerResource {
		// Without a list the transport fetches the metadata of every topic
		// in the cluster on each refresh.
		t.MetadataTopics = []string{c.Topic}
	}
	w := &kafkago.Writer{
		Addr:      kafkago.TCP(c.Brokers...),
		Transport: t,
		// Same partition as the Java client for the same key, so that
		// other producers of a topic agree on where a patient lives.
		Balancer: &kafkago.Murmur2Balancer{},
		// A struct-literal Writer defaults to acks=0: Deliver would
		// return before any broker had the record.
		RequiredAcks:           kafkago.RequireAll,
		MaxAttempts:            c.MaxAttempts,
		BatchSize:              c.BatchSize,
		BatchBytes:             c.MaxMessageBytes,
		BatchTimeout:           c.BatchTimeout,
		WriteTimeout:           c.WriteTimeout,
		Compression:            codec,
		AllowAutoTopicCreation: c.AllowAutoTopicCreation,
		// kafka-go logs every failed attempt; the engine logs the
		// delivery's outcome, so these are detail.
		ErrorLogger: kafkago.LoggerFunc(func(format string, args ...any) {
			log.Debug("kafka-go: " + fmt.Sprintf(format, args...))
		}),
	}
	return &Destination{cfg: *c, name: o.Name, w: w, transport: t}, nil
}

// Deliver writes m and returns once every record was acknowledged by all
// in-sync replicas. When ctx ends first it returns ctx's error; the records
// may still be written (at least once: the idempotency key header lets the
// receiver drop the duplicate of the retry).
func (d *Destination) Deliver(ctx context.Context, m *channels.Message) error {
	recs, err := d.records(m)
	if err != nil || len(recs) == 0 {
		return err
	}
	if err := d.w.WriteMessages(ctx, recs...); err != nil {
		return classify(recs, err)
	}
	return nil
}

// Close sends what is batched, waits for the writes in flight, and closes
// the connections. The writer does not close a Transport it did not make
// itself, so we do: that also stops its metadata goroutine.
func (d *Destination) Close() error {
	err := d.w.Close()
	d.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("kafka destination %s: close: %w", d.name, err)
	}
	return nil
}

// mechanism builds the SASL mechanism, resolving the password; nil without
// a sasl block.
func (s *SASL) mechanism(baseDir string) (sasl.Mechanism, error) {
	if s == nil {
		return nil, nil
	}
	pass, err := s.Password.Resolve(s.PasswordFile, baseDir)
	if err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	switch s.Mechanism {
	case MechPlain:
		return plain.Mechanism{Username: s.Username, Password: pass}, nil
	case MechSCRAMSHA256:
		return scram.Mechanism(scram.SHA256, s.Username, pass)
	case MechSCRAMSHA512:
		return scram.Mechanism(scram.SHA512, s.Username, pass)
	}
	return nil, fmt.Errorf("unknown mechanism %q", s.Mechanism)
}
