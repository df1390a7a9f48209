package mllp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func TestRegisteredWithDefaults(t *testing.T) {
	k, ok := channels.Lookup("mllp")
	if !ok {
		t.Fatal(`"mllp" not registered`)
	}
	c, ok := k.New().(*Config)
	if !ok {
		t.Fatalf("New returned %T", k.New())
	}
	want := Config{AckTimeout: 30 * time.Second, ConnectTimeout: 10 * time.Second, MaxConns: 1, MaxFrameSize: 1 << 20}
	if *c != want {
		t.Fatalf("defaults = %+v, want %+v", *c, want)
	}
	// The defaults only lack the address.
	if got := fields(c.Validate()); !slices.Equal(got, []string{"addr"}) {
		t.Fatalf("Validate(defaults) fields = %v, want [addr]", got)
	}
}

func fields(err error) []string {
	var out []string
	for _, f := range channels.FieldErrors(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*Config)
		fields []string // nil: valid
	}{
		{"valid", func(c *Config) {}, nil},
		{"ipv6", func(c *Config) { c.Addr = "[::1]:2575" }, nil},
		{"mutual TLS", func(c *Config) { c.TLS = channels.TLS{CA: "ca.pem", Cert: "c.pem", Key: "k.pem"} }, nil},
		{"addr missing", func(c *Config) { c.Addr = "" }, []string{"addr"}},
		{"addr without port", func(c *Config) { c.Addr = "lab.example.org" }, []string{"addr"}},
		{"addr without host", func(c *Config) { c.Addr = ":2575" }, []string{"addr"}},
		{"port not a number", func(c *Config) { c.Addr = "lab:hl7" }, []string{"addr"}},
		{"port out of range", func(c *Config) { c.Addr = "lab:65536" }, []string{"addr"}},
		{"ack_timeout zero", func(c *Config) { c.AckTimeout = 0 }, []string{"ack_timeout"}},
		{"connect_timeout negative", func(c *Config) { c.ConnectTimeout = -time.Second }, []string{"connect_timeout"}},
		{"max_conns zero", func(c *Config) { c.MaxConns = 0 }, []string{"max_conns"}},
		{"max_frame_size zero", func(c *Config) { c.MaxFrameSize = 0 }, []string{"max_frame_size"}},
		{"tls cert without key", func(c *Config) { c.TLS.Cert = "c.pem" }, []string{"tls.cert"}},
		{"tls server_name alone", func(c *Config) { c.TLS.ServerName = "lab" }, []string{"tls.server_name"}},
		{"tls insecure alone", func(c *Config) { c.TLS.InsecureSkipVerify = true }, []string{"tls.insecure_skip_verify"}},
		{"everything wrong", func(c *Config) {
			*c = Config{Addr: "x", MaxConns: -1, TLS: channels.TLS{Key: "k.pem"}}
		}, []string{"addr", "ack_timeout", "connect_timeout", "max_conns", "max_frame_size", "tls.cert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			c.Addr = "lab.example.org:2575"
			tt.set(c)
			err := c.Validate()
			if got := fields(err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
			for _, f := range channels.FieldErrors(err) {
				if f.Msg == "" || strings.Contains(f.Msg, "%!") {
					t.Errorf("bad message %q", f.Msg)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	c := New()
	c.Addr = "lab:2575"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("defaults warn: %v", w)
	}
	c.TLS = channels.TLS{Enabled: true, InsecureSkipVerify: true}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Field)
	}
	if want := []string{"tls.insecure_skip_verify"}; !slices.Equal(got, want) {
		t.Fatalf("warnings on %v, want %v", got, want)
	}
}

func TestOpenFailsOnBadConfig(t *testing.T) {
	c := New()
	if _, err := c.Open(t.Context(), channels.OpenOptions{Name: "lab"}); err == nil {
		t.Fatal("Open without addr succeeded")
	}
	c.Addr = "lab:2575"
	c.TLS.CA = "missing.pem"
	if _, err := c.Open(t.Context(), channels.OpenOptions{Name: "lab", BaseDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("Open with a missing CA file: %v", err)
	}
}
