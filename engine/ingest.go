package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/engine/store"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// listener is one MLLP port: it journals each message and only then
// acknowledges it (steps 1-3 of DESIGN.md's "path of one message").
type listener struct {
	e         *Engine
	cfg       *config.Listener
	srv       *mllp.Server
	ln        net.Listener
	log       *slog.Logger
	parseOpts hl7.ParseOptions
	versions  map[string]bool
	index     int                 // among the engine's listeners
	dedupe    *store.DedupePolicy // the listener's own; nil: the file's

	received   prometheus.Counter
	ackLatency prometheus.Observer
	duplicates prometheus.Counter
}

func (l *listener) ack(code hl7.AckCode) prometheus.Counter {
	return l.e.m.acks.WithLabelValues(l.cfg.Name, string(code))
}

// ServeMLLP answers one frame. The reply is an ACK only once the message
// is synced to the journal; anything that prevents that is a NAK with an
// ERR segment saying why.
func (l *listener) ServeMLLP(ctx context.Context, conn mllp.ConnInfo, msg []byte) []byte {
	l.e.handlers.Add(1)
	defer l.e.handlers.Done()
	start := time.Now()
	l.received.Inc()
	// listeners number their connections separately: tell them apart
	l.e.senders.saw(conn.ID<<8|uint64(l.index), start)
	reply, code := l.ingest(ctx, conn, msg, start)
	l.ack(code).Inc()
	l.ackLatency.Observe(time.Since(start).Seconds())
	return reply
}

func (l *listener) ingest(ctx context.Context, conn mllp.ConnInfo, msg []byte, start time.Time) ([]byte, hl7.AckCode) {
	remote := ""
	if conn.RemoteAddr != nil {
		remote = conn.RemoteAddr.String()
	}
	h, err := hl7.ParseHeaderWith(msg, l.parseOpts)
	if err != nil {
		return l.reject(ctx, msg, remote, start, "unparseable", err, nil)
	}
	enhanced := l.cfg.Ack == "enhanced" || h.Enhanced()
	mshMsg, err := mshOnly(msg, l.parseOpts)
	if err != nil {
		return l.reject(ctx, msg, remote, start, "unparseable", err, nil)
	}
	if l.versions != nil && !l.versions[h.Version] {
		e := &hl7.Error{Segment: "MSH", Seq: 1, Field: 12, Offset: -1, Code: hl7.CodeUnsupportedVersion, Severity: hl7.SeverityError,
			Msg: fmt.Sprintf("version %q is not accepted on this port (accepted: %s)", h.Version, strings.Join(l.cfg.Versions, ", "))}
		return l.reject(ctx, msg, remote, start, "version", e, mshMsg)
	}
	if l.cfg.Unrouted == "reject" {
		m, err := hl7.ParseWith(msg, l.parseOpts)
		if err != nil {
			return l.reject(ctx, msg, remote, start, "unparseable", err, nil)
		}
		if len(l.e.matchRoutes(l.e.routesFrom(l.cfg.Name), m, nil)) == 0 {
			e := &hl7.Error{Segment: "MSH", Seq: 1, Field: 9, Offset: -1, Code: hl7.CodeUnsupportedMessage, Severity: hl7.SeverityError,
				Msg: fmt.Sprintf("no route of this interface takes %s^%s messages", h.Type, h.Event)}
			return l.reject(ctx, msg, remote, start, "unrouted", e, mshMsg)
		}
	}
	// Backpressure: while the pipeline is too far behind, this connection
	// waits here, its sender waits for the ACK, and TCP pushes back.
	if err := l.e.pipe.admit(ctx); err != nil {
		return l.notStored(mshMsg, enhanced, err)
	}
	rec := &store.Record{
		Received:  start,
		Listener:  l.cfg.Name,
		Remote:    remote,
		Sender:    h.SendingApplication + "|" + h.SendingFacility,
		ControlID: h.ControlID,
		Type:      h.Type + "^" + h.Event,
		Version:   h.Version,
		Status:    store.Accepted,
		Raw:       bytes.Clone(msg),
		Policy:    l.dedupe,
	}
	if err := l.e.db.Append(ctx, rec); err != nil {
		l.log.Error("journal append failed; message not acknowledged", "control_id", h.ControlID, "type", rec.Type, "err", err)
		return l.notStored(mshMsg, enhanced, err)
	}
	if rec.Status == store.Duplicate {
		l.duplicates.Inc()
		l.log.Info("duplicate", "seq", rec.Seq, "duplicate_of", rec.DuplicateOf, "control_id", h.ControlID, "type", rec.Type)
	}
	if rec.Status == store.Accepted || rec.Route {
		l.e.pipe.journaled()
	}
	code := hl7.AA
	if enhanced {
		code = hl7.CA
	}
	return hl7.Ack(mshMsg, code, hl7.AckOptions{}), code
}

// notStored answers a message that could not be journaled: AE/CE, which
// tells the sender to send it again.
func (l *listener) notStored(m *hl7.Message, enhanced bool, err error) ([]byte, hl7.AckCode) {
	code := hl7.AE
	if enhanced {
		code = hl7.CE
	}
	text := "message not stored, send it again"
	if errors.Is(err, context.Canceled) || errors.Is(err, store.ErrClosed) {
		text = "interface engine shutting down, send it again"
	}
	return hl7.Ack(m, code, hl7.AckOptions{Errors: []*hl7.Error{{Offset: -1, Code: hl7.CodeInternalError, Severity: hl7.SeverityError, Msg: text}}}), code
}

// reject NAKs a message (AR/CR) and keeps it, with the reason, for the
// message browser. m is the parsed MSH when there is one.
func (l *listener) reject(ctx context.Context, msg []byte, remote string, start time.Time, reason string, cause error, m *hl7.Message) ([]byte, hl7.AckCode) {
	l.e.m.rejected.WithLabelValues(l.cfg.Name, reason).Inc()
	rec := &store.Record{Received: start, Listener: l.cfg.Name, Remote: remote, Status: store.Rejected, Reason: cause.Error(), Raw: bytes.Clone(msg)}
	if h, err := hl7.ParseHeader(msg); err == nil || h.ControlID != "" {
		rec.Sender, rec.ControlID, rec.Type, rec.Version = h.SendingApplication+"|"+h.SendingFacility, h.ControlID, h.Type+"^"+h.Event, h.Version
	}
	if err := l.e.db.Append(ctx, rec); err != nil {
		l.log.Error("could not record a rejected message", "reason", reason, "err", err)
	}
	l.log.Info("rejected", "seq", rec.Seq, "reason", reason, "control_id", rec.ControlID, "remote", remote, "err", redact(cause))
	enhanced := l.cfg.Ack == "enhanced"
	var he *hl7.Error
	if m != nil && errors.As(cause, &he) {
		code := hl7.AR
		if enhanced || m.Header().Enhanced() {
			code = hl7.CR
		}
		return hl7.Ack(m, code, hl7.AckOptions{Errors: []*hl7.Error{he}}), code
	}
	code := hl7.AR
	if enhanced {
		code = hl7.CR
	}
	return hl7.RejectRaw(msg, cause, hl7.AckOptions{Enhanced: enhanced}), code
}

// frameTooLarge answers a frame over the listener's max_frame with a NAK
// built from its first bytes, and records what was seen of it.
func (l *listener) frameTooLarge(ctx context.Context, conn mllp.ConnInfo, err error) []byte {
	l.e.handlers.Add(1)
	defer l.e.handlers.Done()
	var fe *mllp.FrameTooLargeError
	prefix := []byte(nil)
	if errors.As(err, &fe) {
		prefix = fe.Prefix
	}
	remote := ""
	if conn.RemoteAddr != nil {
		remote = conn.RemoteAddr.String()
	}
	l.received.Inc()
	cause := &hl7.Error{Offset: -1, Code: hl7.CodeValueTooLong, Severity: hl7.SeverityError, Msg: err.Error()}
	reply, code := l.reject(ctx, prefix, remote, time.Now(), "too_large", cause, nil)
	l.ack(code).Inc()
	return reply
}

// mshOnly parses just the first segment, which is all an ACK needs: the
// segments after it may be large (an ORU with an embedded PDF) and are
// parsed later, by the pipeline, off the ACK path.
func mshOnly(msg []byte, o hl7.ParseOptions) (*hl7.Message, error) {
	end := bytes.IndexAny(msg, "\r\n")
	if end < 0 {
		end = len(msg)
	}
	return hl7.ParseWith(msg[:end], o)
}

// redact keeps an error's location and kind for the log but not the field
// values it may quote (PHI): hl7 errors name the place, not the content.
func redact(err error) string {
	var he *hl7.Error
	if errors.As(err, &he) {
		if loc := he.Location(); loc != "" {
			return loc + ": " + he.Code.Text()
		}
		return he.Code.Text()
	}
	return "invalid message"
}
