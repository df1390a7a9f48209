package transforms

import (
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

// TestAppendQueryEscape checks appendQueryEscape against url.QueryEscape,
// which the conditional URLs of transaction Bundles used to be written with:
// every byte alone, and random strings of them.
func TestAppendQueryEscape(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if got, want := string(appendQueryEscape([]byte("x"), s)), "x"+url.QueryEscape(s); got != want {
			t.Fatalf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
	}
	check("")
	check("http://hl7.org/fhir/sid/us-ssn|1 2&3=ü")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		check(string(b))
	}
}

// TestHeaderOf checks headerOf against hl7.Message.Header, which it stands
// in for, on the test messages and on one with escapes in its header.
func TestHeaderOf(t *testing.T) {
	msgs := []string{
		"MSH|^~\\&|A\\T\\B|FAC^1.2^ISO|R||20240506070809||ADT^A01^ADT_A01|C\\F\\1|P^T|2.5.1^X\rPID|1\r",
		"MSH|^~\\&|||||||||||\r",
		"MSH|^~\\&|\"\"|\rPID|1\r",
	}
	for _, f := range []string{"../hl7/testdata/adt_a01.hl7", "maps/testdata/test-conversion-ADT_A01.hl7"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(data))
	}
	for _, s := range msgs {
		m, err := hl7.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		h := m.Header()
		want := Header{Type: h.Type, Event: h.Event, Structure: h.Structure, Version: h.Version, ControlID: h.ControlID,
			ProcessingID: h.ProcessingID, SendingApplication: h.SendingApplication, SendingFacility: h.SendingFacility,
			ReceivingApplication: h.ReceivingApplication, ReceivingFacility: h.ReceivingFacility, Timestamp: h.DateTime}
		if got := headerOf(m); got != want {
			t.Errorf("headerOf(%q) = %+v, want %+v", s[:20], got, want)
		}
	}
}
