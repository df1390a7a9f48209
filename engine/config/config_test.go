package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// testKind is a destination kind registered for these tests only, so that
// the config package is tested without the real kinds.
type testKind struct {
	URL   string            `yaml:"url"`
	Token channels.Secret   `yaml:"token"`
	Opts  struct{ N int }   `yaml:"opts"`
	Items []struct{ A int } `yaml:"items"`
	raw   bool
}

func (k *testKind) Validate() error {
	var errs []error
	if k.URL == "" {
		errs = append(errs, channels.Fieldf("url", "is required"))
	}
	if k.Opts.N < 0 {
		errs = append(errs, channels.Fieldf("opts.n", "must not be negative"))
	}
	for i, it := range k.Items {
		if it.A > 9 {
			errs = append(errs, channels.Fieldf("items["+string(rune('0'+i))+"].a", "too big"))
		}
	}
	return errors.Join(errs...)
}
func (k *testKind) Warnings() []*channels.FieldError {
	if w := channels.InlineWarning("token", k.Token); w != nil {
		return []*channels.FieldError{w}
	}
	return nil
}
func (k *testKind) Accepts(ct string) bool { return k.raw == (ct == channels.ContentHL7v2) }
func (k *testKind) Open(context.Context, channels.OpenOptions) (channels.Destination, error) {
	return nil, errors.New("not in this test")
}

func init() {
	channels.Register(channels.Kind{Name: "testfhir", New: func() channels.Config { return &testKind{} }})
	channels.Register(channels.Kind{Name: "testraw", New: func() channels.Config { return &testKind{raw: true} }})
}

const good = `listeners:
  - name: ADT-Feed
    mllp: { addr: ":2575" }
    ack: enhanced
    versions: [2.40, "2.5.1", 2.3]
destinations:
  FhirProd: { testfhir: { url: "http://x" }, retry: { initial: 2s, max: 1m, max_attempts: 5 }, workers: 2 }
  Peer: { testraw: { url: "mllp://y" } }
routes:
  - name: admissions
    from: ADT-Feed
    when: msg.type == "ADT" && msg.event in ["A01", "A04"]
    transform: builtin
    to: [FhirProd]
  - name: forward
    transform: raw
    to: Peer
`

func TestParseGood(t *testing.T) {
	c, err := Parse("routes.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Listeners[0].Versions) != "[2.40 2.5.1 2.3]" {
		t.Errorf("versions %q: an unquoted 2.40 must stay 2.40", c.Listeners[0].Versions)
	}
	if c.Listeners[0].Name != "ADT-Feed" || c.Listeners[0].Ack != "enhanced" || c.Listeners[0].Unrouted != "accept" {
		t.Errorf("listener %+v", c.Listeners[0])
	}
	d := c.Destinations[0]
	if d.Name != "FhirProd" || d.Kind != "testfhir" || d.Workers != 2 || d.Retry.MaxAttempts != 5 || d.Retry.Initial.Seconds() != 2 || d.Retry.MaxAge != DefaultRetry.MaxAge {
		t.Errorf("destination %+v (names keep their case; unset retry keys keep defaults)", d)
	}
	if d.Config.(*testKind).URL != "http://x" {
		t.Errorf("kind config %+v", d.Config)
	}
	if r := c.Routes[0]; r.When == nil || r.From[0] != "ADT-Feed" || r.To[0] != "FhirProd" {
		t.Errorf("route %+v", r)
	}
	if r := c.Routes[1]; r.When != nil || len(r.From) != 0 || r.To[0] != "Peer" {
		t.Errorf("route %+v", r)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}

// Each broken file must give exactly these errors (file:line:column: text).
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown keys, all of them", `listeners:
  - name: a
    mllp: { addr: ":2575", max_con: 3 }
    ackk: original
destinations:
  d: { testfhir: { url: "http://x", tokn: y } }
routes:
  - { name: r, transform: raw, to: d, form: a }
`, []string{
			`routes.yaml:3:28: unknown key "max_con" in listener.mllp (did you mean max_conns?)`,
			`routes.yaml:4:5: unknown key "ackk" in listener (did you mean ack?)`,
			`routes.yaml:6:37: unknown key "tokn" in testfhir (did you mean token?)`,
			`routes.yaml:8:39: unknown key "form" in route (did you mean from?)`,
		}},
		{"wrong types", `listeners:
  - name: a
    mllp: { addr: ":2575", max_conns: many }
destinations:
  d: { testfhir: { url: "http://x" }, timeout: soon }
routes: [{ name: r, transform: builtin, to: d }]
`, []string{
			`routes.yaml:3:39: "many" is not valid here: a whole number is wanted`,
			`routes.yaml:5:48:`,
		}},
		{"references and ports", `listeners:
  - { name: adt, mllp: { addr: ":2575" } }
  - { name: lab, mllp: { addr: "127.0.0.1:2575" } }
destinations:
  archive: { testfhir: { url: "http://x" } }
routes:
  - { name: r, from: ad, transform: builtin, to: [archiv, nowhere] }
`, []string{
			`routes.yaml:3:5: listeners adt and lab both listen on 127.0.0.1:2575`,
			`routes.yaml:7:22: route r: no listener named ad (did you mean adt?)`,
			`routes.yaml:7:51: route r: no destination named archiv (did you mean archive?)`,
			`routes.yaml:7:59: route r: no destination named nowhere (defined: archive)`,
		}},
		{"expressions and kinds", `listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations:
  d: { testfhir: { url: "" } }
  e: { kafak: {} }
  f: { testraw: { url: x, opts: { n: -1 }, items: [{ a: 1 }, { a: 10 }] } }
routes:
  - name: r
    when: msg.typ == "ADT"
    transform: raw
    to: d
`, []string{
			`routes.yaml:3:20: destination d: url: is required`,
			`routes.yaml:4:8: destination e: "kafak" is not a kind of destination (kinds: testfhir, testraw) nor one of workers, timeout, retry`,
			`routes.yaml:5:35: destination f: opts.n: must not be negative`,
			`routes.yaml:5:64: destination f: items[1].a: too big`,
			`routes.yaml:8:15: type transforms.Header has no field typ`,
			`routes.yaml:10:9: route r: destination d (testfhir) does not take raw HL7 v2 (transform: raw)`,
		}},
		{"key expression", `listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations: { d: { testfhir: { url: x }, key: PID[3] + } }
routes: [{ name: r, transform: builtin, to: d }]
`, []string{"routes.yaml:2:"}},
		{"rules file that does not load", `listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations: { d: { testfhir: { url: x } } }
routes: [{ name: r, transform: nosuch.yaml, to: d }]
`, []string{
			`routes.yaml:3:32: route r: transform nosuch.yaml does not load (errors follow)`,
			`nosuch.yaml`,
		}},
		{"runtime failures caught early", `listeners:
  - { name: a, mllp: { addr: "localhost:2575", tls: { cert: nocert.pem, key: nokey.pem } } }
  - { name: b, mllp: { addr: "127.0.0.1:2575" } }
  - { name: c, mllp: { addr: ":http2" } }
destinations:
  "d\0x": { testfhir: { url: x }, timeout: 0s }
  e: { testfhir: { url: x }, timeout: 30 }
routes: [{ name: r, transform: builtin, to: [e, e] }]
duplicates: { window: -1h }
`, []string{
			`routes.yaml:2:16: listener a: tls file nocert.pem: no such file or directory`,
			`routes.yaml:2:16: listener a: tls file nokey.pem: no such file or directory`,
			`routes.yaml:3:5: listeners a and b both listen on 127.0.0.1:2575`,
			`routes.yaml:4:16: listener c: addr ":http2": port "http2" is not a port number`,
			`routes.yaml:6:3: destination name "d\x00x" holds a control character`,
			`routes.yaml:6:44: timeout must be more than 0`,
			`routes.yaml:7:39: "30" is not valid here: a duration such as 30s or 5m is wanted`,
			`routes.yaml:8:49: route r sends to e twice`,
			`routes.yaml:9:1: duplicates: window must not be negative`,
		}},
		{"retention shorter than the duplicate window", `listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations: { d: { testfhir: { url: x } } }
routes: [{ name: r, transform: builtin, to: d }]
retention: { keep: 1h }
`, []string{"routes.yaml:4:1: retention: keep (1h0m0s) must be longer than the duplicates window (24h0m0s)"}},
		{"yaml syntax", "listeners: [\n", []string{`routes.yaml:`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("routes.yaml", []byte(tc.src))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Pos.String()+": "+e.Msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
			if !strings.Contains(err.Error(), "^") {
				t.Errorf("no snippet with a caret in\n%s", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Setenv("TOKEN", "x")
	c, err := Parse("routes.yaml", []byte(`listeners: [{ name: a, mllp: { addr: ":1" } }, { name: b, mllp: { addr: ":2" } }]
destinations:
  d: { testfhir: { url: x, token: hunter2 } }
  unused: { testfhir: { url: x, token: "${TOKEN}" } }
routes: [{ name: r, from: a, transform: builtin, to: d }]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.Pos.String()+": "+w.Msg)
	}
	t.Setenv("TOKEN", "")
	os.Unsetenv("TOKEN")
	c2, _ := Parse("routes.yaml", []byte(`listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations: { d: { testfhir: { url: x, token: "${TOKEN}" } } }
routes: [{ name: r, transform: builtin, to: d }]
`))
	if len(c2.Warnings) != 1 || !strings.Contains(c2.Warnings[0].Msg, "environment variable TOKEN is not set") {
		t.Errorf("unset variable: %v", c2.Warnings)
	}
	want := []string{
		"routes.yaml:1:48: no route takes messages from listener b: they are all unrouted",
		"routes.yaml:3:28: destination d: token: secret written inline",
		"routes.yaml:4:3: no route sends to destination unused",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d: %s, want %s", i, got[i], want[i])
		}
	}
}

// The rules file is found relative to routes.yaml, not the working dir.
func TestRulesFileRelative(t *testing.T) {
	dir := t.TempDir()
	rules, err := os.ReadFile("../../transforms/testdata/patient.yaml")
	if err != nil {
		t.Skip(err)
	}
	os.WriteFile(filepath.Join(dir, "patient.yaml"), rules, 0o644)
	cfg := `listeners: [{ name: a, mllp: { addr: ":1" } }]
destinations: { d: { testfhir: { url: x } } }
routes: [{ name: r, transform: patient.yaml, to: d }]
`
	os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(cfg), 0o644)
	c, err := Load(filepath.Join(dir, "routes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Routes[0].Rules == nil {
		t.Fatal("rules not loaded")
	}
}

func TestListenerDuplicates(t *testing.T) {
	c, err := Parse("routes.yaml", []byte(`listeners:
  - { name: a, mllp: { addr: ":1" }, duplicates: { action: process } }
  - { name: b, mllp: { addr: ":2" } }
destinations: { d: { testfhir: { url: x } } }
routes: [{ name: r, transform: builtin, to: d }]
duplicates: { window: 2h }
`))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Listeners[0].Duplicates; d == nil || d.Action != "process" || d.Window != 2*time.Hour {
		t.Errorf("listener a: %+v (its action, the file's window)", d)
	}
	if c.Listeners[1].Duplicates != nil {
		t.Errorf("listener b has its own duplicates: %+v", c.Listeners[1].Duplicates)
	}
	_, err = Parse("routes.yaml", []byte(`listeners: [{ name: a, mllp: { addr: ":1" }, duplicates: { action: drop } }]
routes: []
`))
	if err == nil || !strings.Contains(err.Error(), `routes.yaml:1:46: listener a: duplicates action "drop"`) {
		t.Errorf("bad action: %v", err)
	}
}
