package mllp

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckAck(t *testing.T) {
	const msh23 = "MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK|A1|P|2.3\r"
	const msh25 = "MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.5.1\r"
	long := strings.Repeat("é", 400)
	tests := []struct {
		name, reply string
		code        string // AckError.Code; "" for success or another error
		text        string
		is          error
	}{
		{name: "AA", reply: msh25 + "MSA|AA|C1\r"},
		{name: "CA, MSA-2 padded", reply: msh25 + "MSA|CA| C1 \r"},
		{name: "MSA-2 with a component", reply: msh25 + "MSA|AA|C1^X\r"},
		{name: "CRLF and lower case", reply: strings.ReplaceAll(msh23+"MSA|aa|C1\r", "\r", "\r\n")},
		{name: "MSA-3 (v2.3)", reply: msh23 + "MSA|AE|C1|Unknown patient\r", code: "AE", text: "Unknown patient"},
		{name: "escaped text", reply: msh23 + "MSA|AR|C1|A \\T\\ B\r", code: "AR", text: "A & B"},
		{name: "ERR-1 code text (v2.4)", reply: msh23 + "MSA|AE|C1\rERR|PID^1^3^103&Table value not found&HL70357\r", code: "AE", text: "Table value not found"},
		{name: "ERR-3 (v2.5)", reply: msh25 + "MSA|CE|C1\rERR||PID^1^3|207^Application internal error^HL70357|E\r", code: "CE", text: "Application internal error"},
		{name: "ERR-8 wins over ERR-3", reply: msh25 + "MSA|CR|C1\rERR||PID^1^3|207^Application internal error^HL70357|E||||Database is down\r", code: "CR", text: "Database is down"},
		{name: "MSA-3 and ERR-8 the same", reply: msh25 + "MSA|AE|C1|Bad date\rERR||PID^1^7|102^Data type error^HL70357|E||||Bad date\r", code: "AE", text: "Bad date"},
		{name: "several ERR", reply: msh25 + "MSA|AE|C1\rERR||PID^1^7|102|E||||Bad date\rERR||PID^1^8|103|E||||Bad sex\r", code: "AE", text: "Bad date; Bad sex"},
		{name: "no text", reply: msh25 + "MSA|AR|C1\r", code: "AR"},
		{name: "Latin-1 bytes", reply: msh23 + "MSA|AE|C1|Patient inconnu \xe0 cet h\xf4pital\r", code: "AE", text: "Patient inconnu à cet hôpital"},
		{name: "long text", reply: msh23 + "MSA|AE|C1|" + long + "\r", code: "AE", text: shorten(long, maxAckText)},
		{name: "MSA-2 of another message", reply: msh25 + "MSA|AA|C2\r", is: ErrAckMismatch},
		{name: "MSA-2 empty", reply: msh25 + "MSA|AA\r", is: ErrAckMismatch},
		{name: "AR of another message", reply: msh25 + "MSA|AR|C2\r", is: ErrAckMismatch},
		{name: "MSA-1 empty", reply: msh25 + "MSA||C1\r", is: ErrNotAck},
		{name: "MSA-1 unknown", reply: msh25 + "MSA|OK|C1\r", is: ErrNotAck},
		{name: "no MSA", reply: msh25, is: ErrNotAck},
		{name: "no MSH", reply: "MSA|AA|C1\r", is: ErrNotAck},
		{name: "empty", reply: "", is: ErrNotAck},
		{name: "NUL", reply: msh25 + "MSA|AA|C1\r\x00", is: ErrNotAck},
		{name: "HTTP", reply: "HTTP/1.1 400 Bad Request\r\n\r\n", is: ErrNotAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAck([]byte(tt.reply), "C1")
			var nak *AckError
			switch {
			case tt.code != "":
				if !errors.As(err, &nak) || nak.Code != tt.code || nak.Text != tt.text {
					t.Fatalf("checkAck = %v (%#v), want %s %q", err, nak, tt.code, tt.text)
				}
			case tt.is != nil:
				if !errors.Is(err, tt.is) || errors.As(err, &nak) {
					t.Fatalf("checkAck = %v, want %v", err, tt.is)
				}
			case err != nil:
				t.Fatalf("checkAck = %v, want nil", err)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	s := shorten(strings.Repeat("€", 10), 7) // 3-byte runes: cut back to 6
	if s != "€€…" || !utf8.ValidString(s) {
		t.Fatalf("shorten = %q", s)
	}
	if s := shorten("short", 10); s != "short" {
		t.Fatalf("shorten = %q", s)
	}
}
