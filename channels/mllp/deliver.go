package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/hl7"
	mllpc "github.com/plexus-hl7/plexus/mllp"
)

// destination forwards messages with one mllp.Client, which owns the
// connections, reconnects and never pairs a late ACK with the wrong message.
type destination struct {
	addr   string
	client *mllpc.Client
	// slots mirrors the client's MaxConns connection slots. Holding one
	// before Send means Send finds a free connection at once, so its
	// timeout (ack_timeout) measures the peer, not our own queue; the wait
	// for a slot is bounded by the caller's ctx alone.
	slots chan struct{}
}

func newDestination(c *Config, tlsConf *tls.Config, log *slog.Logger) *destination {
	client := mllpc.NewClient(c.Addr, mllpc.ClientOptions{
		TLSConfig:    tlsConf,
		Timeout:      c.AckTimeout,
		DialTimeout:  c.ConnectTimeout,
		MaxConns:     c.MaxConns,
		MaxFrameSize: c.MaxFrameSize,
		Logger:       log,
	})
	return &destination{addr: c.Addr, client: client, slots: make(chan struct{}, c.MaxConns)}
}

// Deliver sends m and returns nil once the peer has answered AA or CA for it.
func (d *destination) Deliver(ctx context.Context, m *channels.Message) error {
	if m.ContentType != channels.ContentHL7v2 {
		return channels.Permanent(fmt.Errorf("mllp forward to %s: body is %q, but MLLP carries HL7 v2 messages only: "+
			"route the untransformed v2 message here, or send FHIR Bundles to a fhir or file destination", d.addr, m.ContentType), nil)
	}
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("mllp forward to %s: waiting for a free connection: %w", d.addr, context.Cause(ctx))
	}
	reply, err := d.client.Send(ctx, m.Body)
	<-d.slots
	if err != nil {
		err = fmt.Errorf("mllp forward to %s: %w", d.addr, err)
		if errors.Is(err, mllpc.ErrInvalidMessage) {
			// The body holds the frame's end byte: no resend can frame it.
			return channels.Permanent(err, nil)
		}
		// Connection refused, TLS failure, timeout, reset: the peer or the
		// network may recover, so retry.
		return err
	}
	if err := checkAck(reply, controlID(m)); err != nil {
		err = fmt.Errorf("mllp forward to %s: %w", d.addr, err)
		var nak *AckError
		if errors.As(err, &nak) && nak.Rejected() {
			return channels.Permanent(err, reply)
		}
		// AE/CE: the peer failed to process it (its database down, a
		// lock, a mapping it lacks); HL7 leaves resending to the sender,
		// and a peer that fails for good ends up dead-lettered after the
		// engine's retries run out. Garbage or a mismatched ACK: see
		// checkAck.
		return err
	}
	return nil
}

// controlID is the MSH-10 that the peer's MSA-2 must echo. It is read from
// the body we send rather than taken from m.ControlID, which is the inbound
// message's and would differ if a route ever rewrote MSH-10.
func controlID(m *channels.Message) string {
	if h, _ := hl7.ParseHeader(m.Body); h.ControlID != "" {
		return strings.TrimSpace(h.ControlID)
	}
	return strings.TrimSpace(m.ControlID)
}

// Close closes the connections; a Deliver in flight fails with
// mllp.ErrClientClosed.
func (d *destination) Close() error { return d.client.Close() }
