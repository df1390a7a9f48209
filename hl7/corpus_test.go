package hl7_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

// corpusDir finds the shared HL7 corpus beside the repository. In CI it must
// be there; on a laptop without it the corpus tests are skipped.
func corpusDir(t testing.TB) string {
	t.Helper()
	if c := findCorpus(); c != "" {
		return c
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the shared corpus (../shared/corpus) is missing; set PLEXUS_CORPUS")
	}
	t.Skip("shared corpus not found; set PLEXUS_CORPUS to run the corpus tests")
	return ""
}

func corpusFiles(t *testing.T, dir string) (good, malformed []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".hl7") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "malformed"+string(filepath.Separator)) {
			malformed = append(malformed, p)
		} else {
			good = append(good, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(good) < 100 || len(malformed) < 5 {
		t.Fatalf("corpus looks incomplete: %d messages, %d malformed", len(good), len(malformed))
	}
	return good, malformed
}

// normalise is what Encode must give back for a well-formed input: the
// same bytes with every line break (CR, LF, CRLF) written as CR and blank
// lines dropped. It is deliberately simpler than the parser's rule (which
// keeps an LF inside text as data), so a corpus message with such an LF
// shows up here and gets looked at.
func normalise(msg []byte) []byte {
	msg = bytes.TrimPrefix(msg, []byte("\xEF\xBB\xBF"))
	s := strings.ReplaceAll(string(msg), "\r\n", "\r")
	s = strings.ReplaceAll(s, "\n", "\r")
	var out []string
	for _, seg := range strings.Split(s, "\r") {
		if strings.Trim(seg, " \t") != "" {
			out = append(out, seg)
		}
	}
	return []byte(strings.Join(out, "\r") + "\r")
}

func TestCorpusParsesAndRoundTrips(t *testing.T) {
	dir := corpusDir(t)
	good, _ := corpusFiles(t, dir)
	messages := 0
	for _, f := range good {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(dir, f)
		batch, err := hl7.SplitBatch(data)
		if err != nil {
			t.Errorf("%s: split: %v", name, err)
			continue
		}
		for i, raw := range batch.Messages() {
			messages++
			m, err := hl7.Parse(raw)
			if err != nil {
				t.Errorf("%s message %d: %v", name, i+1, err)
				continue
			}
			enc, err := m.Encode()
			if err != nil {
				t.Errorf("%s message %d: encode: %v", name, i+1, err)
				continue
			}
			if want := normalise(raw); !bytes.Equal(enc, want) {
				t.Errorf("%s message %d: encode does not give back the input\n got %q\nwant %q", name, i+1, head(enc), head(want))
				continue
			}
			m2, err := hl7.Parse(enc)
			if err != nil {
				t.Errorf("%s message %d: reparse: %v", name, i+1, err)
				continue
			}
			if m2.Len() != m.Len() {
				t.Errorf("%s message %d: %d segments, %d after round trip", name, i+1, m.Len(), m2.Len())
			}
			for s := 0; s < m.Len(); s++ {
				a, b := m.Segment(s), m2.Segment(s)
				if a.ID() != b.ID() || a.Fields() != b.Fields() {
					t.Errorf("%s message %d segment %d: %s/%d vs %s/%d", name, i+1, s+1, a.ID(), a.Fields(), b.ID(), b.Fields())
				}
			}
			// Every message can be acknowledged, and the ACK parses.
			ack := hl7.Ack(m, hl7.AA, hl7.AckOptions{})
			am, err := hl7.Parse(ack)
			if err != nil {
				t.Errorf("%s message %d: ACK does not parse: %v\n%q", name, i+1, err, ack)
				continue
			}
			if got, want := am.Get(hl7.MustPath("MSA-2")).String(), m.Header().ControlID; got != want {
				t.Errorf("%s message %d: MSA-2 %q, want %q", name, i+1, got, want)
			}
		}
	}
	t.Logf("%d files, %d messages", len(good), messages)
}

func head(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// TestCorpusIndexAgrees checks MSH-9 and MSH-12 against INDEX.tsv, which
// was written from the files by other means than this parser.
func TestCorpusIndexAgrees(t *testing.T) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "INDEX.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, row := range rows[1:] {
		path, version, typ := row[0], row[5], row[6]
		if strings.HasPrefix(path, "malformed/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
			// The index was made without stripping a byte order mark,
			// so it could not read this MSH; Parse strips it.
			continue
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		m, err := hl7.Parse(b.Messages()[0])
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		msh := m.Segment(0)
		if got := string(msh.Field(9).Raw()); got != typ {
			t.Errorf("%s: MSH-9 %q, index says %q", path, got, typ)
		}
		if got := string(msh.Field(12).Raw()); got != version {
			t.Errorf("%s: MSH-12 %q, index says %q", path, got, version)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d index rows checked", checked)
	}
}

// TestCorpusMalformedRejected: every file in malformed/ is refused with a
// located error, and still gets a NAK that a parser can read.
func TestCorpusMalformedRejected(t *testing.T) {
	dir := corpusDir(t)
	_, bad := corpusFiles(t, dir)
	for _, f := range bad {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		err = rejectReason(data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		errs := hl7.Errors(err)
		if len(errs) == 0 {
			t.Errorf("%s: error %v carries no location", name, err)
			continue
		}
		for _, e := range errs {
			if e.Location() == "" || e.Msg == "" {
				t.Errorf("%s: error %q does not say where", name, e.Error())
			}
		}
		t.Logf("%s: %v", name, err)
		nak := hl7.RejectRaw(data, err, hl7.AckOptions{})
		am, perr := hl7.Parse(nak)
		if perr != nil {
			t.Errorf("%s: NAK does not parse: %v\n%q", name, perr, nak)
			continue
		}
		if got := am.Get(hl7.MustPath("MSA-1")).String(); got != "AR" {
			t.Errorf("%s: MSA-1 %q, want AR", name, got)
		}
		if _, ok := am.Find("ERR", 1); !ok {
			t.Errorf("%s: NAK has no ERR segment:\n%q", name, nak)
		}
	}
}

// rejectReason is what ingest does with raw input: split, parse, check
// the header.
func rejectReason(data []byte) error {
	b, err := hl7.SplitBatch(data)
	if err != nil {
		return err
	}
	var errs []error
	for _, raw := range b.Messages() {
		m, err := hl7.Parse(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := m.CheckHeader(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
