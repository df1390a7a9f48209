package mllp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
)

// Errors for replies that do not settle the message; both are retried.
var (
	// ErrNotAck: the reply is not an HL7 message with an MSA segment.
	ErrNotAck = errors.New("reply is not an HL7 ACK")
	// ErrAckMismatch: the ACK's MSA-2 is not the control id we sent.
	ErrAckMismatch = errors.New("ACK is for another message")
)

// AckError is a negative acknowledgement. Deliver marks it permanent for a
// reject (AR, CR) and leaves it retryable for an error (AE, CE).
type AckError struct {
	Code string // MSA-1, upper case
	// Text is what the peer said about the failure (MSA-3, ERR-8, ERR-3 or
	// ERR-1's text), shortened to maxAckText. Receivers sometimes quote the
	// offending value, so this may hold patient data.
	Text string
}

func (e *AckError) Error() string {
	if e.Text == "" {
		return "peer answered " + e.Code
	}
	return fmt.Sprintf("peer answered %s: %s", e.Code, e.Text)
}

// Rejected reports a reject (AR, CR): the peer will never take the message.
func (e *AckError) Rejected() bool { return e.Code == "AR" || e.Code == "CR" }

// maxAckText bounds the peer's text kept in errors, which end up in logs
// and the message browser.
const maxAckText = 300

var (
	pathMSA1 = hl7.MustPath("MSA-1")
	pathMSA2 = hl7.MustPath("MSA-2")
	pathMSA3 = hl7.MustPath("MSA-3")
)

// checkAck reads the peer's reply to the message whose MSH-10 is controlID:
// nil for AA/CA, an *AckError for AE/CE/AR/CR, ErrAckMismatch or ErrNotAck
// otherwise.
func checkAck(reply []byte, controlID string) error {
	// Lenient: the hl7 parser takes any segment terminator, and a fallback
	// character set (Latin-1 decodes every byte) keeps an ACK that lies
	// about its MSH-18 readable. We only need MSA and ERR.
	m, err := hl7.ParseWith(reply, hl7.ParseOptions{FallbackCharset: "8859/1"})
	if err != nil {
		return fmt.Errorf("%w: %d bytes: %v", ErrNotAck, len(reply), err)
	}
	msa, ok := m.Find("MSA", 1)
	if !ok {
		return fmt.Errorf("%w: %d bytes, no MSA segment", ErrNotAck, len(reply))
	}
	code := strings.ToUpper(strings.TrimSpace(m.Get(pathMSA1).String()))
	// MSA-2 is checked before MSA-1: an answer about some other message
	// says nothing about ours. Taking its AA would mark a message delivered
	// that the peer may never have seen; taking its AR would dead-letter a
	// message nobody refused. It means the peer or something between us is
	// confused (the client already drops a connection after any timeout, so
	// a late ACK of an earlier message cannot get here); retrying costs at
	// most a duplicate, which the peer can recognise by MSH-10.
	if got := strings.TrimSpace(msa.Get(pathMSA2).Component(1).String()); got != controlID {
		return fmt.Errorf("%w: MSA-2 is %q, we sent MSH-10 %q (MSA-1 %s)", ErrAckMismatch, got, controlID, code)
	}
	switch code {
	case "AA", "CA":
		return nil
	case "AE", "CE", "AR", "CR":
		return &AckError{Code: code, Text: ackText(m)}
	case "":
		return fmt.Errorf("%w: MSA-1 is empty", ErrNotAck)
	default:
		return fmt.Errorf("%w: unknown MSA-1 %q", ErrNotAck, shorten(code, 10))
	}
}

// ackText gathers the human-readable reasons of a negative ACK, wherever
// the peer's HL7 version put them: MSA-3 (up to 2.6), then per ERR segment
// ERR-8 (user message, 2.5+), ERR-3 (error code, 2.5+) or ERR-1's fourth
// component (code^text, before 2.5).
func ackText(m *hl7.Message) string {
	var parts []string
	add := func(s string) {
		// hl7.Ack and others put one text in both MSA-3 and ERR-8.
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	add(m.Get(pathMSA3).String())
	for _, e := range m.All("ERR") {
		switch {
		case e.Field(8).HasValue():
			add(e.Field(8).Rep(1).String())
		case e.Field(3).HasValue():
			c := e.Field(3).Rep(1)
			add(firstOf(c.Component(2).String(), c.Component(1).String()))
		case e.Field(1).HasValue():
			c := e.Field(1).Rep(1).Component(4)
			add(firstOf(c.Sub(2).String(), c.Sub(1).String()))
		}
	}
	return shorten(strings.Join(parts, "; "), maxAckText)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// shorten cuts s to at most n bytes without splitting a UTF-8 sequence.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
