package file

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/channels"
)

const bundle = `{
  "resourceType": "Bundle",
  "type": "transaction",
  "entry": [ { "resource": { "resourceType": "Patient", "id": "p1", "name": [ { "text": "line1\nline2" } ] } } ]
}`

func fhirMessage(seq uint64, controlID string) *channels.Message {
	return &channels.Message{Seq: seq, Route: "admissions", Key: "123^^^HOSP", IdempotencyKey: "EMR|HOSP|" + controlID,
		Source: "adt-feed", MessageType: "ADT^A01", ControlID: controlID,
		ContentType: channels.ContentFHIR, Body: []byte(bundle), Attempt: 1}
}

// open opens a file destination from the registry, with dir "out" below a
// temporary BaseDir, and returns it with the absolute output directory.
func open(t *testing.T, set func(*Config)) (*destination, string) {
	t.Helper()
	k, ok := channels.Lookup("file")
	if !ok {
		t.Fatal(`kind "file" not registered`)
	}
	c := k.New().(*Config)
	c.Dir = "out"
	if set != nil {
		set(c)
	}
	base := t.TempDir()
	d, err := c.Open(context.Background(), channels.OpenOptions{Name: "archive", BaseDir: base})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*destination), filepath.Join(base, "out")
}

// files lists every regular file below root, relative and slash-separated.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func noTempFiles(t *testing.T, root string) {
	t.Helper()
	for _, f := range files(t, root) {
		if strings.HasPrefix(filepath.Base(f), ".plexus-") {
			t.Errorf("temp file left behind: %s", f)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
