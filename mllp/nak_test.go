package mllp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// The prefix an oversize frame leaves in FrameTooLargeError is enough for
// package hl7 to build a NAK the sender can match to its message.
func TestOversizeFrameNAKNamesSender(t *testing.T) {
	onFrameError := func(_ context.Context, _ mllp.ConnInfo, err error) []byte {
		var tl *mllp.FrameTooLargeError
		if !errors.As(err, &tl) {
			t.Errorf("OnFrameError got %v", err)
			return nil
		}
		return hl7.RejectRaw(tl.Prefix, err, hl7.AckOptions{Text: "message too large"})
	}
	_, addr := startServer(t, echo, mllp.ServerOptions{MaxFrameSize: 64 << 10, OnFrameError: onFrameError})
	c := newClient(t, addr, mllp.ClientOptions{})

	msg := "MSH|^~\\&|LAB|GENERAL HOSPITAL|PLEXUS|PLEXUS|20260101120000||ORU^R01^ORU_R01|CTRL-4711|P|2.5.1\r" +
		"PID|1||12345^^^MRN||DOE^JANE\r" +
		strings.Repeat("OBX|1|ED|PDF^Report||^application^pdf^Base64^JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\r", 2000)
	ack := send(t, c, msg)
	code, id, err := msa([]byte(ack))
	if err != nil || code != "AR" || id != "CTRL-4711" {
		t.Fatalf("reply MSA-1 %q MSA-2 %q (%v); reply %q", code, id, err, ack)
	}
	t.Logf("NAK: %q", ack)
	// The connection stays usable for the next, acceptable message.
	if got := send(t, c, "MSH|small"); got != "ACK:MSH|small" {
		t.Fatalf("next reply = %q", got)
	}
}
