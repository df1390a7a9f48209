package hl7_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

func msgWithCharset(cs, name string) []byte {
	return []byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5||||||" + cs + "\rPID|1||1||" + name + "\r")
}

func TestCharsets(t *testing.T) {
	for _, c := range []struct {
		name, cs, fallback string
		raw                string // PID-5 bytes on the wire
		want               string // PID-5 as UTF-8 text
		warn               bool
		fail               string
	}{
		{"utf8", "UNICODE UTF-8", "", "M\xc3\xbcller", "Müller", false, ""},
		{"latin1", "8859/1", "", "M\xfcller", "Müller", false, ""},
		{"latin1 iso-ir", "ISO IR100", "", "M\xfcller", "Müller", false, ""},
		{"latin2", "8859/2", "", "\xb3\xf3d\xbc", "łódź", false, ""},
		{"cyrillic", "8859/5", "", "\xb8\xd2\xd0\xdd", "Иван", false, ""},
		{"greek", "8859/7", "", "\xc1\xe8\xde\xed\xe1", "Αθήνα", false, ""},
		{"latin9 euro", "8859/15", "", "\xa4", "€", false, ""},
		{"windows-1252", "WINDOWS-1252", "", "\x80 \x93q\x94", "€ “q”", false, ""},
		{"hex escape in latin1", "8859/1", "", "M\\XFC\\ller", "Müller", false, ""},
		{"ascii lying, utf8 bytes", "ASCII", "", "M\xc3\xbcller", "Müller", true, ""},
		{"empty msh-18, utf8 bytes", "", "", "M\xc3\xbcller", "Müller", true, ""},
		{"ascii lying, latin1 bytes", "ASCII", "", "M\xfcller", "", false, "not valid UTF-8"},
		{"ascii lying, fallback", "ASCII", "8859/1", "M\xfcller", "Müller", true, ""},
		{"utf8 lying, fallback 1252", "UNICODE UTF-8", "WINDOWS-1252", "M\xfcller \x80", "Müller €", true, ""},
		{"unknown, ascii bytes", "KLINGON", "", "Muller", "Muller", true, ""},
		{"unknown, high bytes", "KLINGON", "", "M\xfcller", "", false, "not supported"},
		{"bad fallback", "ASCII", "KLINGON", "M\xfcller", "", false, "fallback"},
		{"latin1 lying, utf8 bytes", "8859/1", "", "M\xc3\xbcller", "Müller", true, ""},
		{"1252 undefined byte", "WINDOWS-1252", "", "M\x81ller", "", false, "does not define"},
		{"1252 undefined byte, fallback", "WINDOWS-1252", "8859/1", "M\x81ller", "M\u0081ller", true, ""},
		{"big5 invalid", "BIG-5", "", "\xff\xfe", "", false, "does not define"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := msgWithCharset(c.cs, c.raw)
			m, err := hl7.ParseWith(in, hl7.ParseOptions{FallbackCharset: c.fallback})
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("error %v, want one saying %q", err, c.fail)
				}
				if he := hl7.Errors(err); len(he) != 1 || he[0].Field != 18 {
					t.Errorf("error not located at MSH-18: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := m.GetString("PID-5"); got != c.want {
				t.Errorf("PID-5 %q, want %q", got, c.want)
			}
			if got := len(m.Warnings()) > 0; got != c.warn {
				t.Errorf("warnings %v, want some: %v", m.Warnings(), c.warn)
			}
			if c.fallback == "" {
				out, err := m.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, in) {
					t.Errorf("encode gives %q, want the input %q", out, in)
				}
			}
		})
	}
}

// In a multi-byte character set a delimiter byte can be the second byte of
// a character: the message must be decoded before it is split.
func TestMultibyteCharsetDecodedBeforeSplitting(t *testing.T) {
	// In Big5, 0xA55C is "功" (second byte '\\') and 0xA57C is "四" ('|').
	in := msgWithCharset("BIG-5", "\xa5\x5c\xa5\x7c^x")
	m, err := hl7.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.GetString("PID-5.1"); got != "功四" {
		t.Errorf("PID-5.1 %q", got)
	}
	if got, _ := m.GetString("PID-5.2"); got != "x" {
		t.Errorf("PID-5.2 %q", got)
	}
}
