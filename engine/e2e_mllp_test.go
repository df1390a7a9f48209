package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/plexus-hl7/plexus/channels/mllp"
	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// MLLP in, MLLP out: a raw route forwards the v2 message byte for byte
// (CR terminators, a Latin-1 byte, escapes, a Z-segment) to a peer, and the
// peer's answer decides: AA delivered, AE retried, AR dead-lettered with
// the peer's ACK kept. The EMR gets AA for all of them, since Plexus
// acknowledges what it stored, not what the peer later makes of it.
func TestE2EMLLPForward(t *testing.T) {
	peer := startMLLPPeer(t, func(ctrl string, attempt int) hl7.AckCode {
		switch k, _, _ := strings.Cut(ctrl, "-"); k {
		case "AE": // the peer's database was locked, once
			if attempt == 1 {
				return hl7.AE
			}
		case "AEX": // ... for good
			return hl7.AE
		case "AR":
			return hl7.AR
		}
		return hl7.AA
	})
	te := start(t, t.TempDir(), routesFrom(t, "forward.routes.yaml", map[string]string{"Peer": peer.addr}))

	fixture, err := os.ReadFile(filepath.Join("testdata", "e2e", "adt_a01_latin1.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	msg := func(ctrl, mrn string) []byte {
		return bytes.ReplaceAll(bytes.ReplaceAll(fixture, []byte("{ctrl}"), []byte(ctrl)), []byte("{mrn}"), []byte(mrn))
	}
	// Ten messages of one patient around the three that fail, each of
	// those for a patient of its own; one connection, so seq = position.
	var ctrls []string
	for i := range 5 {
		ctrls = append(ctrls, fmt.Sprintf("AA-%02d", i))
	}
	ctrls = append(ctrls, "AE-1", "AEX-1", "AR-1")
	for i := 5; i < 10; i++ {
		ctrls = append(ctrls, fmt.Sprintf("AA-%02d", i))
	}
	sent := map[string][]byte{}
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	for _, ctrl := range ctrls {
		mrn := "F1"
		if !strings.HasPrefix(ctrl, "AA-") {
			mrn = "F-" + ctrl
		}
		sent[ctrl] = msg(ctrl, mrn)
		if code, _ := send(t, cl, sent[ctrl]); code != "AA" {
			t.Fatalf("%s: ACK %s, want AA whatever the peer will answer", ctrl, code)
		}
	}
	seq := func(ctrl string) uint64 { return uint64(slices.Index(ctrls, ctrl) + 1) }

	final := func(d engine.DeliveryView) bool { return d.State != "pending" }
	for _, ctrl := range ctrls {
		d := te.waitDelivery(t, seq(ctrl), "lab", "settled", final)
		switch ctrl {
		case "AE-1":
			if d.State != "delivered" || d.Attempts != 2 {
				t.Errorf("%s: %+v", ctrl, d)
			}
		case "AEX-1":
			// The peer's reason (MSA-3/ERR-8) is kept in the error.
			if d.State != "dead" || d.Attempts != 3 || !strings.Contains(d.LastError, "gave up after 3 attempts") ||
				!strings.Contains(d.LastError, "database locked") {
				t.Errorf("%s: %+v", ctrl, d)
			}
		case "AR-1":
			if d.State != "dead" || d.Attempts != 1 || !strings.HasPrefix(d.LastError, "refused: ") {
				t.Errorf("%s: %+v", ctrl, d)
			}
			if d.Detail != string(peer.reply(ctrl)) || !strings.Contains(d.Detail, "MSA|AR|AR-1") {
				t.Errorf("%s: detail %q, want the peer's ACK %q", ctrl, d.Detail, peer.reply(ctrl))
			}
		default:
			if d.State != "delivered" || d.Attempts != 1 {
				t.Errorf("%s: %+v", ctrl, d)
			}
		}
	}

	// The peer got the very bytes the EMR sent, on every attempt.
	want := map[string]int{"AE-1": 2, "AEX-1": 3, "AR-1": 1}
	for _, ctrl := range ctrls {
		got := peer.received(ctrl)
		n, ok := want[ctrl]
		if !ok {
			n = 1
		}
		if len(got) != n {
			t.Errorf("%s: the peer got it %d times, want %d", ctrl, len(got), n)
		}
		for _, g := range got {
			if !bytes.Equal(g, sent[ctrl]) {
				t.Errorf("%s: the peer got\n%q\nnot what was sent\n%q", ctrl, g, sent[ctrl])
			}
		}
	}
	// One patient's messages reach the peer in the order the EMR sent them.
	var order []string
	for _, c := range peer.order() {
		if strings.HasPrefix(c, "AA-") {
			order = append(order, c)
		}
	}
	if !slices.IsSorted(order) || len(order) != 10 {
		t.Errorf("patient F1's messages reached the peer as %v", order)
	}
	for result, n := range map[string]int{"delivered": 11, "retried": 3, "dead": 2} {
		if got := te.deliveries(t, "lab", result); got != n {
			t.Errorf("plexus_deliveries_total{lab, %s} = %d, want %d", result, got, n)
		}
	}
}

// mllpPeer is another MLLP system: it keeps a copy of every frame it gets
// and answers with the code script gives for the control id and attempt.
type mllpPeer struct {
	addr   string
	script func(ctrl string, attempt int) hl7.AckCode

	mu      sync.Mutex
	got     map[string][][]byte
	replies map[string][]byte // the last reply per control id
	arrival []string
}

func startMLLPPeer(t *testing.T, script func(ctrl string, attempt int) hl7.AckCode) *mllpPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &mllpPeer{addr: ln.Addr().String(), script: script, got: map[string][][]byte{}, replies: map[string][]byte{}}
	srv := mllp.NewServer(mllp.HandlerFunc(p.serve), mllp.ServerOptions{})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, mllp.ErrServerClosed) {
			t.Errorf("peer: Serve: %v", err)
		}
	})
	return p
}

func (p *mllpPeer) serve(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
	m, err := hl7.Parse(msg)
	if err != nil {
		return hl7.RejectRaw(msg, err, hl7.AckOptions{})
	}
	ctrl := m.Header().ControlID
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got[ctrl] = append(p.got[ctrl], bytes.Clone(msg)) // msg is the connection's buffer
	p.arrival = append(p.arrival, ctrl)
	code := p.script(ctrl, len(p.got[ctrl]))
	text := ""
	switch code {
	case hl7.AE:
		text = "database locked"
	case hl7.AR:
		text = "unknown patient class"
	}
	reply := hl7.Ack(m, code, hl7.AckOptions{Text: text})
	p.replies[ctrl] = reply
	return reply
}

func (p *mllpPeer) received(ctrl string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got[ctrl])
}

func (p *mllpPeer) reply(ctrl string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replies[ctrl]
}

func (p *mllpPeer) order() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.arrival)
}
