package mllp

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/hl7"
	mllpc "github.com/plexus-hl7/plexus/mllp"
)

// v2 returns an ADT^A01 with MSH-10 = controlID.
func v2(controlID string) []byte {
	return []byte("MSH|^~\\&|PLEXUS|HOSP|LAB|LAB|20240101120000||ADT^A01^ADT_A01|" + controlID + "|P|2.5.1\r" +
		"EVN|A01|20240101120000\r" +
		"PID|1||123^^^HOSP^MR||DOE^JOHN||19700101|M\r")
}

func message(controlID string) *channels.Message {
	return &channels.Message{Seq: 1, Route: "r", Key: "123", ControlID: controlID,
		ContentType: channels.ContentHL7v2, Body: v2(controlID), Attempt: 1}
}

// ack answers m with code and text the way a real peer does (hl7.Ack: MSA-2
// = MSH-10, MSA-3 and ERR-8 for the text).
func ack(msg []byte, code hl7.AckCode, text string) []byte {
	m, err := hl7.Parse(msg)
	if err != nil {
		return hl7.RejectRaw(msg, err, hl7.AckOptions{})
	}
	return hl7.Ack(m, code, hl7.AckOptions{Text: text})
}

// peer is an MLLP server on loopback that answers with the function set by
// the test, and keeps every reply it sent by control id.
type peer struct {
	srv     *mllpc.Server
	addr    string
	answer  func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte
	replies sync.Map // MSH-10 -> []byte
}

func startPeer(t *testing.T, answer func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte, opts mllpc.ServerOptions) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{addr: ln.Addr().String(), answer: answer}
	p.serve(t, ln, opts)
	return p
}

func (p *peer) serve(t *testing.T, ln net.Listener, opts mllpc.ServerOptions) {
	t.Helper()
	srv := mllpc.NewServer(mllpc.HandlerFunc(func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte {
		reply := p.answer(ctx, ci, msg)
		if h, err := hl7.ParseHeader(msg); err == nil {
			p.replies.Store(h.ControlID, reply)
		}
		return reply
	}), opts)
	p.srv = srv
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		// Close, not Shutdown: a test may leave a handler blocked.
		srv.Close()
		if err := <-errc; !errors.Is(err, mllpc.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
}

func (p *peer) reply(controlID string) []byte {
	r, _ := p.replies.Load(controlID)
	b, _ := r.([]byte)
	return b
}

// open opens an mllp destination from the registry with the test's changes
// to the defaults.
func open(t *testing.T, baseDir string, set func(*Config)) channels.Destination {
	t.Helper()
	return openWith(t, channels.OpenOptions{Name: "lab", BaseDir: baseDir}, set)
}

func openWith(t *testing.T, o channels.OpenOptions, set func(*Config)) channels.Destination {
	t.Helper()
	k, ok := channels.Lookup("mllp")
	if !ok {
		t.Fatal(`kind "mllp" not registered`)
	}
	c := k.New().(*Config)
	set(c)
	d, err := c.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// syncBuffer collects log output written from the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deliver delivers with a generous bound: only a hang would reach it.
func deliver(t *testing.T, d channels.Destination, m *channels.Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.Deliver(ctx, m)
}

// byControlID answers according to the code that prefixes the message's
// control id ("AE-1" gets AE), so one peer serves a whole table.
func byControlID(_ context.Context, _ mllpc.ConnInfo, msg []byte) []byte {
	h, err := hl7.ParseHeader(msg)
	if err != nil {
		return []byte("cannot parse")
	}
	code, _, _ := strings.Cut(h.ControlID, "-")
	switch code {
	case "GARBAGE":
		return []byte("HTTP/1.1 400 Bad Request\r\n\r\n")
	case "MISMATCH":
		return []byte("MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.5.1\rMSA|AR|SOMETHING-ELSE\r")
	case "NOMSA":
		return []byte("MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.5.1\r")
	case "LOWER":
		return []byte("MSH|^~\\&|LAB|LAB|PLEXUS|HOSP|20240101120000||ACK^A01^ACK|A1|P|2.3\nMSA|aa|" + h.ControlID + "\n")
	}
	return ack(msg, hl7.AckCode(code), "it says "+code)
}
