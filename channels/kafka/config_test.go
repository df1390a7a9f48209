package kafka_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/channels/kafka"
)

func TestDefaults(t *testing.T) {
	got := decode(t, "brokers: [k:9092]\ntopic: t").(*kafka.Config)
	want := &kafka.Config{
		Brokers:         []string{"k:9092"},
		Topic:           "t",
		TopicPrefix:     "fhir.",
		Key:             "patient",
		Compression:     "none",
		BatchTimeout:    2 * time.Millisecond,
		BatchSize:       100,
		WriteTimeout:    10 * time.Second,
		DialTimeout:     5 * time.Second,
		MetadataTTL:     6 * time.Second,
		MaxMessageBytes: 1 << 20,
		MaxAttempts:     3,
		ClientID:        "plexus",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults with brokers and topic do not validate: %v", err)
	}
}

// The snippet in the package comment is what users copy: it must decode
// strictly and validate.
func TestDocSnippet(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(src)) {
		if s, ok := strings.CutPrefix(l, "//\t"); ok {
			lines = append(lines, s)
		} else if len(lines) > 0 {
			break
		}
	}
	var doc struct {
		Destinations map[string]map[string]any `yaml:"destinations"`
	}
	if err := yaml.Unmarshal([]byte(strings.Join(lines, "")), &doc); err != nil {
		t.Fatalf("snippet: %v", err)
	}
	block, err := yaml.Marshal(doc.Destinations["events"]["kafka"])
	if err != nil {
		t.Fatal(err)
	}
	cfg := decode(t, string(block)).(*kafka.Config)
	if err := cfg.Validate(); err != nil {
		t.Errorf("snippet does not validate: %v", err)
	}
	if cfg.SASL == nil || cfg.SASL.Password != "${KAFKA_PASSWORD}" || cfg.BatchTimeout != 2*time.Millisecond {
		t.Errorf("snippet decoded to %+v", cfg)
	}
}

func TestDecodeStrict(t *testing.T) {
	k, _ := channels.Lookup("kafka")
	for _, src := range []string{
		"brokers: [k:9092]\ntopic: t\ntopics: x",
		"brokers: [k:9092]\ntopic: t\nsasl: {mechanism: plain, user: u}",
		"brokers: [k:9092]\ntopic: t\nbatch_timeout: soon",
	} {
		if err := yaml.UnmarshalWithOptions([]byte(src), k.New(), yaml.Strict()); err == nil {
			t.Errorf("decoded without error:\n%s", src)
		}
	}
}

// Strict decoding only knows fields with a yaml tag; an untagged field
// would be settable as its lower-cased Go name, which is not our style.
func TestEveryFieldHasSnakeCaseTag(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for _, typ := range []reflect.Type{reflect.TypeFor[kafka.Config](), reflect.TypeFor[kafka.SASL]()} {
		for f := range typ.Fields() {
			if tag := f.Tag.Get("yaml"); !snake.MatchString(tag) {
				t.Errorf("%s.%s: yaml tag %q", typ.Name(), f.Name, tag)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 250)
	for _, tc := range []struct {
		name, src string
		fields    []string
	}{
		{"minimal", "brokers: [k:9092]\ntopic: t", nil},
		{"per resource", "brokers: [k:9092]\ntopic_per_resource: true\ntopic_prefix: ''", nil},
		{"nothing", "{}", []string{"brokers", "topic"}},
		{"bad brokers", "brokers: ['k:9092', localhost, ':9092', 'h:0', 'h:x', '[::1]:9092']\ntopic: t",
			[]string{"brokers[1]", "brokers[2]", "brokers[3]", "brokers[4]"}},
		{"topic and per resource", "brokers: [k:9092]\ntopic: t\ntopic_per_resource: true", []string{"topic"}},
		{"topic with a space", "brokers: [k:9092]\ntopic: fhir adt", []string{"topic"}},
		{"topic ..", "brokers: [k:9092]\ntopic: '..'", []string{"topic"}},
		{"topic too long", "brokers: [k:9092]\ntopic: " + long, []string{"topic"}},
		{"topic not ASCII", "brokers: [k:9092]\ntopic: fhir.pätient", []string{"topic"}},
		{"bad prefix", "brokers: [k:9092]\ntopic_per_resource: true\ntopic_prefix: fhir/", []string{"topic_prefix"}},
		{"long prefix", "brokers: [k:9092]\ntopic_per_resource: true\ntopic_prefix: " + long[:220], []string{"topic_prefix"}},
		{"enums", "brokers: [k:9092]\ntopic: t\nkey: mrn\ncompression: brotli", []string{"compression", "key"}},
		{"numbers", "brokers: [k:9092]\ntopic: t\nbatch_timeout: 0s\nwrite_timeout: -1s\ndial_timeout: 0s\nmetadata_ttl: 0s\nbatch_size: 0\nmax_message_bytes: 100\nmax_attempts: 0",
			[]string{"batch_size", "batch_timeout", "dial_timeout", "max_attempts", "max_message_bytes", "metadata_ttl", "write_timeout"}},
		{"tls cert without key", "brokers: [k:9092]\ntopic: t\ntls: {cert: c.pem}", []string{"tls.cert"}},
		{"empty sasl", "brokers: [k:9092]\ntopic: t\nsasl: {}", []string{"sasl.mechanism", "sasl.password", "sasl.username"}},
		{"sasl both passwords, unknown mechanism", "brokers: [k:9092]\ntopic: t\nsasl: {mechanism: gssapi, username: u, password: p, password_file: f}",
			[]string{"sasl.mechanism", "sasl.password"}},
		{"sasl ok", "brokers: [k:9092]\ntopic: t\nsasl: {mechanism: scram-sha-512, username: u, password_file: /run/secrets/k}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decode(t, tc.src).Validate()
			var got []string
			for _, f := range channels.FieldErrors(err) {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %q, want %q (%v)", got, tc.fields, err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Setenv("KAFKA_PW", "x") // an unset variable is a warning of its own
	for _, tc := range []struct {
		src    string
		fields []string
	}{
		{"topic: t", nil},
		{"topic: t\nsasl: {mechanism: scram-sha-256, username: u, password: \"${KAFKA_PW}\"}", nil},
		{"topic: t\nsasl: {mechanism: scram-sha-256, username: u, password: hunter2}", []string{"sasl.password"}},
		{"topic: t\nsasl: {mechanism: plain, username: u, password_file: f}", []string{"sasl.mechanism"}},
		{"topic: t\ntls: {ca: ca.pem}\nsasl: {mechanism: plain, username: u, password_file: f}", nil},
	} {
		w, ok := decode(t, "brokers: [k:9092]\n"+tc.src).(channels.Warner)
		if !ok {
			t.Fatal("Config does not implement channels.Warner")
		}
		var got []string
		for _, f := range w.Warnings() {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, tc.fields) {
			t.Errorf("%s: warnings %q, want %q", tc.src, got, tc.fields)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, src := range []string{
		"topic: t\nsasl: {mechanism: plain, username: u, password_file: /nonexistent/pw}",
		"topic: t\nsasl: {mechanism: plain, username: u, password: \"${PLEXUS_TEST_UNSET_VARIABLE}\"}",
		"topic: t\ntls: {ca: /nonexistent/ca.pem}",
		"topic: 'bad topic'",
	} {
		cfg := decode(t, "brokers: [k:9092]\n"+src)
		if d, err := cfg.Open(t.Context(), channels.OpenOptions{Name: "x"}); err == nil {
			d.Close()
			t.Errorf("Open succeeded:\n%s", src)
		}
	}
}

func TestAccepts(t *testing.T) {
	one := decode(t, "brokers: [k:9092]\ntopic: t")
	split := decode(t, "brokers: [k:9092]\ntopic_per_resource: true")
	for _, tc := range []struct {
		cfg  channels.Config
		ct   string
		want bool
	}{
		{one, channels.ContentFHIR, true},
		{one, channels.ContentHL7v2, true},
		{split, channels.ContentFHIR, true},
		{split, channels.ContentHL7v2, false},
	} {
		a, ok := tc.cfg.(channels.Accepter)
		if !ok {
			t.Fatal("Config does not implement channels.Accepter")
		}
		if got := a.Accepts(tc.ct); got != tc.want {
			t.Errorf("%+v: Accepts(%s) = %v", tc.cfg, tc.ct, got)
		}
	}
}
