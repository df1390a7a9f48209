package kafka

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func init() {
	channels.Register(channels.Kind{Name: "kafka", New: func() channels.Config { return New() }})
}

// Values of Config.Key.
const (
	KeyPatient = "patient" // channels.Message.Key: one patient, one partition, in order
	KeyMessage = "message" // channels.Message.IdempotencyKey: spread, no order across messages
	KeyNone    = "none"    // no key: random partition
)

// Config is the `kafka:` block of a destination in routes.yaml. New fills
// in the defaults; the engine decodes the file over it.
type Config struct {
	// Brokers are the bootstrap brokers, host:port each.
	Brokers []string `yaml:"brokers"`
	// Topic receives the whole Body as one record. Exclusive with
	// TopicPerResource.
	Topic string `yaml:"topic"`
	// TopicPerResource splits the Bundle: each entry's resource is one
	// record on TopicPrefix + resourceType (fhir.Patient, ...).
	TopicPerResource bool   `yaml:"topic_per_resource"`
	TopicPrefix      string `yaml:"topic_prefix"`
	// Key is what becomes the record key: patient, message or none.
	Key string `yaml:"key"`
	// Compression is none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
	// BatchTimeout is how long the shared writer waits for more records
	// before it sends a partial batch. It is the floor of every Deliver's
	// latency, hence small; concurrent Delivers still share batches.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// BatchSize is the most records in one produce request per partition.
	BatchSize int `yaml:"batch_size"`
	// WriteTimeout bounds one produce request (and its acks=all wait).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// DialTimeout bounds connecting, including TLS and SASL.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MetadataTTL is how often the cluster layout is refreshed: how soon a
	// new topic, a new leader or a broker that came back is noticed.
	MetadataTTL time.Duration `yaml:"metadata_ttl"`
	// MaxMessageBytes is the largest record (key, value and headers) and
	// the largest batch. A larger record is refused without sending it.
	// Keep it at or below the topic's max.message.bytes.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxAttempts is how often the writer tries one batch before Deliver
	// fails (and the engine's own retry with backoff takes over).
	MaxAttempts int `yaml:"max_attempts"`
	// AllowAutoTopicCreation asks the broker to create a missing topic
	// (only if the broker allows it too). Off, a missing topic fails each
	// delivery with a retryable error until an operator creates it.
	AllowAutoTopicCreation bool   `yaml:"allow_auto_topic_creation"`
	ClientID               string `yaml:"client_id"`

	TLS  *channels.TLS `yaml:"tls"`
	SASL *SASL         `yaml:"sasl"`
}

// SASL is the `sasl:` block: one mechanism with a user and a password.
type SASL struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512.
	Mechanism    string          `yaml:"mechanism"`
	Username     string          `yaml:"username"`
	Password     channels.Secret `yaml:"password"`
	PasswordFile string          `yaml:"password_file"`
}

// SASL mechanism names as written in routes.yaml.
const (
	MechPlain       = "plain"
	MechSCRAMSHA256 = "scram-sha-256"
	MechSCRAMSHA512 = "scram-sha-512"
)

// New returns a Config holding the defaults.
func New() *Config {
	return &Config{
		TopicPrefix: "fhir.",
		Key:         KeyPatient,
		Compression: "none",
		// kafka-go waits 1s by default for a batch to fill: every
		// synchronous Deliver would take a second.
		BatchTimeout:    2 * time.Millisecond,
		BatchSize:       100,
		WriteTimeout:    10 * time.Second,
		DialTimeout:     5 * time.Second,
		MetadataTTL:     6 * time.Second,
		MaxMessageBytes: 1 << 20, // the broker's default message.max.bytes, less its 12 bytes of slack
		MaxAttempts:     3,
		ClientID:        "plexus",
	}
}

const (
	// maxTopicLen is Kafka's limit on a topic name.
	maxTopicLen = 249
	// maxResourceTypeLen bounds a resourceType used as a topic suffix.
	maxResourceTypeLen = 40
)

// Validate checks the settings without touching the network.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, channels.Fieldf(field, format, args...))
	}

	if len(c.Brokers) == 0 {
		add("brokers", "at least one broker (host:port) is required")
	}
	for i, b := range c.Brokers {
		if msg := checkBroker(b); msg != "" {
			add("brokers["+strconv.Itoa(i)+"]", "%s", msg)
		}
	}

	switch {
	case c.TopicPerResource && c.Topic != "":
		add("topic", "set either topic or topic_per_resource, not both")
	case c.TopicPerResource:
		// The resource type is appended: leave room for it (the longest
		// in R4, MedicinalProductUndesirableEffect, has 33 letters).
		if msg := checkTopic(c.TopicPrefix, true); msg != "" {
			add("topic_prefix", "%s", msg)
		} else if len(c.TopicPrefix) > maxTopicLen-maxResourceTypeLen {
			add("topic_prefix", "longer than %d characters", maxTopicLen-maxResourceTypeLen)
		}
	case c.Topic == "":
		add("topic", "required (or set topic_per_resource: true)")
	default:
		if msg := checkTopic(c.Topic, false); msg != "" {
			add("topic", "%s", msg)
		}
	}

	switch c.Key {
	case KeyPatient, KeyMessage, KeyNone:
	default:
		add("key", "unknown key %q (use patient, message or none)", c.Key)
	}
	if _, ok := compression(c.Compression); !ok {
		add("compression", "unknown compression %q (use none, gzip, snappy, lz4 or zstd)", c.Compression)
	}

	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"batch_timeout", c.BatchTimeout},
		{"write_timeout", c.WriteTimeout},
		{"dial_timeout", c.DialTimeout},
		{"metadata_ttl", c.MetadataTTL},
	} {
		if d.v <= 0 {
			add(d.field, "must be a positive duration such as 5s")
		}
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be at least 1")
	}
	if c.MaxMessageBytes < 1024 {
		add("max_message_bytes", "must be at least 1024")
	}
	if c.MaxAttempts < 1 {
		add("max_attempts", "must be at least 1")
	}

	errs = append(errs, channels.Prefix("tls", c.TLS.Validate()))
	if c.SASL != nil {
		errs = append(errs, channels.Prefix("sasl", c.SASL.Validate()))
	}
	return errors.Join(errs...)
}

// Validate checks the sasl block.
func (s *SASL) Validate() error {
	var errs []error
	switch s.Mechanism {
	case MechPlain, MechSCRAMSHA256, MechSCRAMSHA512:
	case "":
		errs = append(errs, channels.Fieldf("mechanism", "required: plain, scram-sha-256 or scram-sha-512"))
	default:
		errs = append(errs, channels.Fieldf("mechanism", "unknown mechanism %q (use plain, scram-sha-256 or scram-sha-512)", s.Mechanism))
	}
	if s.Username == "" {
		errs = append(errs, channels.Fieldf("username", "required"))
	}
	switch {
	case s.Password != "" && s.PasswordFile != "":
		errs = append(errs, channels.Fieldf("password", "set either password or password_file, not both"))
	case s.Password == "" && s.PasswordFile == "":
		errs = append(errs, channels.Fieldf("password", "required (password: ${ENV_VAR} or password_file)"))
	}
	return errors.Join(errs...)
}

// Accepts reports whether the destination can take contentType: any with
// one topic; only FHIR Bundles when they are split per resource.
func (c *Config) Accepts(contentType string) bool {
	return !c.TopicPerResource || contentType == channels.ContentFHIR
}

// Warnings points at a password written inline, and at PLAIN without TLS,
// which sends the password in clear text.
func (c *Config) Warnings() []*channels.FieldError {
	if c.SASL == nil {
		return nil
	}
	var out []*channels.FieldError
	if w := channels.InlineWarning("sasl.password", c.SASL.Password); w != nil {
		out = append(out, w)
	}
	if c.SASL.Mechanism == MechPlain && !c.TLS.On() {
		out = append(out, channels.Fieldf("sasl.mechanism", "plain without tls sends the password in clear text"))
	}
	return out
}

// checkBroker returns what is wrong with a host:port, or "".
func checkBroker(b string) string {
	host, port, err := net.SplitHostPort(b)
	if err != nil {
		return "want host:port, got " + strconv.Quote(b)
	}
	if host == "" {
		return "missing host in " + strconv.Quote(b)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "bad port in " + strconv.Quote(b)
	}
	return ""
}

// checkTopic returns what is wrong with a topic name (or, prefix true, the
// start of one), or "". Kafka allows ASCII letters, digits, '.', '_' and
// '-'; a broker would refuse anything else with INVALID_TOPIC_EXCEPTION on
// every delivery.
func checkTopic(t string, prefix bool) string {
	if t == "" {
		if prefix {
			return ""
		}
		return "empty topic name"
	}
	if !prefix && (t == "." || t == "..") {
		return "topic name cannot be \".\" or \"..\""
	}
	if len(t) > maxTopicLen {
		return "longer than " + strconv.Itoa(maxTopicLen) + " characters"
	}
	for _, r := range t {
		if !topicChar(r) {
			return "character " + strconv.QuoteRune(r) + " not allowed in a topic name (letters, digits, '.', '_', '-')"
		}
	}
	return ""
}

func topicChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
