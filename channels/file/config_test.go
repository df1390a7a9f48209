package file

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func fields(err error) []string {
	var out []string
	for _, f := range channels.FieldErrors(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestRegisteredWithDefaults(t *testing.T) {
	k, ok := channels.Lookup("file")
	if !ok {
		t.Fatal(`"file" not registered`)
	}
	c := k.New().(*Config)
	if c.Format != "file" || c.DirMode != "0750" || c.FileMode != "0640" || c.Sync != "fdatasync" || c.Name != "" || c.Dir != "" {
		t.Fatalf("defaults = %+v", c)
	}
	if got := fields(c.Validate()); !slices.Equal(got, []string{"dir"}) {
		t.Fatalf("Validate(defaults) fields = %v, want [dir]", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*Config)
		fields []string
		msg    string // part of the first message
	}{
		{"valid", func(c *Config) {}, nil, ""},
		{"ndjson", func(c *Config) { c.Format = "ndjson" }, nil, ""},
		{"sync fdatasync", func(c *Config) { c.Sync = "fdatasync" }, nil, ""},
		{"sync file", func(c *Config) { c.Sync = "file" }, nil, ""},
		{"sync unknown", func(c *Config) { c.Sync = "never" }, []string{"sync"}, `"never"`},
		{"sub-directories", func(c *Config) { c.Name = `{{.Route}}/{{.Time.Format "2006/01/02"}}/{{.Seq}}.json` }, nil, ""},
		{"dir missing", func(c *Config) { c.Dir = " " }, []string{"dir"}, "required"},
		{"dir NUL", func(c *Config) { c.Dir = "out\x00" }, []string{"dir"}, "NUL"},
		{"format", func(c *Config) { c.Format = "csv" }, []string{"format"}, `"csv"`},
		{"template syntax", func(c *Config) { c.Name = "{{.Seq" }, []string{"name"}, "unclosed action"},
		{"unknown field", func(c *Config) { c.Name = "{{.Patient}}" }, []string{"name"}, "Patient"},
		{"absolute", func(c *Config) { c.Name = "/etc/{{.Seq}}" }, []string{"name"}, "absolute"},
		{"parent", func(c *Config) { c.Name = "../{{.Seq}}" }, []string{"name"}, `".."`},
		{"empty", func(c *Config) { c.Name = "{{if false}}x{{end}}" }, []string{"name"}, "empty"},
		{"too long", func(c *Config) { c.Name = "{{.Seq}}" + strings.Repeat("x", 260) }, []string{"name"}, "longer"},
		{"dir_mode not octal", func(c *Config) { c.DirMode = "0789" }, []string{"dir_mode"}, "octal"},
		{"dir_mode not writable", func(c *Config) { c.DirMode = "0640" }, []string{"dir_mode"}, "0300"},
		{"file_mode setuid", func(c *Config) { c.FileMode = "4755" }, []string{"file_mode"}, "0777"},
		{"file_mode empty", func(c *Config) { c.FileMode = "" }, []string{"file_mode"}, "octal"},
		{"all at once", func(c *Config) { *c = Config{Name: "{{.Nope}}", DirMode: "x", FileMode: "y"} },
			[]string{"dir", "format", "sync", "name", "dir_mode", "file_mode"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			c.Dir = "out"
			tt.set(c)
			err := c.Validate()
			if got := fields(err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
			if tt.msg != "" && !strings.Contains(channels.FieldErrors(err)[0].Msg, tt.msg) {
				t.Errorf("message %q does not mention %q", channels.FieldErrors(err)[0].Msg, tt.msg)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		format, name string
		want         int
	}{
		{"file", "", 0},
		{"file", "{{.ControlID}}", 1}, // no Seq
		{"file", `{{.Time.Format "2006-01-02"}}/{{.Seq}}`, 0},   // Time is the receive time: stable
		{"file", `{{.Time.Format "15:04:05.000"}}-{{.Key}}`, 1}, // no Seq
		{"ndjson", "", 0},     // appends are never idempotent
		{"file", "{{.Seq", 0}, // Validate's business
	} {
		c := New()
		c.Dir, c.Format, c.Name = "out", tt.format, tt.name
		if w := c.Warnings(); len(w) != tt.want {
			t.Errorf("%s %q: warnings %v, want %d", tt.format, tt.name, w, tt.want)
		}
	}
}

func TestMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want fs.FileMode
		ok   bool
	}{
		{"0640", 0o640, true}, {"0o750", 0o750, true}, {"600", 0o600, true}, {"0", 0, true},
		{"", 0, false}, {"0o", 0, false}, {"rw-r-----", 0, false}, {"0800", 0, false}, {"1777", 0, false}, {"-1", 0, false},
	} {
		got, err := Mode(tt.in).Parse()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Mode(%q) = %o, %v", tt.in, got, err)
		}
	}
	// goccy/go-yaml hands UnmarshalYAML the source text: every spelling
	// keeps its octal meaning.
	for _, raw := range []string{`0640`, `"0640"`, `'0640'`, ` 0640 `} {
		var m Mode
		if err := m.UnmarshalYAML([]byte(raw)); err != nil || m != "0640" {
			t.Errorf("UnmarshalYAML(%q) = %q, %v", raw, m, err)
		}
	}
}

func TestAcceptsNDJSONOnlyBundles(t *testing.T) {
	c := New()
	if !c.Accepts(channels.ContentHL7v2) || !c.Accepts(channels.ContentFHIR) {
		t.Error("format file must take both")
	}
	c.Format = "ndjson"
	if c.Accepts(channels.ContentHL7v2) || !c.Accepts(channels.ContentFHIR) {
		t.Error("format ndjson must take Bundles only")
	}
}

// Temporary files a crash left behind are removed at Open once they are
// old; a fresh one (another process may be writing it) is kept.
func TestOpenSweepsStaleTemps(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o750)
	old := filepath.Join(dir, "sub", ".plexus-123.tmp")
	fresh := filepath.Join(dir, ".plexus-456.tmp")
	keep := filepath.Join(dir, "1-A.json")
	for _, f := range []string{old, fresh, keep} {
		os.WriteFile(f, []byte("x"), 0o640)
	}
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(keep, past, past)
	c := New()
	c.Dir = dir
	d, err := c.Open(context.Background(), channels.OpenOptions{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for f, want := range map[string]bool{old: false, fresh: true, keep: true} {
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", f, err == nil, want)
		}
	}
}
